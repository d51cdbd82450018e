import type { CommandContext, CommandHandler, CommandOutcome } from '@molten/bus';
import { commandError, type AgentRun, type CommandErrorCode } from '@molten/contracts';
import type { Logger } from '@molten/kit';
import { GatewayConnectionLost, GatewayNotConnected, GatewayRequestError, GatewayTimeout, type GatewayClient, type TwoPhaseAnswer } from './gateway-client.js';
import { ProgressCoalescer } from './progress.js';
import { agentEvent, agentFinal, agentWaitResult, chatEvent, issuesOf, preview, type GatewayError } from './protocol.js';

export interface AgentRunnerOptions {
  client: GatewayClient;
  log: Logger;
  /** How long a command waits for the gateway connection before it fails without having sent anything (10 s). */
  connectWaitMs?: number;
  /** Progress is flushed at most once per this interval (100 ms). */
  progressIntervalMs?: number;
  /** One agent.wait asks the gateway to hold the answer this long at most (25 s). */
  waitSliceMs?: number;
}

/** The resultJson of a finished agent-run command. */
export interface AgentRunResult {
  runId: string;
  status: string;
  summary: string;
  result: unknown;
  startedAt?: number;
  endedAt?: number;
}

const COMMAND_ERROR_CODES: Record<string, CommandErrorCode> = {
  INVALID_REQUEST: 'invalid',
  FORBIDDEN: 'forbidden',
  NOT_PAIRED: 'auth',
  NOT_LINKED: 'auth',
  UNAVAILABLE: 'upstream',
  AGENT_TIMEOUT: 'deadline',
};

