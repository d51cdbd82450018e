import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TranscriptMessage } from '@molten/contracts';
import { DeviceIdentity, GatewayClient } from '@molten/moltbot-adapter';
import { agentAccepted, agentEvent, agentFinal, agentsList, chatEvent, droppedParts, helloOk, sessionsList } from '@molten/moltbot-adapter/protocol';
import { chatHistoryAnswer, sessionHistoryOf } from '@molten/moltbot-adapter/chat-history';
import { startGatewaySimulator } from '@molten/simulators/gateway';
import { NatsServer, freePort, testLogger, waitFor } from '@molten/testkit';
import { sseReader } from '../../services/api/src/test/api-fixture.js';
import { compareShapes, runSequence, schemaPaths, shapeOf, type Shape } from './openclaw/frame-shapes.js';
import { UNROUTED_MODEL, startOpenClawGateway, type OpenClawGateway } from './openclaw/gateway.js';
import { OPENCLAW_VERSION, ensureOpenClaw } from './openclaw/install.js';
import { startModelStandIn, type ModelStandIn } from './openclaw/model-stand-in.js';
import { startService, type ServiceProcess } from './support/processes.js';

const OPERATOR = 'openclaw-conformance-operator-token-01';
const GATEWAY_TOKEN = randomBytes(18).toString('base64url');
const MODEL_KEY = randomBytes(12).toString('hex');
/** What the gateway answers when a run's model has no credentials (openclaw 2026.9.6, verbatim). */
const NO_PROVIDER = 'No route-compatible authentication source is configured for openai.';
/** A prompt the model stand-in answers with a call of the gateway's `ls` tool first (then its reply). */
const TOOL_PROMPT = 'List your workspace, then say hello.';
const LS = { when: 'List your workspace', name: 'ls', arguments: { path: '.' } };

/**
 * Molten against the real OpenClaw gateway (npm `openclaw`, the version in tests/openclaw/,
 * installed by `npm run openclaw -- install` outside the repository): the gateway on a free
 * loopback port with a model stand-in of ours as its provider, a real nats-server, and the api
 * and the moltbot-adapter as the processes they run as in production. Then the simulator is held
 * against the real gateway: the same client gets frames of the same shape from both.
 * docs/openclaw-conformance.md says how to run it and what it costs.
 */
