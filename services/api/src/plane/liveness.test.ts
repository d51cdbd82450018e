import { describe, expect, it } from 'vitest';
import { ServerStatus, type Heartbeat, type UpstreamServer } from '@molten/contracts';
import { AdapterRegistry } from '../state/adapters.js';
import { StateView } from '../state/state-view.js';
import { Liveness } from './liveness.js';

const HB = 1_000;
const T0 = Date.now() + 60_000;

const descriptor = (over: Partial<UpstreamServer> = {}): UpstreamServer => ({
  id: 'pve-homelab', name: 'Proxmox VE (homelab)', kind: 'proxmox-ve', domain: 'proxmox', scope: 'homelab', endpoint: 'https://pve:8006', transport: 'https',
  status: ServerStatus.SERVER_STATUS_CONNECTED, statusReason: 'connected', remedy: '', reachable: true, authenticated: true, usable: true,
  latencyMs: 2.7, lastSeenMs: T0 - 500, statusSinceMs: T0 - 600_000, version: '8.2', tools: [], capabilities: [], demo: false, methods: [], reporter: 'a', ...over,
});

const beat = (instance: string, at: number, upstreams: { serverId: string; status?: ServerStatus; lastOkMs?: number; scope?: string }[], domain = 'proxmox'): Heartbeat => ({
  domain, instance, version: 't', startedAtMs: T0 - 3_600_000, atMs: at, intervalMs: HB,
  upstreams: upstreams.map((u) => ({ serverId: u.serverId, scope: u.scope ?? 'homelab', status: u.status ?? ServerStatus.SERVER_STATUS_CONNECTED, lastOkMs: u.lastOkMs ?? at, pollMs: HB, latencyMs: 1, leader: true, capabilities: [], privileges: [] })),
});

function setup(servers: UpstreamServer[]) {
  const state = new StateView();
  for (const s of servers) state.apply({ domain: s.domain, scope: s.scope, kind: 'server', id: s.id }, s, false, T0 - 1_000);
  const adapters = new AdapterRegistry();
  const live = new Liveness(state, adapters, { heartbeatMs: HB, demo: false, bus: { connected: () => true, server: () => 'nats' }, notReportedAfterMs: 60_000 });
  return { state, adapters, live };
}

