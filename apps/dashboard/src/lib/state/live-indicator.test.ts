import { expect, test } from 'vitest';
import type { Health } from '$lib/api/types';
import { server } from '$lib/test/fixtures';
import { liveIndicator } from './live-indicator';

const health = (clusters: Partial<Health['clusters'][number]>[]): Health => ({
  status: 'ok', demo: false, uptimeSeconds: 1, bus: { connected: true, server: '' }, adapters: [], servers: [],
  clusters: clusters.map((c) => ({ id: 'homelab', stale: false, lastSeen: null, ageSeconds: 1, pollMs: 2000, adapter: 'running', replicas: 1, upstream: { serverId: 'pve-homelab', status: 'connected', reason: 'connected' }, ...c })),
});

test('Live when the stream is up and everything it brings is current', () => {
  expect(liveIndicator('live', health([{}]), [server()])).toMatchObject({ tone: 'ok', label: 'Live', stale: [] });
});

test('not Live while the stream is down, whatever the data says', () => {
  expect(liveIndicator('reconnecting', health([{}]), [server()])).toMatchObject({ tone: 'warn', label: 'Reconnecting…' });
});

test('a frozen adapter (its cluster stale) makes it say so, counting the cluster and its own server once', () => {
  const i = liveIndicator('live', health([{ stale: true, adapter: 'missing', upstream: { serverId: 'pve-homelab', status: 'down', reason: 'no proxmox-adapter is running' } }]), [server({ status: 'down', stale: true })]);
  expect(i.tone).toBe('warn');
  expect(i.label).toBe('Live · 1 stale');
  expect(i.detail).toMatch(/Proxmox cluster “homelab” \(no proxmox-adapter is running\)/);
});

test('a server not heard from counts; one no adapter reports any more is left to its card', () => {
  const i = liveIndicator('live', health([{}]), [
    server(),
    server({ id: 'mcp-docker', name: 'docker', domain: 'mcp', scope: 'docker', kind: 'mcp', stale: true }),
    server({ id: 'proxmox-mcp-homelab', name: 'ProxmoxMCP-Plus (homelab)', kind: 'proxmox-mcp', status: 'not_reported', stale: true }),
  ]);
  expect(i.stale).toEqual(['docker (not heard from recently)']);
});
