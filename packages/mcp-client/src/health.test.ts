import { afterEach, describe, expect, it } from 'vitest';
import { startHomelabMcpSimulator, type HomelabMcpSimulatorOptions } from '@molten/simulators/homelab-mcp';
import { testLogger, waitFor } from '@molten/testkit';
import { startModernMcpServer } from '@molten/testkit/mcp-modern';
import { describeEndpoint } from './endpoint.js';
import { diagnose, type Diagnosis } from './errors.js';
import { HealthMonitor, type HealthHost } from './health.js';
import { RequestGate } from './request-gate.js';
import { SessionOpener, type Session } from './session.js';

/** Health of an open session: liveness requests of either generation, latency, a server that stops answering. */
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** A session to the server and a monitor on it, with a host that records what the monitor reports. */
async function watch(url: string, o: { pingIntervalMs?: number; pingTimeoutMs?: number; degradedLatencyMs?: number } = {}) {
  const endpointText = describeEndpoint({ url });
  const gate = new RequestGate({ rpm: 0, maxConcurrency: 0 });
  const diag = (err: unknown) => diagnose(err, { name: 'test', endpoint: endpointText, hasCredentials: false });
  const sessions = new SessionOpener({
    endpoint: { url },
    endpointText,
    gate,
    log: testLogger('health'),
    clientInfo: { name: 'molten-test', version: '1' },
    connectTimeoutMs: 5_000,
    versionNegotiation: 'auto',
    listMaxPages: 100,
    hooks: { toolsChanged: () => {}, error: () => {}, closed: () => {} },
    diagnose: diag,
  });
  const session: Session = await sessions.open(1, new AbortController().signal);
  const lost: Diagnosis[] = [];
  /** The reported issue at every change the monitor announced. */
  const reported: (string | undefined)[] = [];
  const host: HealthHost & { live: Session | undefined } = {
    live: session,
    diagnose: diag,
    lost: (_gen, _err, d) => {
      lost.push(d);
      host.live = undefined;
    },
    seen: () => monitor.seen(),
    changed: () => void reported.push(monitor.issue?.reason),
  };
  const monitor = new HealthMonitor({
    host,
    gate,
    log: testLogger('health'),
    endpointText,
    name: 'test',
    pingIntervalMs: o.pingIntervalMs ?? 100,
    pingTimeoutMs: o.pingTimeoutMs ?? 2_000,
    degradedLatencyMs: o.degradedLatencyMs ?? 2_000,
  });
  closers.push(async () => {
    monitor.stop();
    await sessions.close(session, true);
  });
  monitor.start(session);
  return { monitor, session, lost, reported };
}

describe('HealthMonitor', () => {
  it('on 2026-07-28, which has no ping, measures liveness with server/discover, and loses the session when the server goes', async () => {
    const s = await startModernMcpServer();
    closers.push(() => s.close());
    const { monitor, session, lost } = await watch(s.url);
    expect(session.negotiated.era).toBe('modern');
    await waitFor(() => s.requests.filter((r) => r.mcpMethod === 'server/discover').length >= 3, { message: 'liveness requests every interval' });
    expect(monitor.latencyMs).toBeGreaterThan(0);
    expect(monitor.lastSeenMs).toBeGreaterThan(Date.now() - 5_000);
    expect(monitor.issue).toBeUndefined();
    expect(s.requests.some((r) => r.mcpMethod === 'ping')).toBe(false);
    await s.stop();
    const d = await waitFor(() => lost[0], { message: 'the session is declared lost' });
    expect(d).toMatchObject({ cause: 'unreachable', reachable: false });
    expect(d.reason).toBe(`connection refused by 127.0.0.1:${s.port}: nothing listens there`);
  });

  it('on the 2025 generation pings, and a slow answer is an issue that says how slow', async () => {
    const opts: HomelabMcpSimulatorOptions = { latencyMs: 150 };
    const s = await startHomelabMcpSimulator(opts);
    closers.push(() => s.close());
    const { monitor, session, reported } = await watch(s.url, { degradedLatencyMs: 50 });
    expect(session.negotiated.era).toBe('legacy');
    const issue = await waitFor(() => monitor.issue, { message: 'a latency issue' });
    expect(issue.reason).toMatch(new RegExp(`^${s.url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} answers slowly \\(ping \\d+ ms\\)$`));
    expect(monitor.latencyMs).toBeGreaterThanOrEqual(150);
    expect(reported).toContain(issue.reason);
    expect(s.counters.rpc.ping).toBeGreaterThan(0);
  });

  it('counts one unanswered ping as an issue and two as a lost session', async () => {
    const s = await startHomelabMcpSimulator({ latencyMs: 1_000 });
    closers.push(() => s.close());
    const { lost, reported } = await watch(s.url, { pingTimeoutMs: 200, pingIntervalMs: 50 });
    const d = await waitFor(() => lost[0], { message: 'the second unanswered ping lost the session' });
    expect(d.reason).toBe(`${s.url} stopped answering (two pings unanswered)`);
    // Before that, the first one was reported as an issue (degraded), not as a loss.
    expect(reported).toEqual([`${s.url} did not answer a ping within 200 ms`]);
  });
});
