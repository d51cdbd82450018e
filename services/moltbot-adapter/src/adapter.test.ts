import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandStore, connectBus, followEvents, submitCommand, type Bus, type BusEvent } from '@molten/bus';
import {
  CommandStatus,
  Heartbeat,
  KIND_TYPES,
  ServerStatus,
  commandStatusName,
  decodeMessage,
  subjects,
  type Agent,
  type AgentSession,
  type CommandProgress,
  type CommandTransition,
  type Gateway,
  type StateKind,
  type UpstreamServer,
} from '@molten/contracts';
import { startGatewaySimulator, type GatewaySimulator, type GatewaySimulatorOptions } from '@molten/simulators/gateway';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';
import { startMoltbotAdapter, type MoltbotAdapter } from './adapter.js';
import type { AdapterConfig } from './config.js';
import { TOKEN_REMEDY } from './diagnosis.js';

const TOKEN = 'adapter-test-gateway-token';
const actor = { kind: 'user', name: 'tester', role: 'operator' };

describe('moltbot-adapter against the gateway simulator and a real nats-server', () => {
  let nats: NatsServer;
  let bus: Bus;
  let store: CommandStore;
  const events: BusEvent[] = [];
  let follower: { stop(): Promise<void> };
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    nats = await NatsServer.start();
    bus = await connectBus({ servers: nats.url, name: 'api', log: testLogger('api') });
    store = new CommandStore(bus, 'api');
    follower = followEvents(bus, { afterSeq: 0, log: testLogger() }, (e) => events.push(e));
    await new Promise((r) => setTimeout(r, 200));
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await follower.stop();
    await bus.close();
    await nats.dispose();
  });

  let n = 0;
  async function setup(o: { sim?: Partial<GatewaySimulatorOptions>; token?: string; refreshMs?: number; gatewayId?: string } = {}) {
    const gatewayId = o.gatewayId ?? `gw${++n}`;
    const sim = await startGatewaySimulator({ token: TOKEN, tickIntervalMs: 1_000, agentStepMs: 10, ...o.sim });
    cleanups.push(() => sim.close());
    const adapter = await startAdapter(sim, gatewayId, { token: o.token, refreshMs: o.refreshMs });
    return { sim, adapter, gatewayId };
  }

  async function startAdapter(sim: GatewaySimulator, gatewayId: string, o: { token?: string; refreshMs?: number; instance?: string; dataDir?: string } = {}) {
    const dataDir = o.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'moltbot-adapter-'));
    const config: AdapterConfig = {
      natsUrl: nats.url,
      gatewayUrl: sim.url,
      token: o.token ?? TOKEN,
      gatewayId,
      refreshMs: o.refreshMs ?? 60_000,
      heartbeatMs: 200,
      leaseTtlMs: 10_000,
      commandConcurrency: 32,
      commandAckWaitMs: 15_000,
      deviceAuth: true,
      dataDir,
      demo: true,
      instance: o.instance ?? `test-${gatewayId}`,
    };
    const adapter = await startMoltbotAdapter(config, testLogger('adapter'), {
      reconcileEveryMs: 300,
      eventRefreshDelayMs: 50,
      runner: { progressIntervalMs: 50, connectWaitMs: 5_000 },
      client: { refusedRetry: { initialMs: 1_000, maxMs: 5_000 } },
    });
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await adapter.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
    cleanups.push(stop);
    return Object.assign(adapter, { stopNow: stop }) as MoltbotAdapter & { stopNow: () => Promise<void> };
  }

  async function readState<T>(gatewayId: string, kind: StateKind, id: string): Promise<T | undefined> {
    const e = await bus.kv.state.get(subjects.stateKey({ domain: 'moltbot', scope: gatewayId, kind, id }));
    if (!e || e.operation !== 'PUT' || e.length === 0) return undefined;
    return decodeMessage(KIND_TYPES[kind], e.value) as T;
  }
  const server = (gw: string) => readState<UpstreamServer>(gw, 'server', `gateway-${gw}`);
  const serverEvents = (gw: string) =>
    events.filter((e) => e.type === 'molten.v1.UpstreamServer' && e.address?.scope === gw && !e.removed).map((e) => e.value as UpstreamServer);

  const submitRun = (gatewayId: string, run: { agentId: string; message: string; sessionKey?: string }) =>
    submitCommand(bus, store, {
      domain: 'moltbot',
      scope: gatewayId,
      action: 'agent-run',
      payload: { $case: 'agentRun', value: { agentId: run.agentId, message: run.message, sessionKey: run.sessionKey ?? '', timeoutS: 0 } },
      actor,
      acceptTimeoutMs: 10_000,
      timeoutMs: 60_000,
    });
  const transitions = (id: string) => events.filter((e) => e.type === 'molten.v1.CommandTransition' && (e.value as CommandTransition).commandId === id).map((e) => e.value as CommandTransition);
  const progress = (id: string) => events.filter((e) => e.type === 'molten.v1.CommandProgress' && (e.value as CommandProgress).commandId === id).map((e) => e.value as CommandProgress);
  const finished = (id: string, status: CommandStatus) =>
    waitFor(async () => {
      const r = (await store.get(id))?.record;
      return r?.status === status ? r : undefined;
    }, { timeoutMs: 15_000, message: `command ${commandStatusName(status)}` });

  for (const protocol of [3, 4]) {
    it(`publishes the gateway, its agents, sessions, cron status and the server descriptor (protocol ${protocol})`, async () => {
      const { sim, adapter, gatewayId } = await setup({ sim: { protocol } });
      const s = await waitFor(async () => {
        const v = await server(gatewayId);
        return v?.status === ServerStatus.SERVER_STATUS_CONNECTED && v.version ? v : undefined;
      }, { message: 'server connected' });
      expect(s).toMatchObject({
        id: `gateway-${gatewayId}`,
        kind: 'gateway',
        domain: 'moltbot',
        scope: gatewayId,
        endpoint: sim.url,
        transport: 'websocket',
        reachable: true,
        authenticated: true,
        usable: true,
        demo: true,
        reporter: `test-${gatewayId}`,
        name: protocol === 3 ? `Moltbot gateway (${gatewayId})` : `OpenClaw gateway (${gatewayId})`,
      });
      expect(s.methods).toEqual(expect.arrayContaining(['agent', 'agent.wait', 'sessions.list', 'cron.list']));
      expect(s.capabilities).toEqual([{ action: 'agent-run', available: true, reason: '', privilege: 'operator.write' }]);
      expect(s.lastSeenMs).toBeGreaterThan(0);

      const gw = await waitFor(() => readState<Gateway>(gatewayId, 'gateway', gatewayId).then((g) => (g?.cronJson ? g : undefined)));
      expect(gw).toMatchObject({ id: gatewayId, protocol, connection: 'connected', tickIntervalMs: 1_000 });
      expect(gw.presenceCount).toBeGreaterThanOrEqual(2); // the gateway itself and this adapter
      expect(JSON.parse(gw.healthJson)).toMatchObject({ ok: true, defaultAgentId: 'main' });
      expect(JSON.parse(gw.cronJson).jobs.map((j: { id: string }) => j.id)).toEqual(['nightly-backup-check', 'morning-brief', 'weekly-digest']);

      const ops = await waitFor(() => readState<Agent>(gatewayId, 'agent', 'homelab-ops'));
      expect(ops).toEqual({
        gateway: gatewayId,
        id: 'homelab-ops',
        name: 'Homelab Ops',
        description: 'keeps the Proxmox cluster, backups and containers healthy',
        isDefault: false,
        model: 'anthropic/claude-sonnet-4-5',
      });
      expect((await readState<Agent>(gatewayId, 'agent', 'main'))?.isDefault).toBe(true);
      const session = await waitFor(() => readState<AgentSession>(gatewayId, 'session', 'agent:homelab-ops:main'));
      expect(session).toMatchObject({ agentId: 'homelab-ops', title: 'Why is pve2 swapping?', channel: 'webchat', tokens: 48_220 });
      expect(session.lastMessage).toContain('VM 104');
      expect(session.updatedAtMs).toBeGreaterThan(Date.now() - 60 * 60_000);

      // The heartbeat carries the same health, the lease and the agent-run capability.
      const sub = adapter.client && bus.nc.subscribe(subjects.heartbeat('moltbot', `test-${gatewayId}`), { max: 1 });
      for await (const m of sub) {
        const hb = decodeMessage('molten.v1.Heartbeat', m.data) as Heartbeat;
        expect(hb.upstreams).toEqual([expect.objectContaining({ serverId: `gateway-${gatewayId}`, scope: gatewayId, status: ServerStatus.SERVER_STATUS_CONNECTED, leader: true, pollMs: 60_000 })]);
        expect(hb.upstreams[0]!.capabilities[0]).toMatchObject({ action: 'agent-run', available: true });
        expect(hb.upstreams[0]!.privileges).toEqual(['operator.read', 'operator.write']);
      }
    });
  }

  it('removes agents and sessions the gateway no longer lists', async () => {
    const { sim, gatewayId } = await setup({ sim: { protocol: 4 }, refreshMs: 1_000 });
    await waitFor(() => readState(gatewayId, 'session', 'agent:researcher:main'), { message: 'sessions published' });
    await waitFor(() => readState(gatewayId, 'agent', 'researcher'), { message: 'agents published' });
    const { demoAgents, demoSessions } = await import('@molten/simulators/gateway');
    sim.setSessions(demoSessions().filter((s) => !s.key.startsWith('agent:researcher:')));
    sim.setAgents(demoAgents().filter((a) => a.id !== 'researcher'));
    await waitFor(async () => !(await readState(gatewayId, 'session', 'agent:researcher:main')), { message: 'session removed' });
    await waitFor(async () => !(await readState(gatewayId, 'agent', 'researcher')), { message: 'agent removed (periodic refresh)' });
    expect(await readState(gatewayId, 'agent', 'homelab-ops')).toBeDefined();
    const removal = events.find((e) => e.address?.scope === gatewayId && e.address.kind === 'session' && e.removed);
    expect(removal?.address?.id).toBe('agent:researcher:main');
  });

  it('reports a wrong token as AUTH_FAILED with the token-mismatch reason and the remedy, and backs off', async () => {
    const { sim, gatewayId } = await setup({ sim: { protocol: 4 }, token: 'definitely-the-wrong-token' });
    const s = await waitFor(async () => {
      const v = await server(gatewayId);
      return v?.status === ServerStatus.SERVER_STATUS_AUTH_FAILED ? v : undefined;
    }, { message: 'auth failed published' });
    expect(s.statusReason).toContain('token mismatch');
    expect(s.remedy).toBe(TOKEN_REMEDY);
    expect(s).toMatchObject({ reachable: true, authenticated: false, usable: false });
    expect(s.capabilities[0]).toMatchObject({ action: 'agent-run', available: false });
    // The server record is written first, the gateway record right after it.
    await waitFor(async () => (await readState<Gateway>(gatewayId, 'gateway', gatewayId))?.connection === 'auth_failed', { message: 'gateway record says auth_failed' });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(sim.connectAttempts.length).toBeLessThanOrEqual(3); // backoff from 1 s, not a tight loop
  });

  it('reports a protocol mismatch as DOWN naming both versions', async () => {
    const { gatewayId } = await setup({ sim: { protocol: 5 } });
    const s = await waitFor(async () => {
      const v = await server(gatewayId);
      return v?.status === ServerStatus.SERVER_STATUS_DOWN ? v : undefined;
    });
    expect(s.statusReason).toBe('protocol mismatch: the gateway speaks protocol 5, this adapter speaks protocol 3–4');
    expect(s.remedy).toContain('upgrade Molten');
    expect(s.reachable).toBe(true);
    await waitFor(async () => (await readState<Gateway>(gatewayId, 'gateway', gatewayId))?.connection === 'protocol_mismatch', { message: 'gateway record says protocol_mismatch' });
  });

  it('goes DOWN when the gateway stops and back to CONNECTED when it returns, without a restart', async () => {
    const { sim, adapter, gatewayId } = await setup();
    await waitFor(async () => (await server(gatewayId))?.status === ServerStatus.SERVER_STATUS_CONNECTED);
    await sim.stop();
    const down = await waitFor(async () => {
      const v = await server(gatewayId);
      return v?.status === ServerStatus.SERVER_STATUS_DOWN ? v : undefined;
    }, { message: 'down' });
    expect(down.statusReason).toContain('connection refused');
    expect(down.remedy).toContain('MOLTBOT_URL');
    const seen = serverEvents(gatewayId).map((v) => v.status);
    expect(seen).toContain(ServerStatus.SERVER_STATUS_CONNECTING); // the drop itself, before the failed reconnect
    await sim.start();
    await waitFor(async () => (await server(gatewayId))?.status === ServerStatus.SERVER_STATUS_CONNECTED, { message: 'connected again' });
    expect(adapter.client.connected).toBe(true);
  });

  it('reconnects when the gateway stops ticking', async () => {
    const { sim, gatewayId } = await setup({ sim: { tickIntervalMs: 200 } });
    await waitFor(async () => (await server(gatewayId))?.status === ServerStatus.SERVER_STATUS_CONNECTED);
    const attempts = sim.connectAttempts.length;
    sim.stopTicking();
    await waitFor(() => serverEvents(gatewayId).some((v) => v.statusReason.startsWith('no tick from the gateway for more than 400 ms')), { message: 'tick timeout published' });
    sim.startTicking();
    await waitFor(async () => (await server(gatewayId))?.status === ServerStatus.SERVER_STATUS_CONNECTED && sim.connectAttempts.length > attempts);
  });

  it('runs an agent: requested, accepted, running with the runId, throttled progress, succeeded with the summary', async () => {
    const { sim, adapter, gatewayId } = await setup();
    await waitFor(() => adapter.client.connected);
    const chunks = Array.from({ length: 40 }, (_, i) => `w${i} `);
    sim.setNextAgentOutcome({ status: 'ok', chunks, stepMs: 5, tools: [{ name: 'proxmox.list_vms', args: { node: 'pve1' } }] });
    const { record } = await submitRun(gatewayId, { agentId: 'homelab-ops', message: 'How are the backups?' });
    const id = record.command!.id;
    // Malformed frames mid-run are logged and ignored.
    sim.sendRaw('{"type":"event","event":');
    sim.sendRaw({ type: 'res', id: 42 });
    const done = await finished(id, CommandStatus.COMMAND_STATUS_SUCCEEDED);
    await waitFor(() => transitions(id).length === 4);
    expect(transitions(id).map((t) => commandStatusName(t.status))).toEqual(['requested', 'accepted', 'running', 'succeeded']);
    expect(transitions(id)[2]!.upstreamTaskId).toBe(id); // the gateway's runId is the idempotencyKey: the command id
    expect(done.upstreamTaskId).toBe(id);
    const result = JSON.parse(done.resultJson);
    expect(result).toMatchObject({ runId: id, status: 'ok', summary: 'completed', result: { payloads: [{ text: chunks.join('') }] } });
    expect(done.transitions.at(-1)!.message).toBe(`run ${id} finished: completed`);

    const p = progress(id);
    const seqOf = (type: string, pred: (v: never) => boolean) => events.find((e) => e.type === type && pred(e.value as never))!.seq;
    const runningSeq = seqOf('molten.v1.CommandTransition', (t: CommandTransition) => t.commandId === id && t.status === CommandStatus.COMMAND_STATUS_RUNNING);
    const firstProgressSeq = seqOf('molten.v1.CommandProgress', (x: CommandProgress) => x.commandId === id);
    expect(firstProgressSeq).toBeGreaterThan(runningSeq);
    const assistant = p.filter((x) => x.stream === 'assistant');
    expect(assistant.map((x) => x.text).join('')).toBe(chunks.join(''));
    expect(assistant.length).toBeLessThan(chunks.length); // coalesced, not one message per token
    expect(p.filter((x) => x.stream === 'tool').map((x) => x.text).join('')).toBe('proxmox.list_vms start\nproxmox.list_vms result\n');
    expect(p.filter((x) => x.stream === 'lifecycle').map((x) => x.text).join('')).toBe('start\nend\n');
    expect(sim.agentCalls(id)).toBe(1);
    expect(adapter.client.malformedFrames).toBe(2);
    // The run's session shows the new message at once, not at the next poll.
    await waitFor(async () => (await readState<AgentSession>(gatewayId, 'session', 'agent:homelab-ops:main'))?.lastMessage === chunks.join(''), { message: 'session updated' });
  });

  it('fails a run with the gateway’s error message', async () => {
    const { sim, adapter, gatewayId } = await setup({ sim: { protocol: 3 } });
    await waitFor(() => adapter.client.connected);
    sim.setNextAgentOutcome({ status: 'error', message: 'No route-compatible authentication source is configured for openai.' });
    const { record } = await submitRun(gatewayId, { agentId: 'main', message: 'hello' });
    const id = record.command!.id;
    const done = await finished(id, CommandStatus.COMMAND_STATUS_FAILED);
    expect(done.error).toMatchObject({ code: 'upstream', message: 'Error: No route-compatible authentication source is configured for openai.', upstreamStatus: 'UNAVAILABLE' });
    expect(done.transitions.map((t) => commandStatusName(t.status))).toEqual(['requested', 'accepted', 'running', 'failed']);
    expect(JSON.parse(done.resultJson)).toMatchObject({ runId: id, status: 'error', summary: 'Error: No route-compatible authentication source is configured for openai.' });
    await waitFor(() => progress(id).some((x) => x.stream === 'lifecycle' && x.text.includes('error: Error: No route-compatible')));
  });

  it('fails without running when the gateway refuses the run (unknown agent)', async () => {
    const { adapter, gatewayId } = await setup();
    await waitFor(() => adapter.client.connected);
    const { record } = await submitRun(gatewayId, { agentId: 'nobody', message: 'hello' });
    const done = await finished(record.command!.id, CommandStatus.COMMAND_STATUS_FAILED);
    expect(done.error).toMatchObject({ code: 'invalid', message: 'invalid agent params: unknown agent id "nobody"', upstreamStatus: 'INVALID_REQUEST' });
    expect(done.transitions.map((t) => commandStatusName(t.status))).toEqual(['requested', 'accepted', 'failed']);
  });

  it('marks a run uncertain when the connection drops mid-run and resolves it with agent.wait, never re-sending', async () => {
    const { sim, adapter, gatewayId } = await setup();
    await waitFor(() => adapter.client.connected);
    sim.setNextAgentOutcome({ status: 'ok', chunks: ['first ', 'second ', 'third'], hold: true });
    const { record } = await submitRun(gatewayId, { agentId: 'researcher', message: 'Summarise PVE 9' });
    const id = record.command!.id;
    await finished(id, CommandStatus.COMMAND_STATUS_RUNNING);
    sim.dropConnections();
    const uncertain = await finished(id, CommandStatus.COMMAND_STATUS_UNCERTAIN);
    expect(uncertain.error?.code).toBe('connection_lost');
    expect(uncertain.transitions.at(-1)!.message).toContain(`run ${id} was running`);
    sim.releaseRuns();
    const done = await finished(id, CommandStatus.COMMAND_STATUS_SUCCEEDED);
    expect(done.transitions.map((t) => commandStatusName(t.status))).toEqual(['requested', 'accepted', 'running', 'uncertain', 'succeeded']);
    expect(done.transitions.at(-1)!.message).toBe(`run ${id} finished (confirmed with agent.wait)`);
    expect(JSON.parse(done.resultJson)).toMatchObject({ runId: id, status: 'ok', summary: 'completed' });
    expect(sim.agentCalls(id)).toBe(1);
  });

  it('lets one of two replicas publish the state (lease) while both keep a connection for runs', async () => {
    const gatewayId = `gw${++n}`;
    const sim = await startGatewaySimulator({ token: TOKEN, tickIntervalMs: 1_000 });
    cleanups.push(() => sim.close());
    const a = await startAdapter(sim, gatewayId, { instance: 'replica-1' });
    const b = await startAdapter(sim, gatewayId, { instance: 'replica-2' });
    await waitFor(() => a.client.connected && b.client.connected && sim.clients().length === 2, { message: 'both connected' });
    await waitFor(() => a.state.leader !== b.state.leader, { message: 'one leader' });
    const leader = a.state.leader ? 'replica-1' : 'replica-2';
    await waitFor(async () => (await server(gatewayId))?.status === ServerStatus.SERVER_STATUS_CONNECTED);
    expect((await server(gatewayId))?.reporter).toBe(leader);
    expect(new Set(serverEvents(gatewayId).map((v) => v.reporter))).toEqual(new Set([leader]));
    // The leader goes away cleanly: the other takes over at once and publishes.
    await (leader === 'replica-1' ? a : b).stopNow();
    const other = leader === 'replica-1' ? 'replica-2' : 'replica-1';
    await waitFor(async () => (await server(gatewayId))?.reporter === other, { message: 'the other replica publishes' });
  });

  it('resumes a run handed back by a stopping replica with agent.wait on another replica', async () => {
    const gatewayId = `gw${++n}`;
    const sim = await startGatewaySimulator({ token: TOKEN, tickIntervalMs: 1_000, agentStepMs: 10 });
    cleanups.push(() => sim.close());
    const first = await startAdapter(sim, gatewayId, { instance: 'replica-a' });
    await waitFor(() => first.client.connected);
    sim.setNextAgentOutcome({ status: 'ok', chunks: ['one ', 'two'], hold: true });
    const { record } = await submitRun(gatewayId, { agentId: 'main', message: 'long job' });
    const id = record.command!.id;
    await finished(id, CommandStatus.COMMAND_STATUS_RUNNING);
    await first.worker.stop(100); // hands the in-flight command back, as a replica that goes away does
    await first.stopNow();
    const second = await startAdapter(sim, gatewayId, { instance: 'replica-b' });
    await waitFor(() => second.client.connected);
    sim.releaseRuns();
    const done = await finished(id, CommandStatus.COMMAND_STATUS_SUCCEEDED);
    expect(done.transitions.at(-1)).toMatchObject({ by: 'replica-b', message: `run ${id} finished (confirmed with agent.wait)` });
    expect(sim.agentCalls(id)).toBe(1);
  });
});
