import type { CommandContext, CommandHandler, CommandOutcome } from '@molten/bus';
import type { CommandError } from '@molten/contracts';
import { McpCallError, isSafeToRepeat, validateToolArguments, type CallToolResult, type McpConnection } from '@molten/mcp-client';

export interface ToolCallHandlerOptions {
  conn: McpConnection;
  /** The server's name and UpstreamServer id (a command may name either). */
  name: string;
  serverId: string;
  /** Time kept back from the command's deadline to record the outcome (default 500 ms). */
  marginMs?: number;
  /** How long a command waits for a server that is not connected (default 10 s, within its deadline). */
  connectWaitMs?: number;
}

type Parsed = { ok: true; tool: string; args: Record<string, unknown> } | { ok: false; outcome: CommandOutcome };

/**
 * Runs `tool-call` commands against one MCP server: checks the arguments against the tool's
 * input schema (nothing is sent when they do not match), records the upstream call right before
 * it is sent, calls the tool within the command's deadline, and acknowledges with the result as
 * the server returned it.
 */
export class ToolCallHandler implements CommandHandler {
  readonly #o: Required<ToolCallHandlerOptions>;

  constructor(o: ToolCallHandlerOptions) {
    this.#o = { marginMs: 500, connectWaitMs: 10_000, ...o };
  }

  execute(ctx: CommandContext): Promise<CommandOutcome> {
    return this.#call(ctx);
  }