function remedyFor(e: GatewayError): string {
  if (/missing scope: operator\.write/.test(e.message)) {
    return "the gateway did not grant this adapter operator.write; connect it with the gateway's token (MOLTBOT_TOKEN) so it gets the scopes it asks for";
  }
  if (/unknown agent id/.test(e.message)) return 'pick one of the agents the gateway lists (GET /api/agents)';
  return '';
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The text of a chat message: {content:[{type:"text",text}]}, {text} or a string. */
function textOf(message: unknown): string | undefined {
  if (typeof message === 'string') return message;
  if (!message || typeof message !== 'object') return undefined;
  const m = message as { text?: unknown; content?: unknown };
  if (typeof m.text === 'string') return m.text;
  if (Array.isArray(m.content)) {
    return m.content
      .map((c) => (c && typeof c === 'object' && (c as { type?: unknown }).type === 'text' ? str((c as { text?: unknown }).text) ?? '' : ''))
      .join('');
  }
  return undefined;
}

/**
 * Runs `agent-run` commands on the gateway. The command id is the run's idempotencyKey, so the
 * gateway itself refuses to start a second run for it; and a redelivered command is never sent
 * again: resume() follows the run with agent.wait.
 */
export class AgentRunner implements CommandHandler {
  readonly #client: GatewayClient;
  readonly #o: Required<Omit<AgentRunnerOptions, 'client' | 'log'>>;

  constructor(o: AgentRunnerOptions) {
    this.#client = o.client;
    this.#o = { connectWaitMs: o.connectWaitMs ?? 10_000, progressIntervalMs: o.progressIntervalMs ?? 100, waitSliceMs: o.waitSliceMs ?? 25_000 };
  }

  async execute(ctx: CommandContext): Promise<CommandOutcome> {
    const run = this.#payload(ctx);
    if (!run) return this.#noPayload(ctx);
    const deadline = ctx.command.deadlineMs;
    if (!(await this.#client.waitConnected(Math.min(this.#o.connectWaitMs, deadline - Date.now()), ctx.signal))) {
      return ctx.signal.aborted ? handedBack() : this.#notConnected('failed');
    }

    const follow = this.#follow(ctx, ctx.command.id);
    const params = {
      message: run.message,
      agentId: run.agentId,
      idempotencyKey: ctx.command.id,
      ...(run.sessionKey ? { sessionKey: run.sessionKey } : {}),
      ...(run.timeoutS > 0 ? { timeout: run.timeoutS } : {}),
    };
    let runId: string | undefined;
    let running: Promise<void> = Promise.resolve();
    await ctx.beforeUpstreamCall();
    try {
      const answer = await this.#client.requestTwoPhase('agent', params, {
        finalTimeoutMs: Math.max(1_000, deadline - Date.now()),
        signal: ctx.signal,
        onAccepted: (accepted) => {
          runId = accepted.runId;
          running = ctx.running(accepted.runId, `the gateway accepted the run (runId ${accepted.runId})`);
          follow.watch(accepted.runId, running);
        },
      });
      await running;
      await follow.close();
      return this.#outcomeOf(answer, runId);
    } catch (err) {
      await running.catch(() => {});
      await follow.close();
      if (ctx.signal.aborted) return handedBack();
      if (err instanceof GatewayNotConnected) return this.#notConnected('failed');
      const known = runId ?? (err as GatewayConnectionLost | GatewayTimeout).accepted?.runId;
      if (err instanceof GatewayConnectionLost) {
        const message = known
          ? `the connection to the gateway was lost while run ${known} was running; following it with agent.wait`
          : 'the connection to the gateway was lost before it answered agent; checking with agent.wait whether the run started';
        return { status: 'uncertain', message, error: commandError('connection_lost', message), upstreamTaskId: known };
      }
      if (err instanceof GatewayTimeout) {
        if (known) return this.#afterDeadline(ctx, known);
        const message = 'the gateway did not answer agent; checking with agent.wait whether the run started';
        return { status: 'uncertain', message, error: commandError('connection_lost', message) };
      }
      throw err;
    }
  }

  async resume(ctx: CommandContext): Promise<CommandOutcome> {
    if (!this.#payload(ctx)) return this.#noPayload(ctx);
    // The gateway uses the idempotencyKey (the command id) as the runId, so a run whose
    // accepted answer was lost can still be asked about.
    const recorded = ctx.record.upstreamTaskId;
    const runId = recorded || ctx.command.id;
    const deadline = ctx.command.deadlineMs;
    if (!(await this.#client.waitConnected(this.#o.connectWaitMs, ctx.signal))) {
      if (ctx.signal.aborted) return handedBack();
      const st = this.#client.state;
      const message = `the gateway is not connected (${st.reason}); run ${runId} will be checked again`;
      return { status: 'uncertain', message, error: commandError('connection_lost', message, { remedy: st.remedy }), upstreamTaskId: recorded || undefined };
    }
    const follow = this.#follow(ctx, runId);
    try {
      for (;;) {
        const slice = Math.max(0, Math.min(this.#o.waitSliceMs, deadline - Date.now()));
        const outcome = await this.#waitOnce(ctx, runId, slice);
        if (outcome) return outcome;
        if (Date.now() >= deadline) {
          const message = `the gateway reported no end of run ${runId} before the command's deadline`;
          return { status: 'timed_out', message, error: commandError('deadline', message), upstreamTaskId: recorded || undefined };
        }
      }
    } catch (err) {
      if (ctx.signal.aborted) return handedBack();
      if (err instanceof GatewayConnectionLost || err instanceof GatewayNotConnected || err instanceof GatewayTimeout || err instanceof GatewayRequestError) {
        const message = `could not read run ${runId} from the gateway (${err.message}); will check again`;
        return { status: 'uncertain', message, error: commandError('connection_lost', message), upstreamTaskId: recorded || undefined };
      }
      throw err;
    } finally {
      await follow.close();
    }
  }

  /** One agent.wait: the outcome when the run ended, undefined while it has not. */
  async #waitOnce(ctx: CommandContext, runId: string, timeoutMs: number): Promise<CommandOutcome | undefined> {
    const raw = await this.#client.request('agent.wait', { runId, timeoutMs }, { timeoutMs: timeoutMs + 10_000, signal: ctx.signal });
    const parsed = agentWaitResult.safeParse(raw);
    if (!parsed.success) {
      const message = `agent.wait answered in an unexpected shape (${issuesOf(parsed.error)}); will check again`;
      return { status: 'uncertain', message, error: commandError('upstream', message) };
    }
    const w = parsed.data;
    const result = (status: string, summary: string): string =>
      JSON.stringify({ runId, status, summary, result: null, startedAt: w.startedAt, endedAt: w.endedAt } satisfies AgentRunResult);
    if (w.status === 'ok') {
      return { status: 'succeeded', message: `run ${runId} finished (confirmed with agent.wait)`, resultJson: result('ok', 'completed'), upstreamTaskId: runId };
    }
    if (w.status === 'error') {
      const gw = w.error ?? 'the run failed';
      return { status: 'failed', message: `run ${runId} failed: ${gw}`, error: commandError('upstream', gw, { upstreamStatus: 'error' }), resultJson: result('error', gw), upstreamTaskId: runId };
    }
    return undefined;
  }

  async #afterDeadline(ctx: CommandContext, runId: string): Promise<CommandOutcome> {
    try {
      const outcome = await this.#waitOnce(ctx, runId, 0);
      if (outcome) return outcome;
    } catch {
      // Fall through: the deadline passed either way.
    }
    const message = `run ${runId} did not end before the command's deadline`;
    return { status: 'timed_out', message, error: commandError('deadline', message), upstreamTaskId: runId };
  }

  #outcomeOf(answer: TwoPhaseAnswer, acceptedRunId: string | undefined): CommandOutcome {
    const f = answer.final;
    if (!answer.accepted && !f.ok) {
      // Refused outright: nothing ran.
      const e = f.error ?? { code: 'UNKNOWN', message: 'the gateway refused the run without a reason' };
      return {
        status: 'failed',
        message: `the gateway refused the run: ${e.message}`,
        error: commandError(COMMAND_ERROR_CODES[e.code] ?? 'upstream', e.message, { upstreamStatus: e.code, remedy: remedyFor(e) }),
      };
    }
    const parsed = agentFinal.safeParse(f.payload ?? {});
    const p = parsed.success ? parsed.data : {};
    const runId = p.runId ?? acceptedRunId ?? '';
    const status = p.status ?? (f.ok ? 'ok' : 'error');
    const summary = p.summary ?? '';
    const resultJson = JSON.stringify({ runId, status, summary, result: p.result ?? null } satisfies AgentRunResult);
    if (f.ok && status === 'ok') {
      return { status: 'succeeded', message: `run ${runId} finished: ${summary || 'ok'}`, resultJson, upstreamTaskId: runId || undefined };
    }
    if (status === 'timeout') {
      const message = `the gateway timed run ${runId} out${summary ? `: ${summary}` : ''}`;
      return { status: 'timed_out', message, error: commandError('deadline', f.error?.message ?? message, { upstreamStatus: f.error?.code ?? status }), resultJson, upstreamTaskId: runId || undefined };
    }
    const gw = f.error?.message ?? (summary || `run ended with status ${status}`);
    return {
      status: 'failed',
      message: `run ${runId} failed: ${gw}`,
      error: commandError(f.error ? (COMMAND_ERROR_CODES[f.error.code] ?? 'upstream') : 'upstream', gw, { upstreamStatus: f.error?.code ?? status }),
      resultJson,
      upstreamTaskId: runId || undefined,
    };
  }

  #payload(ctx: CommandContext): AgentRun | undefined {
    const p = ctx.command.payload;
    return p?.$case === 'agentRun' ? p.value : undefined;
  }

  #noPayload(ctx: CommandContext): CommandOutcome {
    const message = `agent-run needs an agentRun payload; got ${ctx.command.payload?.$case ?? 'none'}`;
    return { status: 'failed', message, error: commandError('invalid', message) };
  }

  #notConnected(status: 'failed'): CommandOutcome {
    const st = this.#client.state;
    const message = `the agent gateway is not connected: ${st.reason}`;
    return { status, message, error: commandError(st.phase === 'auth_failed' ? 'auth' : 'upstream', message, { remedy: st.remedy }) };
  }

  /** Streams the run's agent/chat events into command progress while the command waits. */
  #follow(ctx: CommandContext, firstRunId: string) {
    const runIds = new Set([firstRunId]);
    // Output waits for the running transition, so no one sees a run's text before it is "running".
    let gate: Promise<void> = Promise.resolve();
    const progress = new ProgressCoalescer(
      async (stream, text) => {
        await gate.catch(() => {});
        await ctx.progress(stream, text);
      },
      ctx.log,
      this.#o.progressIntervalMs,
    );
    let assistant = '';
    let chat = '';
    let sawAssistant = false;
    let sawEnd = false;
    const off = this.#client.onEvent((event, payload) => {
      if (event === 'agent') {
        const e = agentEvent.safeParse(payload);
        if (!e.success || !runIds.has(e.data.runId)) return;
        const d = e.data.data ?? {};
        switch (e.data.stream) {
          case 'assistant': {
            sawAssistant = true;
            const text = str(d.text);
            let delta = str(d.delta);
            if (delta === undefined && text !== undefined) delta = text.startsWith(assistant) ? text.slice(assistant.length) : text;
            assistant = text ?? assistant + (delta ?? '');
            progress.push('assistant', delta ?? '');
            return;
          }
          case 'tool':
            progress.push('tool', `${`${str(d.name) ?? 'tool'} ${str(d.phase) ?? ''}`.trim()}\n`);
            return;
          case 'lifecycle': {
            const phase = str(d.phase) ?? 'update';
            // openclaw 2026.9 also reports its inner steps (model, finishing): not the run's story.
            if (phase !== 'start' && phase !== 'end' && phase !== 'error') return;
            if (phase === 'end' || phase === 'error') sawEnd = true;
            const error = str(d.error);
            progress.push('lifecycle', error ? `${phase}: ${error}\n` : `${phase}\n`);
            return;
          }
          case 'usage':
            // Token accounting (openclaw 2026.9), not output.
            return;
          default:
            progress.push('log', `${e.data.stream}: ${preview(JSON.stringify(d), 300)}\n`);
        }
      } else if (event === 'chat') {
        const c = chatEvent.safeParse(payload);
        if (!c.success || !runIds.has(c.data.runId)) return;
        // chat repeats the assistant stream; it only speaks for runs that stream no agent text.
        if ((c.data.state === 'delta' || c.data.state === 'final') && !sawAssistant) {
          const text = textOf(c.data.message);
          if (text === undefined) return;
          progress.push('assistant', text.startsWith(chat) ? text.slice(chat.length) : text);
          chat = text;
        } else if ((c.data.state === 'error' || c.data.state === 'aborted') && !sawEnd) {
          progress.push('lifecycle', c.data.errorMessage ? `${c.data.state}: ${c.data.errorMessage}\n` : `${c.data.state}\n`);
        }
      }
    });
    return {
      watch: (runId: string, running?: Promise<void>) => {
        runIds.add(runId);
        if (running) gate = running;
      },
      close: async () => {
        off();
        await progress.close();
      },
    };
  }
}

function handedBack(): CommandOutcome {
  return { status: 'uncertain', message: 'the adapter is stopping; the run is handed to another replica' };
}
