import type { CommandContext, CommandHandler, CommandOutcome } from '@molten/bus';
import { commandError, type Command, type CommandErrorCode } from '@molten/contracts';
import type { CallToolResult, McpTool } from '@molten/mcp-client';
import { validateToolArguments } from '@molten/mcp-client/tool-arguments';

/**
 * Runs `tool-call` commands against one MCP-like server, for every adapter that has one: the
 * homelab-adapter (its MCP servers, through McpConnection) and the proxmox-adapter
 * (ProxmoxMCP-Plus, over its REST bridge or native MCP). Imports only types of the MCP client,
 * so an adapter that reaches its server some other way does not load the MCP SDK for it.
 */

/** The server as the handler needs it; McpConnection is one as it is, other clients wrap themselves. */
export interface ToolCallClient {
  readonly health: { readonly status: string; readonly reason: string; readonly remedy: string; readonly usable: boolean };
  /** The tool catalog, as the server listed it. */
  readonly tools: readonly McpTool[];
  /** True once the catalog was read. */
  readonly toolsKnown: boolean;
  /**
   * Whether a call made now is sent at once (connected, and no limit of the client's holds it
   * back); without it, `health.usable` stands for it.
   */
  readonly sendsAtOnce?: boolean;
  tool(name: string): McpTool | undefined;
  /** Resolves true once connected with the catalog read (false after timeoutMs). */
  whenConnected(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /**
   * Calls the tool and returns its result as the server sent it (isError is a result). Throws
   * when there is no result; the handler's `classify` says what the error means.
   */
  callTool(name: string, args: Record<string, unknown>, opts: ToolCallOptions): Promise<CallToolResult>;
}

export interface ToolCallOptions {
  timeoutMs: number;
  signal: AbortSignal;
  /** Runs once, right before the request is sent. */
  beforeSend: () => Promise<void>;
  /** Progress the server reports for this call (a client that has none never calls it). */
  onProgress?: (p: { progress: number; total?: number; message?: string }) => void;
}

/** What a call that produced no result means for the command. */
export interface CallFailure {
  /** The CommandError code; `deadline` ends the command timed_out (its message says whether the call may have run). */
  code: CommandErrorCode;
  message: string;
  remedy?: string;
  upstreamStatus?: string;
  fields?: Record<string, string>;
  /**
   * Whether the call may have taken effect: `no` (it was not sent, or refused before it ran, or
   * it only reads), `yes` (the server received it and answered: that answer is the outcome),
   * `maybe` (it may have run and nothing says whether: the command ends uncertain).
   */
  delivered: 'no' | 'maybe' | 'yes';
}

/** How messages name the server and what they tell people to do. */
export interface ToolCallWords {
  /** The server as messages name it, quotes and all: `"docker"`, `ProxmoxMCP-Plus (homelab)`. */
  server: string;
  /** The message for a command addressed to another server. */
  wrongServer(serverId: string): string;
  /** Why a call whose outcome was lost is not sent again, and what to do instead. */
  notRepeated(tool: string): { message: string; remedy: string };
}

export interface ToolCallHandlerOptions {
  client: ToolCallClient;
  /** The ids a command may address this server by. */
  serverIds: readonly string[];
  words: ToolCallWords;
  /**
   * Whether calling the tool again to learn a lost outcome is harmless. `catalogEntry` gives the
   * tool's catalog entry, waiting briefly for the catalog if it is not known yet; a policy that
   * goes by name alone need not ask.
   */
  canRepeat(tool: string, catalogEntry: () => Promise<McpTool | undefined>): boolean | Promise<boolean>;
  /** What an error thrown by callTool means; undefined rethrows it. */
  classify(err: unknown, tool: string): CallFailure | undefined;
  /** Time kept back from the command's deadline to record the outcome (default 500 ms). */
  marginMs?: number;
  /** How long a command waits for a server that is not connected (default 10 s, within its deadline). */
  connectWaitMs?: number;
  /**
   * One write before the call instead of three in a row: while the server is connected with its
   * catalog read (nothing slow to wait for before the call), a command is accepted, its call
   * marked and the command moved to running in one compare-and-set (see
   * CommandHandler.acceptsWithCall). A crash after that write leaves the command running with its
   * call marked: resumed, never sent again unless `canRepeat` says so. Default false.
   */
  oneWriteBeforeCall?: boolean;
  /**
   * Whether a tool only reads (calling it twice does no harm). Such a call is sent at once,
   * beside the write that accepts it and marks it, instead of after it: the mark exists so that a
   * crash never sends a call twice, which a read can afford. Only with oneWriteBeforeCall. Any
   * other tool is sent only once that write landed. Default: none.
   */
  readOnly?(tool: McpTool): boolean;
}

type Parsed = { ok: true; tool: string; args: Record<string, unknown> } | { ok: false; outcome: CommandOutcome };

/**
 * Checks the arguments against the tool's input schema (nothing is sent when they do not match),
 * records the upstream call right before it is sent, calls the tool within the command's
 * deadline, and acknowledges with `resultJson` = `{content, structuredContent?, isError}` as the
 * server returned it; an isError result ends the command failed with `tool_error`.
 */
export class ToolCallHandler implements CommandHandler {
  readonly #o: Required<ToolCallHandlerOptions>;
  /** Commands accepted with their call (acceptsWithCall) whose call has not gone out yet. */
  readonly #acceptingWithCall = new Set<string>();

