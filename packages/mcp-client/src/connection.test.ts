import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startHomelabMcpSimulator, type HomelabMcpSimulator, type HomelabMcpSimulatorOptions } from '@molten/simulators/homelab-mcp';
import { freePort, testLogger, waitFor } from '@molten/testkit';
import { McpConnection, type McpConnectionOptions, type McpHealth } from './connection.js';
import { McpCallError } from './errors.js';
import { listToolsDirectly } from '@molten/testkit';

const sims: HomelabMcpSimulator[] = [];
const conns: McpConnection[] = [];
afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.close()));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function sim(opts: HomelabMcpSimulatorOptions = {}) {
  const s = await startHomelabMcpSimulator(opts);
  sims.push(s);
  return s;
}

/** A connection with test-sized intervals; every status it reports is kept in `seen`. */
function connect(url: string, opts: Partial<McpConnectionOptions> = {}) {
  const conn = new McpConnection({
    name: 'homelab',
    endpoint: { url },
    log: testLogger('mcp'),
    pingIntervalMs: 300,
    pingTimeoutMs: 2_000,
    reconnect: { initialMs: 100, maxMs: 500 },
    ...opts,
  });
  conns.push(conn);
  const seen: McpHealth[] = [];
  conn.on('status', (h) => seen.push(h));
  conn.start();
  return { conn, seen };
}

const connected = (conn: McpConnection) => waitFor(() => conn.health.status === 'connected', { message: `connected (now: ${conn.health.status}: ${conn.health.reason})` });

