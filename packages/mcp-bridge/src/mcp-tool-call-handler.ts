import { toolSafety } from '@molten/contracts';
import type { McpConnection } from '@molten/mcp-client';
import { McpCallError, isSafeToRepeat } from '@molten/mcp-client/tool-call';
import { ToolCallHandler, type CallFailure } from './tool-call-handler.js';

export interface McpToolCallHandlerOptions {
  conn: McpConnection;
  /** The server's name and UpstreamServer id (a command may name either). */
  name: string;
  serverId: string;
  /** Time kept back from the command's deadline to record the outcome (default 500 ms). */
  marginMs?: number;
  /** How long a command waits for a server that is not connected (default 10 s, within its deadline). */
  connectWaitMs?: number;
}

/**
 * Runs `tool-call` commands against one MCP server reached through McpConnection. MCP has no way
 * to read back a call's outcome, so on resume a tool runs again only when the server marks it
 * readOnlyHint or idempotentHint. One write before the call (accepted, marked, running); a tool
 * the policy counts as a read (readOnlyHint) is sent beside that write.
 */
export class McpToolCallHandler extends ToolCallHandler {
  constructor({ conn, name, serverId, marginMs, connectWaitMs }: McpToolCallHandlerOptions) {
    super({
      client: conn,
      serverIds: [serverId, name],
      marginMs,
      connectWaitMs,
      canRepeat: async (_tool, catalogEntry) => isSafeToRepeat(await catalogEntry()),
      oneWriteBeforeCall: true,
      readOnly: (tool) => toolSafety(tool.annotations) === 'read',
      classify: (err, tool) => (err instanceof McpCallError ? mcpCallFailure(err, tool) : undefined),
      words: {
        server: `"${name}"`,
        wrongServer: (asked) => `the command is for server "${asked}" but was queued for "${name}"`,
        notRepeated: (tool) => {
          const why = !conn.toolsKnown
            ? `"${name}" is ${conn.health.status.replace('_', ' ')}, so whether ${tool} is safe to repeat cannot be checked`
            : `${tool} is not marked read-only or idempotent, so it is not sent again`;
          return {
            message: `${tool} was sent to "${name}" but its outcome was lost (a replica stopped or the connection broke); MCP cannot read back a call's result, and ${why}`,
            remedy: `Check on "${name}" whether ${tool} took effect (a read-only tool may tell), then submit the call again if it did not.`,
          };
        },
      },
    });
  }
}

/** What an McpCallError means for a tool-call command. */
export function mcpCallFailure(err: McpCallError, tool: string): CallFailure {
  const { remedy } = err;
  switch (err.kind) {
    case 'timeout':
      return err.delivered === 'no'
        ? { code: 'deadline', message: `the deadline passed before ${tool} could be sent; nothing was sent`, delivered: 'no' }
        : { code: 'deadline', message: `${tool} did not answer before the command's deadline; it may still have run on the server`, delivered: err.delivered };
    // Refused (401/403, 429) or never sent: the tool did not run.
    case 'auth_failed':
      return { code: 'auth', message: err.message, remedy, upstreamStatus: status(err), delivered: 'no' };
    case 'not_connected':
      return { code: 'unreachable', message: err.message, remedy, delivered: 'no' };
    case 'rate_limited':
      return { code: 'rate_limited', message: err.message, remedy, upstreamStatus: status(err), delivered: 'no' };
    case 'rejected': {
      const code = err.details.rpcCode === -32602 ? 'invalid' : err.details.rpcCode === -32601 ? 'unsupported' : 'upstream';
      return { code, message: err.message, upstreamStatus: status(err), delivered: err.delivered === 'no' ? 'no' : 'yes' };
    }
    case 'aborted':
    case 'connection_lost':
      if (err.delivered === 'no') return { code: 'unreachable', message: err.message, remedy, delivered: 'no' };
      return { code: 'connection_lost', message: err.message, remedy: `Check on the server whether ${tool} took effect.`, delivered: 'maybe' };
  }
}

function status(err: McpCallError): string {
  return err.details.httpStatus ? String(err.details.httpStatus) : err.details.rpcCode ? String(err.details.rpcCode) : '';
}
