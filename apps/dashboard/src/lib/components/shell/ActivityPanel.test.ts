import { afterEach, expect, test } from 'vitest';
import { page } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import { command, commandAt } from '$lib/test/fixtures';
import ActivityPanel from './ActivityPanel.svelte';

afterEach(() => cleanup());

const now = Date.parse('2030-01-01T12:00:00Z');
const at = (s: number) => new Date(now - s * 1000).toISOString();

test('lists commands with who, what, when, how long and the result; live ones spin', async () => {
  const done = { ...commandAt(command({ id: '01J0000000000000000000000B', createdAt: at(12) }), 'accepted', 'running', 'succeeded'), durationMs: 812, message: 'stop of VM 101 on pve1 done', reason: 'replacing its disk' };
  const failed = {
    ...commandAt(command({ id: '01J0000000000000000000000A', createdAt: at(300), target: { kind: 'guest', cluster: 'homelab', vmid: 102, node: 'pve2', type: 'lxc', action: 'start' } }), 'failed'),
    durationMs: 40,
    error: { code: 'locked', message: 'CT is locked (backup)' },
  };
  const open = command({ id: '01J0000000000000000000000C', createdAt: at(3), actor: { kind: 'user', name: 'alice', role: 'operator' }, target: { kind: 'agent', gateway: 'default', agentId: 'ops', message: 'hi' }, action: 'agent-run', domain: 'moltbot' });
  const r = await render(ActivityPanel, { commands: [open, done, failed], now, guestName: (_c: string, vmid: number) => (vmid === 101 ? 'web-01' : undefined) });

  const items = page.getByRole('listitem');
  await expect.element(items.nth(0)).toHaveTextContent(/Agent run\s*ops/);
  await expect.element(items.nth(0)).toHaveTextContent(/Queued · 3 s · alice/);
  await expect.element(items.nth(1)).toHaveTextContent(/Hard stop\s*web-01 \(VM 101\)/);
  await expect.element(items.nth(1)).toHaveTextContent(/Succeeded · 812 ms · operator · pve1/);
  await expect.element(items.nth(1)).toHaveTextContent('12 s ago');
  await expect.element(items.nth(1)).toHaveTextContent('“replacing its disk”');
  await expect.element(items.nth(2)).not.toHaveTextContent('“');
  await expect.element(items.nth(2)).toHaveTextContent(/Start\s*CT 102/);
  await expect.element(items.nth(2)).toHaveTextContent('CT is locked (backup)');
  await expect.element(page.getByRole('link', { name: /Hard stop/ })).toHaveAttribute('href', `/commands/${done.id}`);
  await expect.element(page.getByText('1 in progress')).toBeVisible();

  await page.getByRole('button', { name: 'Problems' }).click();
  await expect.element(items).toHaveLength(1);

  // Live: a new transition replaces the row's state.
  await page.getByRole('button', { name: 'All' }).click();
  await r.rerender({ commands: [{ ...commandAt(open, 'accepted', 'running', 'succeeded'), durationMs: 2000 }, done, failed] });
  await expect.element(items.nth(0)).toHaveTextContent(/Succeeded · 2 s/);
  await expect.element(page.getByText('1 in progress')).not.toBeInTheDocument();
});
