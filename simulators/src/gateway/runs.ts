/**
 * Agent runs: `agent` answers twice on one request id (accepted, then the outcome) with `agent`
 * and `chat` events in between; the idempotencyKey is the runId, and a repeated key is answered
 * from the dedupe cache instead of starting a second run; `agent.wait` reports a run's end.
 * The event sequence of each generation is the real one: v4 as openclaw 2026.9.6 streams it
 * (services/moltbot-adapter/fixtures/openclaw-2026.9.6/agent-run-*.json). A run that ends is
 * recorded in its session's transcript (transcripts.ts).
 */
import { randomUUID } from 'node:crypto';
import { sleep } from '@molten/kit';
import type { GatewayContext } from './context.js';
import type { Conn } from './connections.js';
import { DEFAULT_MODEL, demoReply } from './demo-data.js';
import { ERROR_CODES, agentParamsSchema, agentWaitParamsSchema, formatIssues, type ErrorShape } from './protocol.js';
import type { AgentOutcome, SimRunInfo } from './types.js';
import { agentOfSession } from './world.js';

interface Run {
  runId: string;
  idempotencyKey: string;
  agentId: string;
  sessionKey: string;
  message: string;
  status: 'running' | 'ok' | 'error';
  startedAt: number;
  endedAt?: number;
  error?: string;
  waiters: Set<() => void>;
}

type Cached = { ok: boolean; payload?: unknown; error?: ErrorShape };

export class AgentRuns {
  readonly #ctx: GatewayContext;
  readonly #outcomes: AgentOutcome[] = [];
  readonly #calls = new Map<string, number>();
  #runs = new Map<string, Run>();
  #dedupe = new Map<string, Cached>();
  #holds: Array<() => void> = [];
  /** Bumped by reset(): runs of a previous "process" stop streaming. */
  #generation = 0;

  constructor(ctx: GatewayContext) {
    this.#ctx = ctx;
  }

  /** The process is gone: its run registry and dedupe cache were in memory. */
  reset(): void {
    this.#generation++;
    this.#runs = new Map();
    this.#dedupe = new Map();
    this.release();
  }

  queueOutcomes(outcomes: AgentOutcome[]): void {
    this.#outcomes.push(...outcomes);
  }

  release(): void {
    const holds = this.#holds;
    this.#holds = [];
    for (const release of holds) release();
  }