  constructor(o: ToolCallHandlerOptions) {
    this.#o = { oneWriteBeforeCall: false, readOnly: () => false, ...o, marginMs: o.marginMs ?? 500, connectWaitMs: o.connectWaitMs ?? 10_000 };
  }

  /**
   * With oneWriteBeforeCall, while the call would go out at once (the client sends at once, and
   * lists the tool): execute() then waits on nothing before its call, so the write that marks the
   * call accepts the command too. Never while another command taken this way has not sent its call
   * yet: two taken in the same moment could find one free request slot, and the second would wait
   * for it unaccepted (where the api times out commands no adapter took); it is accepted on its own.
   */
  acceptsWithCall(command: Command): boolean {
    if (!this.#o.oneWriteBeforeCall || this.#acceptingWithCall.size > 0) return false;
    const p = command.payload;
    const { client } = this.#o;
    const atOnce = client.sendsAtOnce ?? client.health.usable;
    if (p?.$case !== 'toolCall' || !atOnce || client.tool(p.value.tool) === undefined) return false;
    this.#acceptingWithCall.add(command.id);
    return true;
  }

  execute(ctx: CommandContext): Promise<CommandOutcome> {
    return this.#call(ctx).finally(() => this.#acceptingWithCall.delete(ctx.command.id));
  }

  /**
   * The call was sent before the replica that made it stopped (or its answer was lost), and
   * there is no way to read back a call's outcome: the tool runs again only when that is
   * harmless; otherwise the command stays uncertain.
   */
  async resume(ctx: CommandContext): Promise<CommandOutcome> {
    this.#acceptingWithCall.delete(ctx.command.id);
    const parsed = this.#parse(ctx);
    if (!parsed.ok) return parsed.outcome;
    const { client, words } = this.#o;
    const catalogEntry = async () => {
      if (!client.toolsKnown) await client.whenConnected(Math.min(this.#o.connectWaitMs, this.#budget(ctx)), ctx.signal);
      return client.tool(parsed.tool);
    };
    if (await this.#o.canRepeat(parsed.tool, catalogEntry)) {
      ctx.log.info({ tool: parsed.tool }, 'the tool is safe to repeat: calling it again to learn the outcome');
      return this.#call(ctx);
    }
    const { message, remedy } = words.notRepeated(parsed.tool);
    return { status: 'uncertain', message, error: commandError('connection_lost', message, { remedy }) };
  }

  async #call(ctx: CommandContext): Promise<CommandOutcome> {
    const parsed = this.#parse(ctx);
    if (!parsed.ok) return parsed.outcome;
    const { client } = this.#o;
    const server = this.#o.words.server;
    const { tool: toolName, args } = parsed;
    if (this.#budget(ctx) <= 0) return timedOut(`the deadline passed before ${toolName} could be called; nothing was sent`);

    // Starting up or reconnecting: worth a short wait. Refused credentials: not.
    if (!client.health.usable && client.health.status !== 'auth_failed') await client.whenConnected(Math.min(this.#o.connectWaitMs, this.#budget(ctx)), ctx.signal);
    const tool = client.tool(toolName);
    if (!tool) {
      const h = client.health;
      if (!client.toolsKnown || !h.usable) {
        const message = `${server} is ${h.status.replace('_', ' ')}: ${h.reason}; ${toolName} was not called`;
        return { status: 'failed', message, error: commandError(h.status === 'auth_failed' ? 'auth' : 'unreachable', message, { remedy: h.remedy }) };
      }
      const offered = client.tools.map((t) => t.name).join(', ') || 'none';
      const message = `${server} has no tool "${toolName}" (it offers: ${offered})`;
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
          remedy: `Correct the arguments; the schema is in the tool list of ${server}.`,
        }),
      };
    }
    if (check.unchecked) ctx.log.warn({ tool: toolName, reason: check.unchecked }, 'arguments not checked; the server will judge them');

    let result: CallToolResult;
    const runningMessage = `calling ${toolName} on ${server}`;
    // The call is marked before it is sent (that is what keeps it from being sent twice); that it
    // runs is recorded in the same write (oneWriteBeforeCall) or while it is under way, and lands
    // before the outcome. A read is sent beside the mark: sent twice, it does no harm.
    const oneWrite = this.#o.oneWriteBeforeCall;
    const sentBeside = oneWrite && this.#o.readOnly(tool);
    let running: Promise<void> | undefined;
    try {
      result = await client.callTool(toolName, args, {
        timeoutMs: this.#budget(ctx),
        signal: ctx.signal,
        beforeSend: async () => {
          this.#acceptingWithCall.delete(ctx.command.id);
          if (oneWrite) {
            running = ctx.beforeUpstreamCall({ running: runningMessage });
            running.catch(() => {});
            if (!sentBeside) await running;
          } else {
            await ctx.beforeUpstreamCall();
            running = ctx.running('', runningMessage);
            running.catch(() => {});
          }
          ctx.mark?.('adapter.tool-sent');
        },
        onProgress: (p) => {
          const text = `${p.message ?? toolName}${p.total ? ` (${p.progress}/${p.total})` : ` (${p.progress})`}`;
          void ctx.progress('tool', text).catch(() => {});
        },
      });
    } catch (err) {
      await running;
      const failure = this.#o.classify(err, toolName);
      if (!failure) throw err;
      return outcomeOf(failure, toolName);
    }
    ctx.mark?.('adapter.tool-answered');
    await running;

    // As the server returned it; isError spelled out, since absent means false.
    const resultJson = JSON.stringify({ ...result, isError: result.isError === true });
    if (result.isError) {
      const text = textOf(result) || `${toolName} reported an error without a message`;
      return { status: 'failed', message: `${toolName} reported an error: ${text}`, resultJson, error: commandError('tool_error', text) };
    }
    return { status: 'succeeded', message: `${toolName} on ${server} done`, resultJson };
  }

  #parse(ctx: CommandContext): Parsed {
    const p = ctx.command.payload;
    if (p?.$case !== 'toolCall') return invalid(`a tool-call command needs a toolCall payload, not ${p?.$case ?? 'none'}`);
    const { serverId, tool, argumentsJson } = p.value;
    if (!this.#o.serverIds.includes(serverId)) return invalid(this.#o.words.wrongServer(serverId));
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

function outcomeOf(f: CallFailure, tool: string): CommandOutcome {
  const error = commandError(f.code, f.message, { remedy: f.remedy, upstreamStatus: f.upstreamStatus, fields: f.fields });
  if (f.code === 'deadline') return { status: 'timed_out', message: f.message, error };
  if (f.delivered === 'maybe') return { status: 'uncertain', message: `${f.message}; ${tool} was sent, and whether it ran is unknown`, error };
  return { status: 'failed', message: f.message, error };
}

function invalid(message: string): Parsed {
  return { ok: false, outcome: { status: 'failed', message, error: commandError('invalid', message) } };
}

function timedOut(message: string): CommandOutcome {
  return { status: 'timed_out', message, error: commandError('deadline', message) };
}

/** The text parts of a tool result, joined and trimmed (what a person reads as its message), at most 2,000 characters. */
export function textOf(result: CallToolResult): string {
  const text = (result.content ?? [])
    .map((c) => (c.type === 'text' ? c.text : ''))
    .filter(Boolean)
    .join('\n')
    .trim();
  return text.length > 2_000 ? `${text.slice(0, 1_999)}…` : text;
}