describe('a server record’s liveness', () => {
  it('is the descriptor’s status while an alive replica lists the server', () => {
    const { adapters, live } = setup([descriptor()]);
    adapters.apply(beat('a', T0, [{ serverId: 'pve-homelab' }]), T0);
    const v = live.server(descriptor(), T0 + 100);
    expect(v).toMatchObject({ status: 'connected', stale: false, reported: true, statusSinceMs: T0 - 600_000, lastSeenMs: T0 });
  });

  it('never reads connected once its reporter stopped: down and stale within three heartbeats, since its last heartbeat', () => {
    const { adapters, live } = setup([descriptor()]);
    adapters.apply(beat('a', T0, [{ serverId: 'pve-homelab' }]), T0);
    const v = live.server(descriptor(), T0 + 3 * HB + 300);
    expect(v.status).toBe('down');
    expect(v.stale).toBe(true);
    expect(v.reachable || v.usable).toBe(false);
    expect(v.statusSinceMs).toBe(T0);
    expect(v.statusReason).toMatch(/no proxmox-adapter is running \(last report: connected\)/);
  });

  it('reads down while another replica of the kind runs, then not_reported past the bound', () => {
    const { adapters, live } = setup([descriptor(), descriptor({ id: 'pve-other', scope: 'other' })]);
    const other = (at: number) => adapters.apply(beat('b', at, [{ serverId: 'pve-other', scope: 'other' }]), at);
    other(T0 - 1_000);
    adapters.apply(beat('a', T0, [{ serverId: 'pve-homelab' }]), T0);
    other(T0 + 10_000);
    const down = live.server(descriptor(), T0 + 10_000);
    expect(down).toMatchObject({ status: 'down', stale: true, statusSinceMs: T0 });
    expect(down.statusReason).toMatch(/replica that reported it stopped 10 s ago/);
    other(T0 + 61_000);
    const gone = live.server(descriptor(), T0 + 61_000);
    expect(gone).toMatchObject({ status: 'not_reported', stale: true, statusSinceMs: T0 });
    expect(gone.remedy).toMatch(/configure it again/);
  });

  it('reads not_reported when the adapter of its scope runs without listing it (no longer configured)', () => {
    // A restart without PROXMOX_MCP_URL: the pve server is listed, ProxmoxMCP-Plus's old record is not.
    const mcp = descriptor({ id: 'proxmox-mcp-homelab', kind: 'proxmox-mcp', name: 'ProxmoxMCP-Plus (homelab)' });
    const { adapters, live } = setup([descriptor(), mcp]);
    adapters.apply(beat('a', T0, [{ serverId: 'pve-homelab' }]), T0);
    const v = live.server(mcp, T0 + 100);
    expect(v.status).toBe('not_reported');
    expect(v.stale).toBe(true);
    expect(v.statusSinceMs).toBe(0);
    expect(live.uncallable(mcp, T0 + 100)?.message).toMatch(/ProxmoxMCP-Plus \(homelab\) is not reported by any adapter/);
  });

  it('is stale, and not callable, when a reported server has not answered for three intervals', () => {
    const { adapters, live } = setup([descriptor()]);
    adapters.apply(beat('a', T0, [{ serverId: 'pve-homelab', lastOkMs: T0 - 4 * HB }]), T0);
    const s = descriptor({ lastSeenMs: T0 - 4 * HB });
    expect(live.server(s, T0)).toMatchObject({ status: 'connected', stale: true });
    expect(live.uncallable(s, T0)?.message).toMatch(/has not answered for 4 s/);
  });

  it('takes a cluster’s freshness and upstream from the server its adapter lists first, not from ProxmoxMCP-Plus beside it', () => {
    const mcp = descriptor({ id: 'proxmox-mcp-homelab', kind: 'proxmox-mcp', status: ServerStatus.SERVER_STATUS_DOWN, statusReason: 'ECONNREFUSED', statusSinceMs: T0 - 5_000 });
    const pve = descriptor({ status: ServerStatus.SERVER_STATUS_DOWN, statusReason: 'cannot reach', statusSinceMs: T0 - 2_000 });
    const { state, adapters, live } = setup([pve, mcp]);
    state.apply({ domain: 'proxmox', scope: 'homelab', kind: 'node', id: 'pve1' }, {}, false, T0);
    adapters.apply(beat('a', T0, [{ serverId: 'pve-homelab', status: ServerStatus.SERVER_STATUS_DOWN }, { serverId: 'proxmox-mcp-homelab', status: ServerStatus.SERVER_STATUS_DOWN }]), T0);
    const c = live.health(T0).clusters[0]!;
    expect(c.upstream).toMatchObject({ serverId: 'pve-homelab', status: 'down', reason: 'cannot reach', since: new Date(T0 - 2_000).toISOString() });
    expect(live.unavailable('proxmox', 'homelab', T0)?.message).toMatch(/^Proxmox VE \(homelab\) is down: cannot reach/);
  });

  it('reads not_reported at once when a replica of its kind restarted since and does not list it', () => {
    const mcp = descriptor({ id: 'proxmox-mcp-homelab', kind: 'proxmox-mcp', name: 'ProxmoxMCP-Plus (homelab)' });
    const { adapters, live } = setup([descriptor(), mcp]);
    adapters.apply(beat('a', T0, [{ serverId: 'pve-homelab' }, { serverId: 'proxmox-mcp-homelab' }]), T0);
    // The same replica name, a new run (a restart without PROXMOX_MCP_URL).
    adapters.apply({ ...beat('a', T0 + 2_000, [{ serverId: 'pve-homelab' }]), startedAtMs: T0 + 1_500 }, T0 + 2_000);
    expect(live.server(mcp, T0 + 2_000)).toMatchObject({ status: 'not_reported', stale: true, statusSinceMs: T0 });
    expect(live.server(descriptor(), T0 + 2_000)).toMatchObject({ status: 'connected', reported: true });
  });

  it('names the adapter to start when none serves a scope, but not during the api’s first heartbeats', () => {
    const { live } = setup([descriptor()]);
    // Just started: an adapter may not have beaten yet.
    expect(live.unavailable('proxmox', 'homelab', live.startedAtMs + HB)).toBeUndefined();
    const why = live.unavailable('proxmox', 'homelab', live.startedAtMs + 4 * HB);
    expect(why).toMatchObject({ reason: 'no_adapter', message: 'no proxmox-adapter is running for proxmox "homelab": nothing would take the command' });
    expect(why?.remedy).toMatch(/Start services\/proxmox-adapter for "homelab"/);
    expect(live.unavailable('moltbot', 'default', live.startedAtMs + 4 * HB)?.remedy).toMatch(/moltbot-adapter/);
  });

  it('takes commands again once an adapter beats for the scope', () => {
    const { adapters, live } = setup([descriptor()]);
    adapters.apply(beat('a', T0, [{ serverId: 'pve-homelab' }]), T0);
    expect(live.unavailable('proxmox', 'homelab', T0 + 100)).toBeUndefined();
    // Its beats stopped: three missed, it is gone.
    expect(live.unavailable('proxmox', 'homelab', T0 + 4 * HB)?.reason).toBe('no_adapter');
  });
});
