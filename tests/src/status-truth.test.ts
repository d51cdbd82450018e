import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig as loadApiConfig } from '@molten/api/config';
import { startApi } from '@molten/api';
import { loadConfig as loadHomelabConfig, startHomelabAdapter } from '@molten/homelab-adapter';
import { startHomelabMcpSimulator } from '@molten/simulators/homelab-mcp';
import { startProxmoxMcpSimulator, type ProxmoxMcpSimulator } from '@molten/simulators/proxmox-mcp';
import { DEMO_TOKEN } from '@molten/simulators/pve';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';
import { sseReader } from '../../services/api/src/test/api-fixture.js';
import { OPERATOR, startStack, type Stack } from './stack.js';

/**
 * Issue 9's "every status is true", on real components: a nats-server, the PVE (and
 * ProxmoxMCP-Plus) simulators, proxmox-adapters in this process or as child processes, the api.
 * Each rule is checked where a person reads it: /api/servers, /api/health and the SSE health
 * events the dashboard draws from.
 */
describe('every status is true', { timeout: 90_000 }, () => {
  let stack: Stack | undefined;
  let mcp: ProxmoxMcpSimulator | undefined;
  afterEach(async () => {
    await stack?.stop();
    await mcp?.close();
    stack = undefined;
    mcp = undefined;
  });

  const server = async (s: Stack, id: string) => (await s.json(`/api/servers/${id}`)).body?.data;
  const clusterHealth = async (s: Stack, id = 'homelab') => (await s.json('/api/health')).body.clusters?.find((c: { id: string }) => c.id === id);
  const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : NaN);

  /**
   * Samples a server every 50 ms until `until` holds, and fails on the first sample that
   * `never` objects to (a status that must not be shown at that moment).
   */
  async function watchServer(s: Stack, id: string, o: { until: (x: any) => boolean; never?: (x: any, at: number) => string | undefined; timeoutMs: number; message: string }) {
    const deadline = Date.now() + o.timeoutMs;
    let last: unknown;
    for (;;) {
      const at = Date.now();
      const x = await server(s, id);
      const wrong = o.never?.(x, at);
      if (wrong) throw new Error(`${id} at ${new Date(at).toISOString()}: ${wrong}: ${JSON.stringify(x)}`);
      if (x && o.until(x)) return { ...x, observedAt: at };
      last = x;
      if (Date.now() > deadline) throw new Error(`${o.message} within ${o.timeoutMs} ms (last: ${JSON.stringify(last)})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('a reporter SIGKILLed: its server reads stale and never Connected from three heartbeats on, down since its last heartbeat', async () => {
    stack = await startStack({ adapter: false, pollMs: 500 });
    const hb = Number(stack.env.MOLTEN_HEARTBEAT_MS);
    const replica = stack.spawnAdapter('doomed');
    const connectedAt = await waitFor(async () => ((await server(stack!, 'pve-homelab'))?.status === 'connected' ? Date.now() : undefined), { timeoutMs: 30_000, message: 'pve-homelab connected' });
    // Connected for a while, so "since it connected" and "since it stopped" cannot be confused.
    await waitFor(() => Date.now() - connectedAt > 2_000 || undefined, { timeoutMs: 5_000 });
    const sse = sseReader(await stack.call('/api/events'));
    const before = await server(stack, 'pve-homelab');
    const checkedAt = Date.now();
    expect(before).toMatchObject({ status: 'connected', stale: false });

    await replica.kill('SIGKILL');
    const killedAt = Date.now();
    // Past three heartbeats (and the api's 250 ms of slack) plus a margin for a busy machine, Connected is a lie.
    const liesAfter = killedAt + 3 * Math.max(hb, 500) + 250 + 1_000;
    const down = await watchServer(stack, 'pve-homelab', {
      until: (x) => x.status === 'down' && x.stale,
      never: (x, at) => (at > liesAfter && (x.status === 'connected' || !x.stale) ? 'still reads connected or fresh after three heartbeats' : undefined),
      timeoutMs: 15_000,
      message: 'pve-homelab down and stale',
    });
    expect(down.reachable || down.authenticated || down.usable).toBe(false);
    expect(down.statusReason).toMatch(/no proxmox-adapter is running \(last report: connected\)/);
    expect(down.remedy).toMatch(/Start the proxmox-adapter/);
    // Down since the last heartbeat the api received: after the last check that read it alive
    // (at most three heartbeats before it), never the time it connected.
    const since = ms(down.statusSince);
    expect(since).toBeGreaterThanOrEqual(checkedAt - (3 * Math.max(hb, 500) + 250));
    expect(since).toBeLessThanOrEqual(down.observedAt);
    expect(since).toBeGreaterThan(connectedAt + 1_000);

    // The dashboard's feed says the same: the health events carry each server's liveness.
    const event = await waitFor(() => sse.events.filter((e) => e.event === 'health').map((e) => e.data.servers.find((x: { id: string }) => x.id === 'pve-homelab')).find((x) => x?.status === 'down'), {
      message: 'a health event with pve-homelab down',
    });
    expect(event).toMatchObject({ stale: true, statusSince: down.statusSince });
    const cluster = await clusterHealth(stack);
    expect(cluster).toMatchObject({ adapter: 'missing', stale: true, upstream: { serverId: 'pve-homelab', status: 'down', since: down.statusSince } });
    sse.close();
  });

  it('a reporter frozen (SIGSTOP): stale and not Connected within three heartbeats, Connected again once it resumes', async () => {
    stack = await startStack({ adapter: false, pollMs: 500 });
    const hb = Number(stack.env.MOLTEN_HEARTBEAT_MS);
    const replica = stack.spawnAdapter('frozen');
    await waitFor(async () => (await server(stack!, 'pve-homelab'))?.status === 'connected', { timeoutMs: 30_000, message: 'pve-homelab connected' });
    replica.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    try {
      const liesAfter = frozenAt + 3 * Math.max(hb, 500) + 250 + 1_000;
      await watchServer(stack, 'pve-homelab', {
        until: (x) => x.status === 'down' && x.stale,
        never: (x, at) => (at > liesAfter && x.status === 'connected' ? 'a frozen reporter still reads connected' : undefined),
        timeoutMs: 15_000,
        message: 'pve-homelab down while its reporter is frozen',
      });
      const vms = (await stack.json('/api/vms')).body;
      expect(vms.meta.stale).toBe(true);
      expect((await stack.json('/api/health')).body.status).toBe('degraded');
    } finally {
      replica.child.kill('SIGCONT');
    }
    await waitFor(async () => {
      const x = await server(stack!, 'pve-homelab');
      return x?.status === 'connected' && !x.stale;
    }, { timeoutMs: 20_000, message: 'connected again after SIGCONT' });
  });

  it('since-times are when the state began: an outage of the Proxmox API, with ProxmoxMCP-Plus beside it', async () => {
    stack = await startStack({ adapter: false, pollMs: 500 });
    mcp = await startProxmoxMcpSimulator({ pve: { url: stack.sim.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, ca: stack.sim.ca }, apiKey: 'status-rest-key-0123456789', mcpApiKey: 'status-mcp-key-0123456789' });
    await stack.startAdapter({ MOLTEN_INSTANCE: 'both', PROXMOX_MCP_URL: mcp.mcpUrl, PROXMOX_MCP_API_KEY: 'status-mcp-key-0123456789' });
    await waitFor(async () => (await server(stack!, 'pve-homelab'))?.status === 'connected' && (await server(stack!, 'proxmox-mcp-homelab'))?.status === 'connected', {
      timeoutMs: 30_000,
      message: 'both servers connected',
    });
    // Let the connected state age, so a since-time taken from it would be visibly wrong.
    await new Promise((r) => setTimeout(r, 1_500));
    const sse = sseReader(await stack.call('/api/events'));
    await stack.sim.stop();
    const outageAt = Date.now();
    try {
      const down = await watchServer(stack, 'pve-homelab', { until: (x) => x.status === 'down', timeoutMs: 15_000, message: 'pve-homelab down' });
      const since = ms(down.statusSince);
      expect(since).toBeGreaterThanOrEqual(outageAt);
      expect(since).toBeLessThanOrEqual(down.observedAt);
      // The banner's since-time is the cluster's own server's, not ProxmoxMCP-Plus's beside it.
      const cluster = await clusterHealth(stack);
      expect(cluster.upstream).toMatchObject({ serverId: 'pve-homelab', status: 'down', since: down.statusSince });
      const event = await waitFor(() => sse.events.filter((e) => e.event === 'health').map((e) => e.data.clusters.find((c: { id: string }) => c.id === 'homelab')?.upstream).find((u) => u?.status === 'down'), {
        message: 'a health event with the outage',
      });
      expect(event).toMatchObject({ serverId: 'pve-homelab', since: down.statusSince });
    } finally {
      await stack.sim.start();
      sse.close();
    }
    await waitFor(async () => (await server(stack!, 'pve-homelab'))?.status === 'connected', { timeoutMs: 15_000, message: 'connected again' });
  });

  it('a server no longer configured is removed by the replica that takes over, never read Connected, and a call to it is refused', async () => {
    stack = await startStack({ adapter: false, pollMs: 500 });
    mcp = await startProxmoxMcpSimulator({ pve: { url: stack.sim.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, ca: stack.sim.ca }, apiKey: 'gone-rest-key-0123456789', mcpApiKey: 'gone-mcp-key-0123456789' });
    const first = await stack.startAdapter({ MOLTEN_INSTANCE: 'with-proxmox-mcp', PROXMOX_MCP_URL: mcp.mcpUrl, PROXMOX_MCP_API_KEY: 'gone-mcp-key-0123456789' });
    const before = await waitFor(async () => {
      const x = await server(stack!, 'proxmox-mcp-homelab');
      return x?.status === 'connected' && x.toolCount > 0 ? x : undefined;
    }, { timeoutMs: 30_000, message: 'ProxmoxMCP-Plus connected with its tools' });
    const tool = before.tools[0].name as string;

    // The reproduction: everything restarts, ProxmoxMCP-Plus is no longer configured (and no longer runs).
    await first.stop();
    await mcp.close();
    mcp = undefined;
    await stack.startAdapter({ MOLTEN_INSTANCE: 'pve-only' });
    await stack.restartApi(200);
    // The replica that took over lists only the Proxmox API: the record goes, and until it has
    // gone it never reads Connected.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const x = await server(stack, 'proxmox-mcp-homelab');
      if (x === undefined) break;
      expect(x.status === 'connected' || !x.stale, `a record nobody reports read connected or fresh: ${JSON.stringify({ ...x, tools: undefined })}`).toBe(false);
      if (Date.now() > deadline) throw new Error(`proxmox-mcp-homelab not removed within 15 s (last: ${x.status})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await server(stack, 'proxmox-mcp-homelab')).toBeUndefined();
    // The restarted api knows pve-homelab's status from the first heartbeat on.
    await waitFor(async () => (await server(stack!, 'pve-homelab'))?.status === 'connected', { timeoutMs: 15_000, message: 'pve-homelab connected after the restart' });

    const r = await stack.json(`/api/servers/proxmox-mcp-homelab/tools/${tool}/call`, { method: 'POST', body: JSON.stringify({ arguments: {} }) });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toMatch(/no server "proxmox-mcp-homelab"/);
    // Nothing was queued for it.
    expect((await stack.json('/api/commands?domain=proxmox')).body.data.filter((c: { action: string }) => c.action === 'tool-call')).toEqual([]);
  });

  it('lastSeen follows the poll, not the heartbeat: with a 1 s poll and an 8 s heartbeat it reads about a second', async () => {
    stack = await startStack({ pollMs: 1_000, env: { MOLTEN_HEARTBEAT_MS: '8000' } });
    await waitFor(async () => (await stack!.json('/api/vms')).body.meta?.stale === false, { timeoutMs: 30_000, message: 'cluster live' });
    const sse = sseReader(await stack.call('/api/events'));
    const rest: number[] = [];
    const started = Date.now();
    // Two heartbeat intervals' worth of samples: a lastSeen carried by the heartbeat would age up to 8 s.
    while (Date.now() - started < 9_000) {
      const at = Date.now();
      const meta = (await stack.json('/api/vms')).body.meta;
      rest.push(at - ms(meta.lastSeen));
      await new Promise((r) => setTimeout(r, 150));
    }
    const events = sse.events.filter((e) => e.event === 'health');
    sse.close();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const sorted = [...rest].sort((a, b) => a - b);
    console.log(`lastSeen age with a 1 s poll and an 8 s heartbeat: median ${median(rest)} ms, 90th percentile ${sorted[Math.floor(sorted.length * 0.9)]} ms, max ${sorted.at(-1)} ms over ${rest.length} reads; ${events.length} health events in 9 s`);
    expect(rest.length).toBeGreaterThan(20);
    // A poll ends about every second; its read time reaches the api with the heartbeat sent right after it.
    expect(median(rest)).toBeLessThan(2_000);
    // The health events the dashboard's "updated N s ago" reads come with each poll, not every 8 s.
    expect(events.length).toBeGreaterThanOrEqual(4);
    const seen = new Set(events.map((e) => e.data.clusters.find((c: { id: string }) => c.id === 'homelab')?.lastSeen));
    expect(seen.size).toBeGreaterThanOrEqual(4);
  });

  it('a down MCP server keeps its last known tools, marked stale with their age, and a call to any tool of it gets 503 with the remedy', async () => {
    const nats = await NatsServer.start();
    const sim = await startHomelabMcpSimulator({ token: 'status-homelab-token-0001' });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-status-'));
    const config = path.join(dir, 'molten.json');
    writeFileSync(config, JSON.stringify({ mcpServers: { docker: { url: sim.url, headers: { Authorization: 'Bearer status-homelab-token-0001' } } }, mcpServerOptions: { docker: { pingMs: 300 } } }));
    const env = { NATS_URL: nats.url, MOLTEN_CONFIG: config, MOLTEN_HEARTBEAT_MS: '300', MOLTEN_INSTANCE: 'status-mcp', MOLTEN_TOKEN: OPERATOR, MOLTEN_PORT: '0', MOLTEN_GRPC_PORT: '0', MOLTEN_DATA_DIR: dir };
    const adapter = await startHomelabAdapter(loadHomelabConfig(env), testLogger('homelab-adapter'), { reconnect: { initialMs: 200, maxMs: 1_000 } });
    const api = await startApi(loadApiConfig(env), testLogger('api'));
    const json = async (p: string, init: RequestInit = {}) => {
      const res = await fetch(`${api.url}${p}`, { ...init, headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' } });
      return { status: res.status, body: (await res.json()) as any };
    };
    try {
      const before = await waitFor(async () => {
        const x = (await json('/api/servers/mcp-docker')).body.data;
        return x?.status === 'connected' && x.toolCount > 0 ? x : undefined;
      }, { timeoutMs: 20_000, message: 'mcp-docker connected with its tools' });
      const tool = before.tools[0].name as string;
      await sim.stop();
      const stoppedAt = Date.now();
      const down = await waitFor(async () => {
        const x = (await json('/api/servers/mcp-docker')).body.data;
        return x?.status === 'down' ? x : undefined;
      }, { timeoutMs: 15_000, message: 'mcp-docker down' });
      expect(down.stale).toBe(true);
      // Its tools as last listed, with the time they were last confirmed (lastSeen), for the dashboard to age.
      expect(down.tools.map((t: { name: string }) => t.name)).toEqual(before.tools.map((t: { name: string }) => t.name));
      expect(ms(down.lastSeen)).toBeLessThanOrEqual(stoppedAt + 300);
      expect(ms(down.statusSince)).toBeGreaterThanOrEqual(stoppedAt);
      for (const name of [tool, 'a-tool-it-never-had']) {
        const r = await json(`/api/servers/mcp-docker/tools/${name}/call`, { method: 'POST', body: '{}' });
        expect(r.status, name).toBe(503);
        expect(r.body.error.code).toBe('upstream_unavailable');
        expect(r.body.error.message).toMatch(/^docker is down: /);
        expect(r.body.error.details.remedy).toBeTruthy();
      }
    } finally {
      await api.stop();
      await adapter.stop();
      await sim.close();
      await nats.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
