import { afterEach, describe, expect, test } from 'vitest';
import { page } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import type { Tool } from '$lib/api/types';
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

test("a down server's last known tools are dated by when the adapter last confirmed them", async () => {
  await render(ServerCard, props(mcp({ status: 'down', stale: true, reachable: false, usable: false, statusSince: at(60), lastSeen: at(61), toolsStale: true, toolsConfirmedAt: at(90) })));
  await page.getByRole('button', { name: 'Show 1 last known tools' }).click();
  await expect.element(page.getByRole('note')).toHaveTextContent(`Last known tools, as of ${clockTime(at(90), now)} (1 min ago)`);
});

test('a server still reported but not heard from reads stale and "not answering", with the time of its last answer', async () => {
  await render(ServerCard, props(mcp({ status: 'connected', stale: true, lastSeen: at(30) })));
  await expect.element(page.getByText('Stale', { exact: true })).toBeVisible();
  await expect.element(page.getByText(`Not answering since ${clockTime(at(30), now)} (30 s ago)`, { exact: false })).toBeVisible();
  await expect.element(page.getByText('2.7 ms')).not.toBeInTheDocument();
});

const schema = { type: 'object', properties: {} };
const modern = server({
  id: 'mcp-modern',
  name: 'modern',
  kind: 'mcp',
  domain: 'mcp',
  scope: 'modern',
  endpoint: 'http://127.0.0.1:7001/mcp',
  transport: 'streamable-http',
  version: 'molten-modern-fixture/2.4.0',
  protocolVersion: '2026-07-28',
  serverCapabilities: { tools: { listChanged: true }, resources: { subscribe: true }, logging: {}, other: ['tasks'] },
  toolCount: 3,
  tools: [
    { name: 'get_status', title: 'Service status', description: 'Reports whether a service runs', inputSchema: schema, annotations: { readOnlyHint: true, openWorldHint: false } },
    { name: 'delete_volume', title: 'Delete a volume', description: 'Deletes a volume', inputSchema: schema, annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true } },
    { name: 'echo', description: 'Echoes', inputSchema: schema },
  ],
});

describe('MCP server card', () => {
  test('shows the negotiated protocol version and what the server offers', async () => {
    await render(ServerCard, { server: modern, now: Date.now(), live: true, commands: new Commands() });
    const card = page.getByRole('article', { name: 'modern' });
    await expect.element(card.getByText('MCP 2026-07-28')).toBeVisible();
    await expect.element(card.getByText('MCP 2026-07-28')).toHaveAttribute('title', 'MCP 2026-07-28: the stateless generation');
    const offers = page.getByRole('list', { name: 'What modern offers' });
    expect(offers.getByRole('listitem').elements().map((e) => e.textContent)).toEqual(['tools · list changes', 'resources · subscribe', 'logging', 'tasks']);
  });

  test('badges each tool read-only or destructive by its hints, and none without hints', async () => {
    await render(ServerCard, { server: modern, now: Date.now(), live: true, commands: new Commands() });
    await page.getByRole('button', { name: 'Show 3 tools' }).click();
    const row = (name: string) => page.getByRole('button', { name: new RegExp(`^${name}`) });
    await expect.element(row('get_status')).toHaveTextContent(/Service status\s*read-only/);
    await expect.element(row('get_status').getByText('read-only')).toHaveAttribute('title', "The server's hints: read-only, closed world.");
    await expect.element(row('delete_volume')).toHaveTextContent(/Delete a volume\s*destructive/);
    await expect.element(row('delete_volume').getByText('destructive')).toHaveAttribute('title', "The server's hints: may change things, destructive, idempotent.");
    await expect.element(row('echo')).not.toHaveTextContent(/read-only|destructive/);
  });

  test('a server that is not MCP shows no protocol', async () => {
    await render(ServerCard, { server: server(), now: Date.now(), live: true, commands: new Commands() });
    await expect.element(page.getByRole('article', { name: 'Proxmox VE (homelab)' })).toBeVisible();
    expect(page.getByText(/^MCP /).elements()).toHaveLength(0);
    expect(page.getByRole('list', { name: /offers/ }).elements()).toHaveLength(0);
  });
});

