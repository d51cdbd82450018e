import { afterEach, expect, test } from 'vitest';
import { page } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import { Commands } from '$lib/state/commands.svelte';
import { command, server } from '$lib/test/fixtures';
import { clockTime } from '$lib/util/format';
import ServerCard from './ServerCard.svelte';

afterEach(() => cleanup());

const now = Date.parse('2030-01-01T12:00:00Z');
const at = (s: number) => new Date(now - s * 1000).toISOString();
const tools = [{ name: 'list_containers', description: 'Lists containers', inputSchema: { type: 'object', properties: {} } }];
const mcp = (p: Parameters<typeof server>[0] = {}) =>
  server({ id: 'mcp-docker', name: 'docker', kind: 'mcp', domain: 'mcp', scope: 'docker', toolCount: 1, tools, lastSeen: at(1), statusSince: at(600), latencyMs: 2.7, ...p }, [{ action: 'tool-call', available: true }]);
const props = (s: ReturnType<typeof mcp>) => ({ server: s, now, live: true, commands: new Commands(), call: async () => command() });

test('a connected, fresh server reads Connected with its latency, and its tools are callable', async () => {
  await render(ServerCard, props(mcp()));
  await expect.element(page.getByText('Connected', { exact: true })).toBeVisible();
  await expect.element(page.getByText('2.7 ms')).toBeVisible();
  await expect.element(page.getByText('Stale', { exact: true })).not.toBeInTheDocument();
  await page.getByRole('button', { name: 'Show 1 tools' }).click();
  await expect.element(page.getByRole('note')).not.toBeInTheDocument();
});

test('a server no adapter reports reads "Not reported", never Connected, with no latency and its last known tools marked as of when', async () => {
  const lastSeen = at(420);
  await render(ServerCard, props(mcp({ status: 'not_reported', stale: true, reachable: false, authenticated: false, usable: false, lastSeen, statusSince: null, statusReason: 'no running homelab-adapter reports it', remedy: 'If it should still be watched, configure it again.' })));
  await expect.element(page.getByText('Not reported', { exact: true }).first()).toBeVisible();
  await expect.element(page.getByText('Connected', { exact: true })).not.toBeInTheDocument();
  await expect.element(page.getByText('Stale', { exact: true })).toBeVisible();
  await expect.element(page.getByText('2.7 ms')).not.toBeInTheDocument();
  await expect.element(page.getByText(/✗ reachable/)).toBeVisible();
  await page.getByRole('button', { name: 'Show 1 last known tools' }).click();
  await expect.element(page.getByRole('note')).toHaveTextContent(`Last known tools, as of ${clockTime(lastSeen, now)} (7 min ago)`);
  await page.getByRole('button', { name: /list_containers/ }).click();
  await expect.element(page.getByText('docker is not reported: tools cannot be called until it is back.')).toBeVisible();
  await expect.element(page.getByRole('button', { name: /Call/ })).toBeDisabled();
});

test('a down server says since when its outage began, not when it connected', async () => {
  await render(ServerCard, props(mcp({ status: 'down', stale: true, reachable: false, usable: false, statusSince: at(60), lastSeen: at(61), statusReason: 'connect ECONNREFUSED', remedy: 'Start the server.' })));
  await expect.element(page.getByText(`Down since ${clockTime(at(60), now)} (1 min ago): connect ECONNREFUSED`, { exact: false })).toBeVisible();
});

test('a server still reported but not heard from reads stale and "not answering", with the time of its last answer', async () => {
  await render(ServerCard, props(mcp({ status: 'connected', stale: true, lastSeen: at(30) })));
  await expect.element(page.getByText('Stale', { exact: true })).toBeVisible();
  await expect.element(page.getByText(`Not answering since ${clockTime(at(30), now)} (30 s ago)`, { exact: false })).toBeVisible();
  await expect.element(page.getByText('2.7 ms')).not.toBeInTheDocument();
});