  calls(idempotencyKey?: string): number {
    if (idempotencyKey !== undefined) return this.#calls.get(idempotencyKey) ?? 0;
    let n = 0;
    for (const v of this.#calls.values()) n += v;
    return n;
  }

  list(): SimRunInfo[] {
    return [...this.#runs.values()].map(({ runId, agentId, sessionKey, message, status }) => ({ runId, agentId, sessionKey, message, status }));
  }

  agent(conn: Conn, id: string, params: unknown): void {
    const { conns, world } = this.#ctx;
    const key = (params as { idempotencyKey?: unknown })?.idempotencyKey;
    if (typeof key === 'string' && key) this.#calls.set(key, (this.#calls.get(key) ?? 0) + 1);
    const r = agentParamsSchema.safeParse(params);
    if (!r.success) return conns.fail(conn, id, { code: ERROR_CODES.INVALID_REQUEST, message: `invalid agent params: ${formatIssues(r.error)}` });
    const p = r.data;
    const idem = p.idempotencyKey;
    const cached = this.#dedupe.get(idem);
    if (cached) return conns.respond(conn, id, cached.ok, cached.payload, cached.error);

    const sessionAgent = p.sessionKey ? agentOfSession(p.sessionKey) : undefined;
    const agentId = p.agentId ?? sessionAgent ?? world.defaultAgentId;
    if (!world.agents.some((a) => a.id === agentId)) {
      return conns.fail(conn, id, { code: ERROR_CODES.INVALID_REQUEST, message: `invalid agent params: unknown agent id "${agentId}"` });
    }
    if (p.agentId && p.sessionKey && sessionAgent !== p.agentId) {
      return conns.fail(conn, id, { code: ERROR_CODES.INVALID_REQUEST, message: `invalid agent params: agent "${p.agentId}" does not match session key agent "${sessionAgent}"` });
    }
    // The gateway uses the idempotency key as the run id (server-methods/agent.ts: runId = idem).
    const run: Run = {
      runId: idem,
      idempotencyKey: idem,
      agentId,
      sessionKey: p.sessionKey ?? `agent:${agentId}:main`,
      message: p.message,
      status: 'running',
      startedAt: Date.now(),
      waiters: new Set(),
    };
    this.#runs.set(run.runId, run);
    const accepted = this.#ctx.v4
      ? { runId: run.runId, sessionKey: run.sessionKey, agentId, status: 'accepted' as const, acceptedAt: Date.now() }
      : { runId: run.runId, status: 'accepted' as const, acceptedAt: Date.now() };
    // An in-flight ack, so a retried request does not start a second run.
    this.#dedupe.set(idem, { ok: true, payload: accepted });
    conns.respond(conn, id, true, accepted);
    void this.#play(run, this.#outcomes.shift() ?? { status: 'ok' }, conn, id, this.#generation);
  }

  async #play(run: Run, outcome: AgentOutcome, conn: Conn, reqId: string, generation: number): Promise<void> {
    const { conns, world, v4 } = this.#ctx;
    const step = outcome.stepMs ?? this.#ctx.options.agentStepMs ?? 40;
    const alive = () => generation === this.#generation;
    const who = v4 ? { sessionKey: run.sessionKey, agentId: run.agentId } : {};
    let seq = 0;
    const agentEvent = (stream: string, data: Record<string, unknown>) =>
      conns.broadcast('agent', { runId: run.runId, ...who, stream, data, seq: ++seq, ts: Date.now() }, { needsRead: true });
    let chatSeq = 0;
    const chatEvent = (state: string, extra: Record<string, unknown>) =>
      conns.broadcast('chat', { runId: run.runId, sessionKey: run.sessionKey, ...(v4 ? { agentId: run.agentId } : {}), seq: ++chatSeq, state, ...extra }, { needsRead: true });
    const message = (text: string) => ({ role: 'assistant', content: [{ type: 'text', text }], timestamp: Date.now() });
    const chunks = outcome.chunks ?? (outcome.status === 'ok' ? demoReply(run.agentId, run.message) : []);
    // openclaw 2026.9.6 resolves the model first; without a usable one the run fails before it starts.
    const failsBeforeStart = v4 && outcome.status === 'error' && chunks.length === 0;

    if (failsBeforeStart) agentEvent('lifecycle', { phase: 'model', provider: null, model: null });
    else {
      agentEvent('lifecycle', { phase: 'start', startedAt: run.startedAt });
      if (v4) agentEvent('lifecycle', { phase: 'model', provider: DEFAULT_MODEL.modelProvider, model: DEFAULT_MODEL.model });
    }
    let text = '';
    const hold = async () => {
      if (outcome.hold) await new Promise<void>((resolve) => this.#holds.push(resolve));
    };
    if (chunks.length === 0) await hold();
    for (const [i, chunk] of chunks.entries()) {
      await sleep(step);
      if (!alive()) return;
      text += chunk;
      agentEvent('assistant', { text, delta: chunk });
      chatEvent('delta', { ...(v4 ? { deltaText: chunk } : {}), message: message(text) });
      if (i === 0) await hold();
      if (!alive()) return;
    }
    const calls: Array<{ id: string; name: string; args: Record<string, unknown>; result: unknown }> = [];
    if (outcome.status === 'ok') {
      for (const tool of outcome.tools ?? []) {
        const toolCallId = `call_${randomUUID().slice(0, 8)}`;
        agentEvent('tool', { phase: 'start', name: tool.name, toolCallId, args: tool.args ?? {} });
        await sleep(step);
        if (!alive()) return;
        agentEvent('tool', { phase: 'result', name: tool.name, toolCallId, result: tool.result ?? null, isError: false });
        calls.push({ id: toolCallId, name: tool.name, args: tool.args ?? {}, result: tool.result ?? null });
      }
    }
    await sleep(step);
    if (!alive()) return;

    run.endedAt = Date.now();
    let final: Cached;
    if (outcome.status === 'ok') {
      run.status = 'ok';
      if (v4) {
        agentEvent('usage', { outputTokens: chunks.length });
        agentEvent('lifecycle', { phase: 'finishing', stopReason: 'stop', aborted: false, endedAt: run.endedAt });
        agentEvent('lifecycle', { phase: 'end', startedAt: run.startedAt, endedAt: run.endedAt, aborted: false, stopReason: 'stop' });
        chatEvent('final', { stopReason: 'stop', message: message(text) });
      } else {
        agentEvent('lifecycle', { phase: 'end', startedAt: run.startedAt, endedAt: run.endedAt });
        chatEvent('final', { message: message(text) });
      }
      const payloads = [{ text, ...(v4 ? { mediaUrl: null } : {}) }];
      final = {
        ok: true,
        payload: {
          runId: run.runId,
          status: 'ok',
          summary: outcome.summary ?? 'completed',
          result: outcome.result ?? {
            payloads,
            meta: { durationMs: run.endedAt - run.startedAt, agentMeta: { sessionId: randomUUID(), provider: DEFAULT_MODEL.modelProvider, model: DEFAULT_MODEL.model } },
          },
        },
      };
    } else {
      // v3 answers String(err) ("Error: …"); v4 answers the error's message.
      const errText = v4 ? outcome.message : `Error: ${outcome.message}`;
      run.status = 'error';
      run.error = errText;
      agentEvent('lifecycle', { phase: 'error', startedAt: run.startedAt, endedAt: run.endedAt, error: errText });
      chatEvent('error', { errorMessage: errText });
      final = { ok: false, payload: { runId: run.runId, status: 'error', summary: errText }, error: { code: ERROR_CODES.UNAVAILABLE, message: errText } };
    }
    this.#dedupe.set(run.idempotencyKey, final);
    // The second res goes to the connection that asked, if it is still there.
    if (conns.has(conn)) conns.respond(conn, reqId, final.ok, final.payload, final.error);
    world.transcripts.recordRun({
      sessionKey: run.sessionKey,
      sessionId: world.sessions.find((s) => s.key === run.sessionKey)?.sessionId,
      runId: run.runId,
      prompt: run.message,
      startedAt: run.startedAt,
      tools: calls,
      text,
      error: outcome.status === 'error' ? outcome.message : undefined,
      failedBeforeStart: failsBeforeStart,
    });
    world.touchSession(run.sessionKey, run.message, text || run.error || '');
    if (v4) conns.broadcast('sessions.changed', { sessionKey: run.sessionKey, reason: 'run' }, { needsRead: true });
    for (const w of run.waiters) w();
    run.waiters.clear();
  }

  agentWait(conn: Conn, id: string, params: unknown): void {
    const { conns } = this.#ctx;
    const r = agentWaitParamsSchema.safeParse(params);
    if (!r.success) return conns.fail(conn, id, { code: ERROR_CODES.INVALID_REQUEST, message: `invalid agent.wait params: ${formatIssues(r.error)}` });
    const runId = r.data.runId.trim();
    const timeoutMs = r.data.timeoutMs ?? 30_000;
    const answer = () => {
      const run = this.#runs.get(runId);
      if (!run || run.status === 'running') return conns.respond(conn, id, true, { runId, status: 'timeout' });
      conns.respond(conn, id, true, { runId, status: run.status, startedAt: run.startedAt, endedAt: run.endedAt, ...(run.error ? { error: run.error } : {}) });
    };
    const run = this.#runs.get(runId);
    if (run && run.status !== 'running') return answer();
    // Unknown runs are waited for too: the gateway cannot tell "not yet" from "never".
    const timer = setTimeout(() => {
      conn.waits.delete(timer);
      run?.waiters.delete(done);
      answer();
    }, timeoutMs);
    conn.waits.add(timer);
    const done = () => {
      clearTimeout(timer);
      conn.waits.delete(timer);
      answer();
    };
    run?.waiters.add(done);
  }
}
