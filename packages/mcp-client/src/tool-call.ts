import type { Tool } from '@modelcontextprotocol/client';

/**
 * What code that runs tool calls needs without loading the MCP SDK (the bus bridge, an adapter
 * that reaches a server another way): `@molten/mcp-client/tool-call`. Type imports only.
 */

export type CallFailureKind =
  | 'not_connected'
  | 'auth_failed'
  | 'rate_limited'
  | 'timeout'
  | 'connection_lost'
  | 'rejected'
  | 'aborted';

/** A tool call that did not produce a result. `delivered` says whether the server may have run it. */
export class McpCallError extends Error {
  override name = 'McpCallError';
  constructor(
    readonly kind: CallFailureKind,
    message: string,
    readonly delivered: 'no' | 'maybe' | 'yes',
    readonly remedy = '',
    readonly details: { httpStatus?: number; rpcCode?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
  }
}

/**
 * True when calling the tool twice does no more than calling it once, by the server's own hints
 * (readOnlyHint or idempotentHint). Hints, not guarantees: an unannotated tool may change things.
 */
export function isSafeToRepeat(tool: Pick<Tool, 'annotations'> | undefined): boolean {
  return tool?.annotations?.readOnlyHint === true || tool?.annotations?.idempotentHint === true;
}
