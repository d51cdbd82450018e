import type { CommandContext, CommandHandler } from '@molten/bus';
import { commandError } from '@molten/contracts';
import { ToolCallHandler as SharedToolCallHandler, type CallFailure, type ToolCallClient } from '@molten/mcp-bridge';
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
 * reached by, with the shared handler of @molten/mcp-bridge: the
 * arguments checked against the tool's input schema first (nothing is sent otherwise), the call
 * recorded right before it is sent, `resultJson` = `{content, structuredContent?, isError}` as
 * the server returned it, and isError ending the command failed with `tool_error`. On resume
 * only a read-only tool is called again; anything else stays uncertain.
 */
export class ToolCallHandler extends SharedToolCallHandler {
  constructor({ client, serverId, name, marginMs, connectWaitMs }: ToolCallHandlerOptions) {
    super({
      client: asToolCallClient(client),
      serverIds: [serverId],
      marginMs,
      connectWaitMs,
      canRepeat: (tool) => isReadOnlyTool(tool),
      classify: (err, tool) => failureOf(err, tool, name),
      words: {
        server: name,
        wrongServer: (asked) => `the command is for server "${asked}", but this adapter serves "${serverId}"`,
        notRepeated: (tool) => ({
          message: `${tool} was sent to ${name} but its answer was lost; ProxmoxMCP-Plus cannot give a call's result back, and ${tool} changes things, so it is not sent again`,
          remedy: `Check on ${name} whether ${tool} took effect (list_jobs shows the jobs it started), then submit it again if it did not.`,
        }),
      },
    });
  }
}

/** The client as the shared handler sees it: a call that is not read-only is sent as mutating. */
function asToolCallClient(client: ProxmoxMcpClient): ToolCallClient {
  return {
    get health() {
      return client.health;
    },
    get tools() {
      return client.tools;
    },
    get toolsKnown() {
      return client.toolsKnown;
    },
    tool: (name) => client.tools.find((t) => t.name === name),
    whenConnected: (timeoutMs, signal) => client.whenReady(timeoutMs, signal),
    callTool: async (name, args, { timeoutMs, signal, beforeSend }) => {
      const answer = await client.call(name, args, { timeoutMs, signal, beforeSend, mutating: !isReadOnlyTool(name) });
      return { ...answer.result, isError: answer.isError };
    },
  };
}

/** The client sets outcomeUnknown whenever a mutating call may have run; any other failure changed nothing. */
function failureOf(err: unknown, tool: string, name: string): CallFailure {
  const e = err instanceof UpstreamError ? err : new UpstreamError({ code: 'upstream', message: String((err as Error)?.message ?? err) });
  const upstreamStatus = e.status ? String(e.status) : '';
  if (e.outcomeUnknown) {
    return { code: 'connection_lost', message: e.message, remedy: `Check on ${name} whether ${tool} took effect.`, upstreamStatus, delivered: 'maybe' };
  }
  if (e.code === 'timeout') return { code: 'deadline', message: `${tool} did not answer before the command's deadline (${e.message})`, delivered: 'no' };
  return { code: e.code, message: e.message, remedy: e.remedy, upstreamStatus, fields: e.fields, delivered: 'no' };
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
    acceptsWithCall: (command) => (command.action === 'tool-call' ? o.toolCalls?.acceptsWithCall?.(command) : o.power.acceptsWithCall?.(command)) ?? false,
    execute: (ctx) => pick(ctx).execute(ctx),
    resume: (ctx) => pick(ctx).resume(ctx),
  };
}