  /**
   * The call was sent before the replica that made it stopped (or its answer was lost). MCP has
   * no way to read back a call's outcome, so the tool runs again only when the server says that
   * is harmless (readOnlyHint or idempotentHint); otherwise the command stays uncertain.
   */
  async resume(ctx: CommandContext): Promise<CommandOutcome> {
    const parsed = this.#parse(ctx);
    if (!parsed.ok) return parsed.outcome;
    const { conn, name } = this.#o;
    if (!conn.toolsKnown) await conn.whenConnected(Math.min(this.#o.connectWaitMs, this.#budget(ctx)), ctx.signal);
    const tool = conn.tool(parsed.tool);
    if (tool && isSafeToRepeat(tool)) {
      ctx.log.info({ tool: parsed.tool }, 'the tool is read-only or idempotent: calling it again to learn the outcome');
      return this.#call(ctx);
    }
    const why = !conn.toolsKnown
      ? `"${name}" is ${conn.health.status.replace('_', ' ')}, so whether ${parsed.tool} is safe to repeat cannot be checked`
      : `${parsed.tool} is not marked read-only or idempotent, so it is not sent again`;
    const message = `${parsed.tool} was sent to "${name}" but its outcome was lost (a replica stopped or the connection broke); MCP cannot read back a call's result, and ${why}`;
    return {
      status: 'uncertain',
      message,
      error: commandError('connection_lost', message, {
        remedy: `Check on "${name}" whether ${parsed.tool} took effect (a read-only tool may tell), then submit the call again if it did not.`,
      }),
    };
  }

  async #call(ctx: CommandContext): Promise<CommandOutcome> {
    const parsed = this.#parse(ctx);
    if (!parsed.ok) return parsed.outcome;
    const { conn, name } = this.#o;
    const { tool: toolName, args } = parsed;
    if (this.#budget(ctx) <= 0) return timedOut(`the deadline passed before ${toolName} could be called; nothing was sent`);

    // Starting up or reconnecting: worth a short wait. Refused credentials: not.
    if (!conn.health.usable && conn.health.status !== 'auth_failed') await conn.whenConnected(Math.min(this.#o.connectWaitMs, this.#budget(ctx)), ctx.signal);
    const tool = conn.tool(toolName);
    if (!tool) {
      if (!conn.toolsKnown || !conn.health.usable) {
        const h = conn.health;
        const message = `"${name}" is ${h.status.replace('_', ' ')}: ${h.reason}; ${toolName} was not called`;
        return { status: 'failed', message, error: commandError(h.status === 'auth_failed' ? 'auth' : 'unreachable', message, { remedy: h.remedy }) };
      }
      const offered = conn.tools.map((t) => t.name).join(', ') || 'none';
      const message = `"${name}" has no tool "${toolName}" (it offers: ${offered})`;
      return { status: 'failed', message, error: commandError('not_found', message, { remedy: 'Pick one of the tools the server lists (GET /api/servers).' }) };
    }

    const check = validateToolArguments(tool.inputSchema, args);
    if (!check.ok) {
      const detail = check.errors.map((e) => `${e.path || '(arguments)'} ${e.message}`).join('; ');
      const message = `the arguments do not match the input schema of ${toolName}: ${detail}; nothing was sent`;
      return {
        status: 'failed',
        message,
        error: commandError('invalid', message, {
          fields: Object.fromEntries(check.errors.map((e) => [e.path || '(arguments)', e.message])),
          remedy: `Correct the arguments; the schema is in the tool list of "${name}".`,
        }),
      };
    }
    if (check.unchecked) ctx.log.warn({ tool: toolName, reason: check.unchecked }, 'arguments not checked; the server will judge them');

    let result: CallToolResult;
    try {
      result = await conn.callTool(toolName, args, {
        timeoutMs: this.#budget(ctx),
        signal: ctx.signal,
        beforeSend: async () => {
          await ctx.beforeUpstreamCall();
          await ctx.running('', `calling ${toolName} on "${name}"`);
        },
        onProgress: (p) => {
          const text = `${p.message ?? toolName}${p.total ? ` (${p.progress}/${p.total})` : ` (${p.progress})`}`;
          void ctx.progress('tool', text).catch(() => {});
        },
      });
    } catch (err) {
      if (!(err instanceof McpCallError)) throw err;
      return this.#failure(err, toolName);
    }

    // As the server returned it; isError spelled out, since absent means false.
    const resultJson = JSON.stringify({ ...result, isError: result.isError === true });
    if (result.isError) {
      const text = textOf(result) || `${toolName} reported an error without a message`;
      return { status: 'failed', message: `${toolName} reported an error: ${text}`, resultJson, error: commandError('tool_error', text) };
    }
    return { status: 'succeeded', message: `${toolName} on "${name}" done`, resultJson };
  }

  #failure(err: McpCallError, tool: string): CommandOutcome {
    const remedy = err.remedy;
    switch (err.kind) {
      case 'timeout':
        return err.delivered === 'no'
          ? timedOut(`the deadline passed before ${tool} could be sent; nothing was sent`)
          : timedOut(`${tool} did not answer before the command's deadline; it may still have run on the server`);
      case 'auth_failed':
        return { status: 'failed', message: err.message, error: commandError('auth', err.message, { remedy, upstreamStatus: status(err) }) };
      case 'not_connected':
        return { status: 'failed', message: err.message, error: commandError('unreachable', err.message, { remedy }) };
      case 'rate_limited':
        return { status: 'failed', message: err.message, error: commandError('rate_limited', err.message, { remedy, upstreamStatus: status(err) }) };
      case 'rejected': {
        const code = err.details.rpcCode === -32602 ? 'invalid' : err.details.rpcCode === -32601 ? 'unsupported' : 'upstream';
        return { status: 'failed', message: err.message, error: commandError(code, err.message, { upstreamStatus: status(err) }) };
      }
      case 'aborted':
      case 'connection_lost':
        if (err.delivered === 'no') return { status: 'failed', message: err.message, error: commandError('unreachable', err.message, { remedy }) };
        return {
          status: 'uncertain',
          message: `${err.message}; ${tool} was sent, and whether it ran is unknown`,
          error: commandError('connection_lost', err.message, { remedy: `Check on the server whether ${tool} took effect.` }),
        };
    }
  }

  #parse(ctx: CommandContext): Parsed {
    const p = ctx.command.payload;
    if (p?.$case !== 'toolCall') return invalid(`a tool-call command needs a toolCall payload, not ${p?.$case ?? 'none'}`);
    const { serverId, tool, argumentsJson } = p.value;
    if (serverId !== this.#o.serverId && serverId !== this.#o.name) {
      return invalid(`the command is for server "${serverId}" but was queued for "${this.#o.name}"`);
    }
    let args: unknown;
    try {
      args = argumentsJson ? JSON.parse(argumentsJson) : {};
    } catch {
      return invalid('argumentsJson is not JSON');
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return invalid('the arguments must be a JSON object');
    return { ok: true, tool, args: args as Record<string, unknown> };
  }

  #budget(ctx: CommandContext): number {
    return ctx.command.deadlineMs - Date.now() - this.#o.marginMs;
  }
}

function invalid(message: string): Parsed {
  return { ok: false, outcome: { status: 'failed', message, error: commandError('invalid', message) } };
}

function timedOut(message: string): CommandOutcome {
  return { status: 'timed_out', message, error: commandError('deadline', message) };
}

function status(err: McpCallError): string {
  return err.details.httpStatus ? String(err.details.httpStatus) : err.details.rpcCode ? String(err.details.rpcCode) : '';
}

export function commandError(
  code: string,
  message: string,
  extra: { remedy?: string; upstreamStatus?: string; fields?: Record<string, string> } = {},
): CommandError {
  return { code, message, upstreamStatus: extra.upstreamStatus ?? '', remedy: extra.remedy ?? '', privilege: '', fields: extra.fields ?? {} };
}

/** The text parts of a tool result, joined (what a person reads as its message). */
export function textOf(result: CallToolResult): string {
  const text = (result.content ?? [])
    .map((c) => (c.type === 'text' ? c.text : ''))
    .filter(Boolean)
    .join('\n')
    .trim();
  return text.length > 2_000 ? `${text.slice(0, 1_999)}…` : text;
}
