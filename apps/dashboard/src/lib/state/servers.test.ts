import { expect, test } from 'vitest';
import type { Health } from '$lib/api/types';
import { server } from '$lib/test/fixtures';
import { Servers } from './servers.svelte';

const health = (servers: Health['servers']): Health => ({ status: 'ok', demo: false, uptimeSeconds: 1, bus: { connected: true, server: '' }, clusters: [], adapters: [], servers });

test('a health event’s liveness replaces what the last descriptor said: a stopped reporter changes no descriptor', () => {
  const s = new Servers();
  s.replaceAll([server({ tools: [{ name: 'x', description: '', inputSchema: {} }], toolCount: 1, remedy: undefined })]);
  const before = s.list;
  s.applyHealth(health([{ id: 'pve-homelab', kind: 'proxmox-ve', status: 'down', statusReason: 'no proxmox-adapter is running', remedy: 'Start the proxmox-adapter service.', reachable: false, authenticated: false, usable: false, lastSeen: '2030-01-01T00:00:00.000Z', statusSince: '2030-01-01T00:00:01.000Z', stale: true }]));
  const after = s.get('pve-homelab')!;
  expect(s.list).not.toBe(before);
  expect(after).toMatchObject({ status: 'down', stale: true, reachable: false, usable: false, statusSince: '2030-01-01T00:00:01.000Z', remedy: 'Start the proxmox-adapter service.' });
  // What the descriptor alone knows is kept.
  expect(after).toMatchObject({ kind: 'proxmox-ve', endpoint: 'https://127.0.0.1:8006', toolCount: 1 });
  expect(after.tools).toHaveLength(1);
});

test('an unchanged liveness leaves the list as it is (no re-render), and unknown ids are ignored', () => {
  const s = new Servers();
  const x = server();
  s.replaceAll([x]);
  const before = s.list;
  s.applyHealth(health([{ id: x.id, kind: x.kind, status: x.status, statusReason: x.statusReason, reachable: true, authenticated: true, usable: true, lastSeen: x.lastSeen, statusSince: x.statusSince, stale: false }, { id: 'gone', kind: 'mcp', status: 'down' }]));
  expect(s.list).toBe(before);
});
