import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoAgents } from '@molten/simulators/gateway';
import { loadConfig as loadApiConfig } from '@molten/api/config';
import { startApi, type RunningApi } from '@molten/api';
import { loadConfig as loadMoltbotConfig, startMoltbotAdapter, type MoltbotAdapter } from '@molten/moltbot-adapter';
import { startGatewaySimulator, type GatewaySimulator } from '@molten/simulators/gateway';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';
import { sseReader } from '../../services/api/src/test/api-fixture.js';
import { OPERATOR } from './stack.js';

const GATEWAY_TOKEN = 'gateway-token-for-e2e-000000000001';

/** Issue 5's checks through the api: the agent gateway (simulated), the moltbot-adapter, the api. */
describe('the agent gateway through the api', { timeout: 60_000 }, () => {
  let nats: NatsServer;
  let api: RunningApi;
  let gateway: GatewaySimulator;
  let dir: string;
  const adapters: MoltbotAdapter[] = [];

  const call = (p: string, init: RequestInit = {}) => fetch(`${api.url}${p}`, { ...init, headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json', ...init.headers } });
  const json = async (p: string, init: RequestInit = {}) => {
    const res = await call(p, init);
    return { status: res.status, body: (await res.json()) as any };
  };
  const startAdapter = async (gatewayId: string, url: string, token: string) => {
    const env = { NATS_URL: nats.url, MOLTBOT_URL: url, MOLTBOT_TOKEN: token, MOLTBOT_GATEWAY_ID: gatewayId, MOLTEN_DATA_DIR: path.join(dir, gatewayId), MOLTEN_HEARTBEAT_MS: '300', MOLTEN_INSTANCE: `moltbot-${gatewayId}` };
    const config = loadMoltbotConfig(env);
    const adapter = await startMoltbotAdapter(config, testLogger('moltbot-adapter'), { client: { reconnect: { initialMs: 200, maxMs: 1_000 } } });
    adapters.push(adapter);
    return adapter;
  };

  beforeAll(async () => {
    nats = await NatsServer.start();
    dir = mkdtempSync(path.join(os.tmpdir(), 'molten-agents-e2e-'));
    gateway = await startGatewaySimulator({ token: GATEWAY_TOKEN, protocol: 4, tickIntervalMs: 1_000, agentStepMs: 30 });
    api = await startApi(loadApiConfig({ NATS_URL: nats.url, MOLTEN_TOKEN: OPERATOR, MOLTEN_PORT: '0', MOLTEN_GRPC_PORT: '0', MOLTEN_DATA_DIR: dir, MOLTEN_HEARTBEAT_MS: '300' }), testLogger('api'));
    await startAdapter('default', gateway.url, GATEWAY_TOKEN);
    await waitFor(async () => (await json('/api/agents')).body.data.gateways[0]?.connection === 'connected', { timeoutMs: 20_000, message: 'gateway connected' });
  });
  afterAll(async () => {
    await api?.stop();
    for (const adapter of adapters) await adapter.stop();
    await gateway?.close();
    await nats?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the gateway, its agents and sessions, and lists it as a server with its methods', async () => {
    const data = await waitFor(async () => {
      const d = (await json('/api/agents')).body.data;
      return d.agents.length === demoAgents().length && d.sessions.length > 0 && d.gateways[0]?.stale === false ? d : undefined;
    }, { message: 'agents and sessions published' });
    expect(data.gateways[0]).toMatchObject({ id: 'default', protocol: 4, connection: 'connected', stale: false });
    expect(data.agents.map((a: { id: string }) => a.id).sort()).toEqual(demoAgents().map((a) => a.id).sort());
    expect(data.sessions.length).toBeGreaterThan(0);
    const server = (await json('/api/servers/gateway-default')).body.data;
    expect(server).toMatchObject({ kind: 'gateway', transport: 'websocket', status: 'connected' });
    expect(server.methods).toEqual(expect.arrayContaining(['agent', 'agents.list', 'sessions.list', 'health']));
  });

  it('runs a task: accepted, streamed progress, then succeeded with the summary', async () => {
    gateway.setNextAgentOutcome({ status: 'ok', chunks: ['Checking ', 'the backups… ', 'all green.'], summary: 'backups are fine' });
    const sse = sseReader(await call('/api/events'));
    await waitFor(() => sse.events.find((e) => e.event === 'snapshot'));
    const agentId = demoAgents()[0]!.id;
    const r = await json(`/api/agents/${agentId}/run`, { method: 'POST', body: JSON.stringify({ message: 'are the backups fine?' }) });
    expect(r.status).toBe(202);
    const id = r.body.data.id;
    const done = await waitFor(() => sse.events.find((e) => e.event === 'command' && e.data.id === id && ['succeeded', 'failed'].includes(e.data.status)), { timeoutMs: 20_000 });
    expect(done.data.status).toBe('succeeded');
    expect(done.data.result).toMatchObject({ status: 'ok', summary: 'backups are fine' });
    const statuses = sse.events.filter((e) => e.event === 'command' && e.data.id === id).map((e) => e.data.status);
    expect(statuses).toEqual(['requested', 'accepted', 'running', 'succeeded']);
    const text = sse.events.filter((e) => e.event === 'progress' && e.data.commandId === id).map((e) => e.data.text).join('');
    expect(text).toContain('all green.');
    expect(gateway.agentCalls(id)).toBe(1);
    sse.close();
  });

  it('ends a run the gateway fails as failed, with the gateway’s message', async () => {
    gateway.setNextAgentOutcome({ status: 'error', message: 'No route-compatible authentication source is configured for openai.' });
    const r = await json(`/api/agents/${demoAgents()[0]!.id}/run`, { method: 'POST', body: JSON.stringify({ message: 'hello' }) });
    const c = await waitFor(async () => {
      const x = (await json(`/api/commands/${r.body.data.id}`)).body.data;
      return ['succeeded', 'failed', 'timed_out'].includes(x.status) ? x : undefined;
    }, { timeoutMs: 20_000 });
    expect(c.status).toBe('failed');
    expect(c.error.message).toContain('No route-compatible authentication source is configured for openai.');
  });

  it('says "token mismatch" for a wrong token, and names both protocols on a mismatch', async () => {
    const v5 = await startGatewaySimulator({ token: GATEWAY_TOKEN, protocol: 5 });
    try {
      await startAdapter('wrongtoken', gateway.url, 'not-the-gateway-token-00000000');
      await startAdapter('newer', v5.url, GATEWAY_TOKEN);
      const wrong = await waitFor(async () => {
        const s = (await json('/api/servers/gateway-wrongtoken')).body.data;
        return s?.status === 'auth_failed' ? s : undefined;
      }, { timeoutMs: 15_000, message: 'auth failed reported' });
      expect(wrong.statusReason).toMatch(/token mismatch/i);
      expect(wrong.remedy).toMatch(/MOLTBOT_TOKEN/);
      const newer = await waitFor(async () => {
        const s = (await json('/api/servers/gateway-newer')).body.data;
        return s && /protocol/i.test(s.statusReason) && s.status !== 'connected' ? s : undefined;
      }, { timeoutMs: 15_000, message: 'protocol mismatch reported' });
      expect(newer.statusReason).toMatch(/5/);
      expect(newer.statusReason).toMatch(/3/);
    } finally {
      await v5.close();
    }
  });

  it('shows the gateway stale while it is down and live again when it is back, without restarting the adapter', async () => {
    await gateway.stop();
    const stale = await waitFor(async () => {
      const g = (await json('/api/agents')).body.data.gateways.find((x: { id: string }) => x.id === 'default');
      return g && g.stale && g.connection !== 'connected' ? g : undefined;
    }, { timeoutMs: 15_000, message: 'stale while down' });
    expect(['connecting', 'down']).toContain(stale.connection);
    await gateway.start();
    await waitFor(async () => {
      const g = (await json('/api/agents')).body.data.gateways.find((x: { id: string }) => x.id === 'default');
      return g && !g.stale && g.connection === 'connected';
    }, { timeoutMs: 20_000, message: 'live again' });
  });
});
