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
