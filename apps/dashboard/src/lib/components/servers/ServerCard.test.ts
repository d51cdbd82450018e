import { afterEach, describe, expect, test } from 'vitest';
import { page } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import { Commands } from '$lib/state/commands.svelte';
import { server } from '$lib/test/fixtures';
import ServerCard from './ServerCard.svelte';

afterEach(() => cleanup());

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