describe(`the real OpenClaw gateway ${OPENCLAW_VERSION}`, { timeout: 300_000 }, () => {
  let model: ModelStandIn;
  let gateway: OpenClawGateway;
  let nats: NatsServer;
  let api: ServiceProcess;
  let adapter: ServiceProcess;
  let apiUrl: string;
  let dir: string;

  const call = (p: string, init: RequestInit = {}) => fetch(`${apiUrl}${p}`, { ...init, headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json', ...init.headers } });
  const json = async (p: string, init: RequestInit = {}) => {
    const res = await call(p, init);
    return { status: res.status, body: (await res.json()) as any };
  };
  const run = async (agentId: string, message: string): Promise<string> => {
    const r = await json(`/api/agents/${agentId}/run`, { method: 'POST', body: JSON.stringify({ message }) });
    expect(r.status).toBe(202);
    return r.body.data.id;
  };
  const finished = (id: string) =>
    waitFor(
      async () => {
        const c = (await json(`/api/commands/${id}`)).body.data;
        return ['succeeded', 'failed', 'timed_out', 'uncertain'].includes(c?.status) ? c : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 200, message: `command ${id} ends` },
    );

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'molten-openclaw-conformance-'));
    // Instant after `npm test`'s install step; a first run here installs it (about a minute).
    const install = await ensureOpenClaw();
    model = await startModelStandIn({ apiKey: MODEL_KEY, chunkMs: 30, toolCall: LS });
    [gateway, nats] = await Promise.all([
      startOpenClawGateway({
        install,
        token: GATEWAY_TOKEN,
        providers: { molten: { baseUrl: model.baseUrl, apiKey: MODEL_KEY, models: [{ id: model.model, name: 'Molten model stand-in' }] } },
        agents: {
          main: { name: 'Main (model stand-in)', model: `molten/${model.model}`, identity: { name: 'Molty', theme: 'answers through the model stand-in', emoji: '🦞' } },
          unrouted: { name: 'No provider', model: UNROUTED_MODEL, identity: { name: 'Unrouted', theme: 'has a model without credentials', emoji: '🚫' } },
        },
      }),
      NatsServer.start(),
    ]);
    const [port, grpcPort] = [await freePort(), await freePort()];
    apiUrl = `http://127.0.0.1:${port}`;
    const common = { NATS_URL: nats.url, MOLTEN_DATA_DIR: dir, MOLTEN_HEARTBEAT_MS: '500' };
    api = startService('api', { ...common, MOLTEN_PORT: String(port), MOLTEN_GRPC_PORT: String(grpcPort), MOLTEN_TOKEN: OPERATOR });
    adapter = startService('moltbot-adapter', {
      ...common,
      MOLTBOT_URL: gateway.url,
      MOLTBOT_TOKEN: GATEWAY_TOKEN,
      MOLTBOT_GATEWAY_ID: 'openclaw',
      MOLTBOT_REFRESH_MS: '3000',
      MOLTEN_INSTANCE: 'moltbot-conformance',
    });
    await waitFor(async () => (await fetch(`${apiUrl}/api/health`).catch(() => undefined))?.ok, { timeoutMs: 60_000, message: `the api on ${apiUrl}` });
  }, 600_000);

  afterAll(async () => {
    await adapter?.stop();
    await api?.stop();
    await gateway?.stop();
    await model?.close();
    await nats?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connects to it and shows its version and agents through the api, with a quiet log', async () => {
    const server = await waitFor(
      async () => {
        const s = (await json('/api/servers/gateway-openclaw')).body.data;
        return s?.status === 'connected' ? s : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250, message: `gateway connected (adapter output: ${adapter.output().slice(-2_000)})` },
    );
    expect(server).toMatchObject({ kind: 'gateway', transport: 'websocket', version: OPENCLAW_VERSION, name: 'OpenClaw gateway (openclaw)', usable: true });
    expect(server.methods).toEqual(expect.arrayContaining(['agent', 'agent.wait', 'agents.list', 'sessions.list', 'health', 'cron.list']));

    const data = await waitFor(
      async () => {
        const d = (await json('/api/agents')).body.data;
        return d.agents.length === 2 && d.gateways[0]?.protocol === 4 ? d : undefined;
      },
      { timeoutMs: 60_000, message: 'agents published' },
    );
    expect(data.gateways[0]).toMatchObject({ id: 'openclaw', protocol: 4, version: OPENCLAW_VERSION, connection: 'connected' });
    expect(data.agents.map((a: { id: string; name: string; model: string; isDefault: boolean }) => [a.id, a.name, a.model, a.isDefault]).sort()).toEqual([
      // An agent is named by its identity (the name it answers with), else by its config name.
      ['main', 'Molty', `molten/${model.model}`, true],
      ['unrouted', 'Unrouted', UNROUTED_MODEL, false],
    ]);
    // A clean start says nothing above info (issue 13: no stale device-token warning, no dropped frames).
    expect(adapter.logs.filter((l) => (l.level as number) >= 40)).toEqual([]);
  });

  it('runs an agent task that succeeds, streaming the model’s reply while it is being written, and lists its session', async () => {
    const sse = sseReader(await call('/api/events'));
    try {
      await waitFor(() => sse.events.find((e) => e.event === 'snapshot'));
      model.holdAfterFirstChunk();
      const id = await run('main', 'Say hello to Molten.');
      const progress = () => sse.events.filter((e) => e.event === 'progress' && e.data.commandId === id);
      // The first chunk is on the dashboard while the model is still writing (it holds the rest).
      await waitFor(() => progress().some((e) => e.data.stream === 'assistant' && e.data.text.includes(model.reply[0]!.trim())), {
        timeoutMs: 180_000,
        message: 'the first chunk streamed',
      });
      expect((await json(`/api/commands/${id}`)).body.data.status).toBe('running');
      model.release();

      const done = await finished(id);
      expect(done.status, JSON.stringify(done)).toBe('succeeded');
      expect(done.result).toMatchObject({ runId: id, status: 'ok', summary: 'completed' });
      expect(progress().filter((e) => e.data.stream === 'assistant').map((e) => e.data.text).join('')).toBe(model.reply.join(''));
      const statuses = sse.events.filter((e) => e.event === 'command' && e.data.id === id).map((e) => e.data.status);
      expect(statuses).toEqual(['requested', 'accepted', 'running', 'succeeded']);
      expect(model.requests.at(-1)).toMatchObject({ model: model.model, stream: true });
    } finally {
      model.release();
      sse.close();
    }

    // The session shows the prompt first, then the reply once the gateway has recorded it.
    const session = await waitFor(
      async () => (await json('/api/agents')).body.data.sessions.find((s: { key: string; lastMessage: string }) => s.key === 'agent:main:main' && s.lastMessage === model.reply.join('')),
      { timeoutMs: 60_000, message: 'the run’s session listed with the reply' },
    );
    expect(session).toMatchObject({ gateway: 'openclaw', agentId: 'main' });
    expect(session.tokens).toBeGreaterThan(0);
  });

  it('ends a run whose model has no provider as failed, with the gateway’s own message', async () => {
    const done = await finished(await run('unrouted', 'hello'));
    expect(done.status).toBe('failed');
    expect(done.error.message).toBe(NO_PROVIDER);
  });

  it('shows a session’s transcript through the api: the prompt, the tool the model called and its result, the reply, each naming Molten’s run', async () => {
    const id = await run('main', TOOL_PROMPT);
    expect((await finished(id)).status).toBe('succeeded');
    const path = `/api/agents/sessions/openclaw/${encodeURIComponent('agent:main:main')}/history`;
    const mine = await waitFor(
      async () => {
        const r = await json(path);
        expect(r.status).toBe(200);
        const own = (r.body.data.messages as TranscriptMessage[]).filter((m) => m.runId === id);
        return own.at(-1)?.role === 'assistant' && own.length >= 4 ? own : undefined;
      },
      { timeoutMs: 60_000, message: 'the run’s messages in the transcript' },
    );
    expect(mine).toMatchObject([
      { role: 'user', text: TOOL_PROMPT },
      { role: 'assistant', stopReason: 'toolUse', toolCalls: [{ name: 'ls', argumentsJson: '{"path":"."}', argumentsTruncated: false }] },
      { role: 'tool', toolName: 'ls', isError: false, text: expect.stringContaining('AGENTS.md') },
      { role: 'assistant', text: model.reply.join(''), model: `molten/${model.model}` },
    ]);
    const [, call, result] = mine;
    expect(result!.toolCallId).toBe(call!.toolCalls[0]!.id);
    expect(mine.every((m) => m.timestampMs! > 1_700_000_000_000)).toBe(true);
    expect(model.requests.some((r) => r.calledTool === 'ls')).toBe(true);

    // A session the gateway does not know is an empty transcript; an unknown gateway a 404.
    const never = await json(`/api/agents/sessions/openclaw/${encodeURIComponent('agent:main:never-used')}/history`);
    expect(never).toMatchObject({ status: 200, body: { data: { messages: [], sessionId: '', hasMore: false } } });
    expect((await json(`/api/agents/sessions/elsewhere/${encodeURIComponent('agent:main:main')}/history`)).status).toBe(404);
  });

  it('the simulator (protocol 4) sends what the adapter reads in the real gateway’s shapes', async () => {
    const sim = await startGatewaySimulator({ token: GATEWAY_TOKEN, protocol: 4, tickIntervalMs: 30_000, agentStepMs: 20 });
    try {
      const real = await framesFrom({ url: gateway.url, okAgent: 'main', failingAgent: 'unrouted' });
      sim.setNextAgentOutcome(
        { status: 'ok', chunks: model.reply },
        { status: 'error', message: NO_PROVIDER },
        { status: 'ok', chunks: model.reply, tools: [{ name: LS.name, args: LS.arguments, result: '".git/"\n"AGENTS.md"' }] },
      );
      const simulated = await framesFrom({ url: sim.url, okAgent: 'main', failingAgent: 'main' });

      // The device-signed connect of a local backend gets no device token from either.
      expect(real.hello.auth?.deviceToken).toBeUndefined();
      const kinds = Object.keys(real.shapes) as Array<keyof typeof real.shapes>;
      const diffs = Object.fromEntries(kinds.map((k) => [k, compareShapes(real.shapes[k], simulated.shapes[k])]));
      const same = { mismatched: [], missingInSim: [], extraInSim: [] };
      expect(diffs).toEqual({
        hello: same,
        health: same,
        'agents.list': same,
        // The real gateway's sessions were made by these runs; the demo ones carry labels, titles and channels too.
        'sessions.list': { ...same, extraInSim: ['sessions[].label', 'sessions[].displayName', 'sessions[].derivedTitle', 'sessions[].channel'] },
        accepted: same,
        final: same,
        failed: same,
        'agent events': same,
        'chat events': same,
        'chat.history': same,
      });
      expect(simulated.sequences).toEqual(real.sequences);
      // Both record the same turns for the same runs: a reply; a tool call, its result, a reply; the note of a run that failed before it started.
      expect(simulated.transcripts).toEqual(real.transcripts);
      expect(real.transcripts).toEqual({ ok: ['user', 'assistant'], tool: ['user', 'assistant:ls', 'tool:ls', 'assistant'], failed: ['note:run-failed-before-reply'] });
      expect(real.historyDropped).toEqual([]);
    } finally {
      await sim.close();
    }
  });

  /** What the adapter's own client gets from a gateway: hello-ok, the reads, a run that succeeds, one that fails and one that calls a tool, then the sessions' chat.history. */
  async function framesFrom(o: { url: string; okAgent: string; failingAgent: string }) {
    const dataDir = mkdtempSync(path.join(dir, 'client-'));
    const log = testLogger('conformance-client');
    const client = new GatewayClient({ url: o.url, token: GATEWAY_TOKEN, gatewayId: 'shapes', device: await DeviceIdentity.open(dataDir, log), log, version: '0.1.0', instanceId: 'shapes' });
    const events: Array<{ event: string; payload: any }> = [];
    client.onEvent((event, payload) => (event === 'agent' || event === 'chat') && events.push({ event, payload }));
    client.start();
    try {
      expect(await client.waitConnected(60_000)).toBe(true);
      const hello = client.hello!;
      const health = await client.request('health');
      const agents = await client.request('agents.list');
      const runOnce = async (agentId: string, message = 'Say hello to Molten.') => {
        const runId = randomUUID();
        const frames: Array<{ event: string; payload: any } | { res: 'final' }> = [];
        const off = client.onEvent((event, payload) => (payload as { runId?: string })?.runId === runId && frames.push({ event, payload }));
        const answer = await client.requestTwoPhase('agent', { message, agentId, idempotencyKey: runId }, { onAccepted: () => {}, finalTimeoutMs: 180_000 });
        frames.push({ res: 'final' });
        // Events that trail the final answer are part of the sequence too.
        await waitFor(() => frames.some((f) => 'event' in f && f.event === 'chat' && ['final', 'error'].includes(f.payload.state)), { timeoutMs: 10_000, message: 'the run’s last chat event' });
        off();
        return { answer, runId, sequence: runSequence(frames) };
      };
      const ok = await runOnce(o.okAgent);
      const failed = await runOnce(o.failingAgent);
      const tool = await runOnce(o.okAgent, TOOL_PROMPT);
      expect(tool.answer.final.ok).toBe(true);
      expect(ok.answer.final.ok).toBe(true);
      expect(failed.answer.final).toMatchObject({ ok: false, error: { message: NO_PROVIDER } });
      const sessions = await client.request('sessions.list', { limit: 200, includeLastMessage: true, includeDerivedTitles: true });
      // chat.history as the adapter asks for it (protocol 4: with maxChars), of the sessions the runs went to,
      // once the gateway has recorded the last reply (it may come a moment after the run's answer).
      const keys = [...new Set([o.okAgent, o.failingAgent])].map((a) => `agent:${a}:main`);
      const read = async () => {
        const histories = await Promise.all(keys.map((sessionKey) => client.request('chat.history', { sessionKey, limit: 200, maxChars: 4_000 })));
        const parsed = histories.map((h) => chatHistoryAnswer.parse(h));
        const messages = parsed.flatMap((h, i) => sessionHistoryOf(h, { gateway: 'shapes', sessionKey: keys[i]!, limit: 200 }).messages);
        const turnOf = (runId: string) =>
          messages
            .filter((m) => m.runId === runId)
            .map((m) => (m.role === 'note' ? `note:${m.noteKind}` : m.toolCalls.length ? `${m.role}:${m.toolCalls.map((c) => c.name).join(',')}` : m.role === 'tool' ? `tool:${m.toolName}` : m.role));
        return { histories, parsed, transcripts: { ok: turnOf(ok.runId), tool: turnOf(tool.runId), failed: turnOf(failed.runId) } };
      };
      const { histories, parsed, transcripts } = await waitFor(
        async () => {
          const r = await read();
          return r.transcripts.ok.at(-1) === 'assistant' && r.transcripts.tool.at(-1) === 'assistant' && r.transcripts.failed.length > 0 ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, message: 'the runs recorded in their sessions' },
      );
      const historyDropped = parsed.flatMap((h) => droppedParts(h));
      const runEvents = (event: string) => ({ events: events.filter((e) => e.event === event).map((e) => e.payload) });
      const eventPaths = (schema: Parameters<typeof schemaPaths>[0], extra: string[] = []) => [...schemaPaths(schema), ...extra].map((p) => `events[].${p}`);
      const shapes = {
        hello: shapeOf(hello, schemaPaths(helloOk)),
        // The adapter keeps health whole (an object it publishes as JSON): its top-level keys are what the dashboard can read.
        health: shapeOf(health, ['ok', 'ts', 'defaultAgentId', 'agents', 'sessions', 'sessions.count']),
        'agents.list': shapeOf(agents, schemaPaths(agentsList)),
        'sessions.list': shapeOf(sessions, schemaPaths(sessionsList)),
        accepted: shapeOf(ok.answer.accepted, schemaPaths(agentAccepted)),
        final: shapeOf(ok.answer.final.payload, schemaPaths(agentFinal)),
        failed: shapeOf(failed.answer.final.payload, schemaPaths(agentFinal)),
        // The runner reads these of an agent event's data.
        'agent events': shapeOf(runEvents('agent'), eventPaths(agentEvent, ['data.phase', 'data.text', 'data.delta', 'data.error'])),
        'chat events': shapeOf(runEvents('chat'), eventPaths(chatEvent)),
        // What the adapter reads of chat.history, over both sessions.
        'chat.history': shapeOf({ histories }, schemaPaths(chatHistoryAnswer).map((p) => `histories[].${p}`)),
      } satisfies Record<string, Shape>;
      return { hello, shapes, sequences: { ok: ok.sequence, failed: failed.sequence }, transcripts, historyDropped };
    } finally {
      await client.stop();
    }
  }
});