test('a card with a tool open spans the whole row of the servers grid, so a wide result is not clipped', async () => {
  await render(ServerCard, props(mcp()));
  const card = page.getByRole('article');
  expect(getComputedStyle(card.element()).gridColumnEnd).not.toBe('-1');
  await page.getByRole('button', { name: 'Show 1 tools' }).click();
  await page.getByRole('button', { name: /^list_containers/ }).click();
  await expect.poll(() => getComputedStyle(card.element()).gridColumnEnd).toBe('-1');
  await page.getByRole('button', { name: /^list_containers/ }).click();
  await expect.poll(() => getComputedStyle(card.element()).gridColumnEnd).not.toBe('-1');
});

describe('guarded tool calls', () => {
  const withTool = (tool: Tool) =>
    server({ ...modern, toolCount: 1, tools: [tool] }, [{ action: 'tool-call', available: true }]);
  const spy = () => {
    const calls: { tool: string; args: Record<string, unknown>; reason?: string }[] = [];
    return { calls, call: async (tool: string, args: Record<string, unknown>, _key: string, reason?: string) => (calls.push({ tool, args, reason }), command()) };
  };
  const vmSchema = { type: 'object', properties: { vmid: { type: 'string' } } };
  const open = async (name: string) => {
    await page.getByRole('button', { name: 'Show 1 tools' }).click();
    await page.getByRole('button', { name: new RegExp(`^${name}`) }).click();
  };

  test('a read-only tool runs at once, with no dialog', async () => {
    const s = spy();
    await render(ServerCard, { server: withTool(modern.tools![0]!), now: Date.now(), live: true, commands: new Commands(), call: s.call });
    await open('get_status');
    await page.getByRole('button', { name: 'Call get_status' }).click();
    await expect.poll(() => s.calls.length).toBe(1);
    expect(page.getByRole('dialog').elements()).toHaveLength(0);
  });

  test('a destructive tool asks first: server, tool and arguments named, Cancel focused, Enter does not confirm, Cancel calls nothing', async () => {
    const s = spy();
    const tool = { name: 'stop_vm', title: 'Stop a VM', description: 'Hard-stops a VM', inputSchema: vmSchema, annotations: { readOnlyHint: false, destructiveHint: true } };
    await render(ServerCard, { server: withTool(tool), now: Date.now(), live: true, commands: new Commands(), call: s.call });
    await open('stop_vm');
    await page.getByRole('textbox', { name: 'vmid' }).fill('200');
    await page.getByRole('button', { name: 'Call stop_vm' }).click();
    const dialog = page.getByRole('dialog');
    await expect.element(dialog.getByRole('heading')).toHaveTextContent('Run Stop a VM on vmid 200?');
    await expect.element(dialog).toHaveTextContent(/Call stop_vm on modern for vmid 200/);
    await expect.element(dialog.getByText('vmid: 200')).toBeVisible();
    await expect.element(dialog.getByText(/marks this tool destructive/)).toBeVisible();
    await expect.element(dialog.getByRole('button', { name: 'Cancel' })).toHaveFocus();
    dialog.element().dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.element(page.getByRole('dialog')).not.toBeInTheDocument();
    expect(s.calls).toHaveLength(0);
  });

  test('confirmed, the call goes out once with the reason typed', async () => {
    const s = spy();
    const tool = { name: 'stop_vm', description: 'Hard-stops a VM', inputSchema: vmSchema };
    await render(ServerCard, { server: withTool(tool), now: Date.now(), live: true, commands: new Commands(), call: s.call });
    await open('stop_vm');
    await page.getByRole('textbox', { name: 'vmid' }).fill('201');
    await page.getByRole('button', { name: 'Call stop_vm' }).click();
    const dialog = page.getByRole('dialog');
    // No annotations: the spec's defaults make it destructive.
    await expect.element(dialog.getByText(/does not say this tool is safe/)).toBeVisible();
    await dialog.getByRole('textbox', { name: /Reason/ }).fill('disk swap');
    await dialog.getByRole('button', { name: 'Run stop_vm' }).click();
    await expect.poll(() => s.calls).toEqual([{ tool: 'stop_vm', args: { vmid: '201' }, reason: 'disk swap' }]);
  });
});
