import type { CommandContext, CommandHandler, CommandOutcome } from '@molten/bus';
import type { CommandError } from '@molten/contracts';
import { validateToolArguments } from '@molten/mcp-client/tool-arguments';
import type { ProxmoxMcpClient } from './proxmox-mcp/client.js';
import { UpstreamError } from './upstream-error.js';

export interface ToolCallHandlerOptions {
  client: ProxmoxMcpClient;
  /** The UpstreamServer id the api addresses (`proxmox-mcp-<cluster>`, or `pve-…`-less: the driver's own). */
  serverId: string;
  /** Words for messages, e.g. "ProxmoxMCP-Plus (homelab)". */
  name: string;
  /** Time kept back from the command's deadline to record the outcome (default 500 ms). */
  marginMs?: number;
  /** How long a command waits for a server that is still connecting (default 10 s, within its deadline). */
  connectWaitMs?: number;
}

/**
 * ProxmoxMCP-Plus's tools that only read: calling one again to learn a lost outcome is harmless.
 * The server marks none of its tools with MCP annotations, so this goes by their names.
 */
export function isReadOnlyTool(name: string): boolean {
  return /^(get_|list_)/.test(name) || name === 'poll_job';
}

/**
 * Runs `tool-call` commands on the ProxmoxMCP-Plus server, over whichever transport it is
 * reached by, with the homelab-adapter's result shape: the arguments checked against the tool's
 * input schema first (nothing is sent otherwise), the call recorded right before it is sent,
 * `resultJson` = `{content, structuredContent?, isError}` as the server returned it, and isError
 * ending the command failed with `tool_error`.
 */
export class ToolCallHandler implements CommandHandler {
  readonly #o: Required<ToolCallHandlerOptions>;

  constructor(o: ToolCallHandlerOptions) {
    this.#o = { marginMs: 500, connectWaitMs: 10_000, ...o };
  }

  execute(ctx: CommandContext): Promise<CommandOutcome> {
    return this.#call(ctx);
  }

  /** The call may have run: only a read-only tool is called again; anything else stays uncertain. */
  async resume(ctx: CommandContext): Promise<CommandOutcome> {
    const parsed = this.#parse(ctx);
    if ('outcome' in parsed) return parsed.outcome;
    if (isReadOnlyTool(parsed.tool)) {
      ctx.log.info({ tool: parsed.tool }, 'the tool only reads: calling it again to learn the outcome');
      return this.#call(ctx);
    }
    const message = `${parsed.tool} was sent to ${this.#o.name} but its answer was lost; ProxmoxMCP-Plus cannot give a call's result back, and ${parsed.tool} changes things, so it is not sent again`;
    return {
      status: 'uncertain',
      message,
      error: commandError('connection_lost', message, { remedy: `Check on ${this.#o.name} whether ${parsed.tool} took effect (list_jobs shows the jobs it started), then submit it again if it did not.` }),
    };
  }