describe('McpConnection against the homelab simulator', () => {
  it('reports exactly the tools a plain SDK client lists (all pages), with health and server info', async () => {
    const s = await sim({ toolsPageSize: 4 });
    const { conn } = connect(s.url);
    await connected(conn);
    expect(conn.tools).toEqual(await listToolsDirectly(s.url));
    expect(conn.tools).toHaveLength(6);
    expect(conn.health).toMatchObject({
      status: 'connected',
      reachable: true,
      authenticated: true,
      usable: true,
      transport: 'streamable-http',
      server: { name: 'homelab-mcp', version: '0.9.2' },
      remedy: '',
    });
    await waitFor(() => conn.health.latencyMs !== undefined, { message: 'a ping measured latency' });
    expect(conn.health.lastSeenMs).toBeGreaterThan(0);
    const result = await conn.callTool('list_containers', { state: 'exited' });
    expect(result.isError).toBeFalsy();
    expect((result.structuredContent as { containers: { name: string }[] }).containers.map((c) => c.name)).toEqual(['paperless-ngx', 'watchtower']);
  });

  it('picks up a tool added at run time from notifications/tools/list_changed', async () => {
    const s = await sim();
    // The periodic refresh is far away: only the notification can bring the new tool in time.
    const { conn } = connect(s.url, { toolsRefreshMs: 600_000 });
    await connected(conn);
    const announced: string[][] = [];
    conn.on('tools', (tools) => announced.push(tools.map((t) => t.name)));
    await waitFor(() => s.requests.some((r) => r.method === 'GET' && r.status === 200), { message: 'event stream open' });
    s.addTool('prune_images', { description: 'Removes unused images', handler: () => 'Deleted 3 images' });
    await waitFor(() => conn.tool('prune_images'), { message: 'new tool listed' });
    expect(announced.at(-1)).toContain('prune_images');
    expect((await conn.callTool('prune_images', {})).content).toEqual([{ type: 'text', text: 'Deleted 3 images' }]);
  });

  it('goes down when the server stops, keeps its last tools marked stale with when they were last confirmed, and refreshes them when it is back', async () => {
    const s = await sim();
    const { conn, seen } = connect(s.url);
    await connected(conn);
    expect(conn.toolsStale).toBe(false);
    await waitFor(() => conn.health.latencyMs !== undefined, { message: 'a ping answered' });
    const lastSeenUp = conn.health.lastSeenMs;
    expect(conn.toolsConfirmedAtMs).toBeGreaterThanOrEqual(lastSeenUp);
    let announcedEmpty = false;
    conn.on('tools', (tools) => {
      if (tools.length === 0) announcedEmpty = true;
    });
    await s.stop();
    const down = await waitFor(() => (conn.health.status === 'down' ? conn.health : undefined), { timeoutMs: 10_000, message: 'down within 10 s' });
    expect(down).toMatchObject({ reachable: false, usable: false });
    expect(down.reason).toMatch(/connection refused|closed|not answer|dropped/);
    expect(down.remedy).toMatch(/Start the server|correct its URL/);
    // Still listed, marked stale, confirmed no later than the connection was found down.
    expect(conn.tools).toHaveLength(6);
    expect(conn.toolsStale).toBe(true);
    const confirmed = conn.toolsConfirmedAtMs;
    expect(confirmed).toBeGreaterThanOrEqual(lastSeenUp);
    expect(confirmed).toBeLessThanOrEqual(down.statusSinceMs);
    // Not dropped later either (the old client declared them gone after a grace period).
    await new Promise((r) => setTimeout(r, 1_500));
    expect(conn.tools).toHaveLength(6);
    expect(conn.toolsConfirmedAtMs).toBe(confirmed);
    expect(announcedEmpty).toBe(false);
    await s.start();
    await connected(conn);
    expect(conn.toolsStale).toBe(false);
    expect(conn.toolsConfirmedAtMs).toBeGreaterThan(confirmed);
    expect(seen.map((h) => h.status)).toEqual(expect.arrayContaining(['connecting', 'connected', 'down']));
    expect((await conn.callTool('list_containers', {})).isError).toBeFalsy();
  });

  it('reports a wrong token as auth_failed (reachable, not authenticated), never as down, and recovers when it is fixed', async () => {
    const s = await sim({ token: 'server-token-123456' });
    const { conn, seen } = connect(s.url, { endpoint: { url: s.url, bearerToken: 'stale-token-987654' } });
    const h = await waitFor(() => (conn.health.status === 'auth_failed' ? conn.health : undefined), { message: 'auth_failed' });
    expect(h).toMatchObject({ reachable: true, authenticated: false, usable: false });
    expect(h.reason).toContain('refused the credentials (HTTP 401');
    expect(h.remedy).toMatch(/token for "homelab"/);
    expect(JSON.stringify(h)).not.toContain('stale-token-987654');
    await new Promise((r) => setTimeout(r, 800)); // a few reconnect attempts
    expect(seen.map((x) => x.status)).not.toContain('down');
    await expect(conn.callTool('list_containers', {}, { timeoutMs: 300 })).rejects.toMatchObject({ kind: 'auth_failed', delivered: 'no' });
    s.setToken('stale-token-987654');
    await connected(conn);
  });

  it('says the server needs a token when none is configured', async () => {
    const s = await sim({ token: 'server-token-123456' });
    const { conn } = connect(s.url);
    const h = await waitFor(() => (conn.health.status === 'auth_failed' ? conn.health : undefined));
    expect(h.reason).toContain('requires authentication (HTTP 401) and no token is configured');
    expect(h.remedy).toContain('Configure a bearer token');
  });

  it("honours the server's 429 Retry-After: nothing is sent before the delay, and the calls still succeed", async () => {
    const s = await sim({ rateLimitRpm: 5, rateLimitWindowMs: 2_500 });
    // Molten's own limit is off and pings are rare: every 429 comes from the server's limit.
    const { conn, seen } = connect(s.url, { rateLimitRpm: 0, maxConcurrency: 1, pingIntervalMs: 600_000 });
    await connected(conn);
    for (let i = 0; i < 6; i++) {
      const r = await conn.callTool('list_containers', { name: 'traefik' }, { timeoutMs: 20_000 });
      expect((r.structuredContent as { count: number }).count).toBe(1);
    }
    const limited = s.requests.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    for (const l of limited) {
      expect(l.retryAfterS).toBeGreaterThanOrEqual(1);
      const next = s.requests.find((r) => r.atMs > l.atMs && r.status !== 429 && r.method === 'POST');
      expect(next, 'a request after the 429').toBeDefined();
      expect(next!.atMs - l.atMs).toBeGreaterThanOrEqual(l.retryAfterS! * 1_000 - 5);
      // and nothing at all in between
      expect(s.requests.filter((r) => r.atMs > l.atMs && r.atMs < l.atMs + l.retryAfterS! * 1_000 - 5)).toEqual([]);
    }
    expect(s.counters.toolCalls.list_containers).toBe(6);
    expect(seen.some((h) => h.status === 'degraded' && /HTTP 429/.test(h.reason))).toBe(true);
  });

  it("keeps to its own concurrency cap and requests-per-window limit", async () => {
    const s = await sim({ latencyMs: 300 });
    const { conn } = connect(s.url, { maxConcurrency: 2, rateLimitRpm: 3, rateLimitWindowMs: 1_000, pingIntervalMs: 600_000 });
    await connected(conn);
    await new Promise((r) => setTimeout(r, 1_000)); // the handshake and catalog leave the window
    s.resetCounters();
    await Promise.all(Array.from({ length: 6 }, () => conn.callTool('list_containers', {}, { timeoutMs: 20_000 })));
    expect(s.counters.maxConcurrentToolCalls).toBe(2);
    const calls = s.requests.filter((r) => r.tool === 'list_containers').map((r) => r.atMs);
    expect(calls).toHaveLength(6);
    // Arrival times jitter by a few ms against send times; without the limit all six arrive within ~0.5 s.
    for (const t of calls) expect(calls.filter((u) => u >= t && u < t + 1_000 - 100).length).toBeLessThanOrEqual(3);
  });

  it('times out a call that takes too long, saying it may have run', async () => {
    const s = await sim();
    s.addTool('slow_backup', { description: 'Backs up everything, slowly', handler: () => new Promise((r) => setTimeout(() => r('done'), 5_000)) });
    const { conn } = connect(s.url);
    await connected(conn);
    await waitFor(() => conn.tool('slow_backup'));
    const err = await conn.callTool('slow_backup', {}, { timeoutMs: 400 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpCallError);
    expect(err).toMatchObject({ kind: 'timeout', delivered: 'maybe' });
    expect(conn.health.status).toBe('connected');
  });

  it('calls the beforeSend hook once, right before sending, and not at all when nothing can be sent', async () => {
    const s = await sim();
    const { conn } = connect(s.url);
    await connected(conn);
    let calls = 0;
    await conn.callTool('list_containers', {}, { beforeSend: () => void calls++ });
    expect(calls).toBe(1);
    await s.stop();
    await waitFor(() => conn.health.status === 'down');
    const err = await conn.callTool('list_containers', {}, { timeoutMs: 300, beforeSend: () => void calls++ }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'not_connected', delivered: 'no' });
    expect(calls).toBe(1);
  });

  it('reports a server that is not there as down with the reason, and a call fails without being sent', async () => {
    const port = await freePort();
    const { conn } = connect(`http://127.0.0.1:${port}/mcp`);
    const h = await waitFor(() => (conn.health.status === 'down' ? conn.health : undefined));
    expect(h.reason).toBe(`connection refused by 127.0.0.1:${port}: nothing listens there`);
    expect(h).toMatchObject({ reachable: false, authenticated: false, usable: false });
    await expect(conn.callTool('echo', {}, { timeoutMs: 300 })).rejects.toMatchObject({ kind: 'not_connected', delivered: 'no' });
  });

  it('falls back to the legacy SSE transport when Streamable HTTP gets a 4xx', async () => {
    const s = await sim({ legacySse: true });
    const { conn } = connect(s.sseUrl);
    await connected(conn);
    expect(conn.transport).toBe('sse');
    expect(conn.tools).toEqual(await listToolsDirectly(s.sseUrl, { sse: true }));
    const r = await conn.callTool('container_logs', { container: 'traefik', tail: 1 });
    expect(r.content).toEqual([{ type: 'text', text: 'level=info msg="Configuration loaded from flags."' }]);
  });

  it('keeps secrets out of the endpoint it reports', () => {
    const conn = new McpConnection({
      name: 'x',
      endpoint: { url: 'https://user:hunter2-secret@mcp.example.com:8443/mcp?api_key=abcdef123456', bearerToken: 'tok-123456789' },
      log: testLogger(),
    });
    expect(conn.endpoint).toBe('https://mcp.example.com:8443/mcp?api_key=***');
  });

  it('marks a call cancelled by its signal as aborted', async () => {
    const s = await sim();
    s.addTool('slow', { description: 'slow', inputSchema: z.object({}), handler: () => new Promise((r) => setTimeout(() => r('late'), 3_000)) });
    const { conn } = connect(s.url);
    await connected(conn);
    await waitFor(() => conn.tool('slow'));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await expect(conn.callTool('slow', {}, { signal: ac.signal })).rejects.toMatchObject({ kind: 'aborted' });
  });
});
