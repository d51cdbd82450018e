import { expect, test } from 'vitest';
import type { Health } from '$lib/api/types';
import { server } from '$lib/test/fixtures';
import { upstreamProblems } from './problems';

const health = (clusters: Health['clusters']): Health => ({ status: 'degraded', demo: false, uptimeSeconds: 1, bus: { connected: true, server: '' }, clusters, adapters: [], servers: [] });
const cluster = (p: Partial<Health['clusters'][number]>): Health['clusters'][number] => ({
  id: 'homelab',
  stale: false,
  lastSeen: '2030-01-01T00:00:00.000Z',
  ageSeconds: 1,
  pollMs: 2000,
  adapter: 'running',
  replicas: 1,
  upstream: { status: 'connected', reason: 'ok' },
  ...p,
});

test('nothing wrong, nothing said', () => {
  expect(upstreamProblems(health([cluster({})]), [server()])).toEqual([]);
});

test('auth failed: which upstream, since when, and the remedy', () => {
  const p = upstreamProblems(health([cluster({ upstream: { status: 'auth_failed', reason: '401 authentication failure', remedy: 'Check PVE_TOKEN.' } })]), [
    server({ status: 'auth_failed', statusSince: '2030-01-01T00:00:00.000Z' }),
  ]);
  expect(p).toHaveLength(1);
  expect(p[0]).toMatchObject({ tone: 'danger', detail: '401 authentication failure', remedy: 'Check PVE_TOKEN.', since: Date.parse('2030-01-01T00:00:00.000Z') });
  expect(p[0]!.title).toMatch(/homelab.*credentials/);
});

test('a missing adapter and stale data are told apart', () => {
  expect(upstreamProblems(health([cluster({ adapter: 'missing' })]), [])[0]!.title).toMatch(/no proxmox-adapter/);
  expect(upstreamProblems(health([cluster({ stale: true })]), [])[0]!.title).toMatch(/stale/);
});

test('other servers that are down are listed once', () => {
  const p = upstreamProblems(health([cluster({})]), [server(), server({ id: 'mcp-x', name: 'Homelab MCP', kind: 'mcp', domain: 'mcp', scope: 'mcp-x', status: 'down', statusReason: 'ECONNREFUSED' })]);
  expect(p.map((x) => x.title)).toEqual(['Homelab MCP is unreachable']);
});

test('the banner’s since-time is when the cluster’s own upstream went down, not ProxmoxMCP-Plus’s beside it', () => {
  const p = upstreamProblems(
    health([cluster({ upstream: { serverId: 'pve-homelab', status: 'down', reason: 'cannot reach', since: '2030-01-01T07:11:38.000Z' } })]),
    [
      // Sorted first (by kind), with a since-time of its own.
      server({ id: 'proxmox-mcp-homelab', kind: 'proxmox-mcp', status: 'down', statusSince: '2030-01-01T07:10:28.000Z' }),
      server({ status: 'down', statusSince: '2030-01-01T07:11:38.000Z' }),
    ],
  );
  expect(p).toHaveLength(1);
  expect(p[0]).toMatchObject({ title: 'Proxmox cluster “homelab” is unreachable', since: Date.parse('2030-01-01T07:11:38.000Z') });
});

test('a missing adapter is dated from when its reports stopped, as the api says', () => {
  const p = upstreamProblems(health([cluster({ adapter: 'missing', lastSeen: '2030-01-01T06:00:00.000Z', upstream: { serverId: 'pve-homelab', status: 'down', reason: 'no proxmox-adapter is running', since: '2030-01-01T06:00:01.000Z' } })]), [server()]);
  expect(p[0]!.since).toBe(Date.parse('2030-01-01T06:00:01.000Z'));
});