  async #call(ctx: CommandContext): Promise<CommandOutcome> {
    const parsed = this.#parse(ctx);
    if ('outcome' in parsed) return parsed.outcome;
    const { tool: toolName, args } = parsed;
    const { client, name } = this.#o;
    if (this.#budget(ctx) <= 0) return timedOut(`the deadline passed before ${toolName} could be called; nothing was sent`);
    if (!client.health.usable && client.health.status !== 'auth_failed') await client.whenReady(Math.min(this.#o.connectWaitMs, this.#budget(ctx)), ctx.signal);

    const tool = client.tools.find((t) => t.name === toolName);
    if (!tool) {
      const h = client.health;
      if (!client.toolsKnown || !h.usable) {
        const message = `${name} is ${h.status.replace('_', ' ')}: ${h.reason}; ${toolName} was not called`;
        return { status: 'failed', message, error: commandError(h.status === 'auth_failed' ? 'auth' : 'unreachable', message, { remedy: h.remedy }) };
      }
      const message = `${name} has no tool "${toolName}" (it offers: ${client.tools.map((t) => t.name).join(', ') || 'none'})`;
      return { status: 'failed', message, error: commandError('not_found', message, { remedy: 'Pick one of the tools the server lists (GET /api/servers).' }) };
    }
    const check = validateToolArguments(tool.inputSchema, args);
    if (!check.ok) {
      const detail = check.errors.map((e) => `${e.path || '(arguments)'} ${e.message}`).join('; ');
      const message = `the arguments do not match the input schema of ${toolName}: ${detail}; nothing was sent`;
      return {
        status: 'failed',
        message,
        error: commandError('invalid', message, { fields: Object.fromEntries(check.errors.map((e) => [e.path || '(arguments)', e.message])), remedy: `Correct the arguments; the schema is in the tool list of ${name}.` }),
      };
    }

    let answer;
    try {
      answer = await client.call(toolName, args, {
        timeoutMs: this.#budget(ctx),
        signal: ctx.signal,
        mutating: !isReadOnlyTool(toolName),
        beforeSend: async () => {
          await ctx.beforeUpstreamCall();
          await ctx.running('', `calling ${toolName} on ${name}`);
        },
      });
    } catch (err) {
      return this.#failure(err, toolName);
    }
    const resultJson = JSON.stringify({ ...answer.result, isError: answer.isError });
    if (answer.isError) {
      const text = truncate(answer.text) || `${toolName} reported an error without a message`;
      return { status: 'failed', message: `${toolName} reported an error: ${text}`, resultJson, error: commandError('tool_error', text) };
    }
    return { status: 'succeeded', message: `${toolName} on ${name} done`, resultJson };
  }

  #failure(err: unknown, tool: string): CommandOutcome {
    const e = err instanceof UpstreamError ? err : new UpstreamError({ code: 'upstream', message: String((err as Error)?.message ?? err) });
    const upstreamStatus = e.status ? String(e.status) : '';
    if (e.outcomeUnknown) {
      return {
        status: 'uncertain',
        message: `${e.message}; ${tool} was sent, and whether it ran is unknown`,
        error: commandError('connection_lost', e.message, { remedy: `Check on ${this.#o.name} whether ${tool} took effect.`, upstreamStatus }),
      };
    }
    if (e.code === 'timeout') return timedOut(`${tool} did not answer before the command's deadline (${e.message})`);
    return { status: 'failed', message: e.message, error: commandError(e.code, e.message, { remedy: e.remedy, upstreamStatus, fields: e.fields }) };
  }

  #parse(ctx: CommandContext): { tool: string; args: Record<string, unknown> } | { outcome: CommandOutcome } {
    const p = ctx.command.payload;
    if (p?.$case !== 'toolCall') return invalid(`a tool-call command needs a toolCall payload, not ${p?.$case ?? 'none'}`);
    const { serverId, tool, argumentsJson } = p.value;
    if (serverId !== this.#o.serverId) return invalid(`the command is for server "${serverId}", but this adapter serves "${this.#o.serverId}"`);
    let args: unknown;
    try {
      args = argumentsJson ? JSON.parse(argumentsJson) : {};
    } catch {
      return invalid('argumentsJson is not JSON');
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return invalid('the arguments must be a JSON object');
    return { tool, args: args as Record<string, unknown> };
  }

  #budget(ctx: CommandContext): number {
    return ctx.command.deadlineMs - Date.now() - this.#o.marginMs;
  }
}

/**
 * One handler for the adapter's command consumer: `tool-call` commands to the tool-call handler
 * (when a ProxmoxMCP-Plus server is configured), every other action to the power handler.
 */
export function dispatchByAction(o: { power: CommandHandler; toolCalls: CommandHandler | undefined }): CommandHandler {
  const noServer: CommandHandler = {
    async execute() {
      const message = 'this proxmox-adapter has no ProxmoxMCP-Plus server to call tools on (set PROXMOX_MCP_URL)';
      return { status: 'failed', message, error: commandError('unsupported', message) };
    },
    async resume(ctx) {
      return this.execute(ctx);
    },
  };
  const pick = (ctx: CommandContext) => (ctx.command.action === 'tool-call' ? (o.toolCalls ?? noServer) : o.power);
  return {
    execute: (ctx) => pick(ctx).execute(ctx),
    resume: (ctx) => pick(ctx).resume(ctx),
  };
}

function invalid(message: string): { outcome: CommandOutcome } {
  return { outcome: { status: 'failed', message, error: commandError('invalid', message) } };
}

function timedOut(message: string): CommandOutcome {
  return { status: 'timed_out', message, error: commandError('deadline', message) };
}

function truncate(text: string, max = 2_000): string {
  const t = text.trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function commandError(code: string, message: string, extra: { remedy?: string; upstreamStatus?: string; fields?: Record<string, string> } = {}): CommandError {
  return { code, message, upstreamStatus: extra.upstreamStatus ?? '', remedy: extra.remedy ?? '', privilege: '', fields: extra.fields ?? {} };
}
