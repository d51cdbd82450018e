import type { CallToolResult, McpTool } from '@molten/mcp-client';

/**
 * One ProxmoxMCP-Plus server, over either of its transports: the REST bridge (mcpo, port 8811:
 * `POST /<tool>`) or native MCP (`…/mcp`, Streamable HTTP with the SSE fallback). The driver, the
 * server descriptor and tool-call commands all go through this.
 */
export type ProxmoxMcpTransport = 'rest-bridge' | 'streamable-http' | 'sse';

export type ClientStatus = 'connecting' | 'connected' | 'degraded' | 'auth_failed' | 'down';

export interface ClientHealth {
  status: ClientStatus;
  reason: string;
  remedy: string;
  reachable: boolean;
  authenticated: boolean;
  usable: boolean;
  latencyMs?: number;
  /** When the server last answered (0: never). */
  lastSeenMs: number;
  statusSinceMs: number;
  /** What the server says it is (serverInfo, or the bridge's OpenAPI title). */
  version: string;
}

/** A tool's answer. An isError answer is an answer: the tool ran and failed. */
export interface ToolAnswer {
  /** The text the tool returned (a JSON answer of the REST bridge is written back as JSON text). */
  text: string;
  isError: boolean;
  /** The answer in MCP's shape, as tool-call commands report it. */
  result: CallToolResult;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The call changes something: a lost answer then means "outcome unknown", never "retry". */
  mutating?: boolean;
  /** Runs once, right before the request is sent. */
  beforeSend?: () => Promise<void> | void;
}

export interface ProxmoxMcpClient {
  readonly transport: ProxmoxMcpTransport;
  /** Where it is, without credentials. */
  readonly endpoint: string;
  /** The tool catalog (from tools/list, or the bridge's /openapi.json). */
  readonly tools: readonly McpTool[];
  /** True once the catalog was read. */
  readonly toolsKnown: boolean;
  readonly health: ClientHealth;
  start(): void;
  close(): Promise<void>;
  /** Called when health or tools change. Returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Resolves true once connected with the catalog read (false after timeoutMs). */
  whenReady(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** Calls a tool. Throws an UpstreamError when there is no answer (with outcomeUnknown when it may have run). */
  call(tool: string, args: Record<string, unknown>, opts?: CallOptions): Promise<ToolAnswer>;
}

/** The text parts of a result, joined. */
export function resultText(result: CallToolResult): string {
  return (result.content ?? [])
    .map((c) => (c.type === 'text' ? c.text : ''))
    .filter((t) => t !== '')
    .join('\n');
}

/** Which transport a PROXMOX_MCP_URL means: a path ending in /mcp (or /sse) is native MCP; anything else the REST bridge. */
export function transportFor(url: string, forced?: 'auto' | 'rest-bridge' | 'mcp'): 'rest-bridge' | 'mcp' {
  if (forced && forced !== 'auto') return forced;
  const path = new URL(url).pathname.replace(/\/+$/, '');
  return /\/(mcp|sse)$/.test(path) ? 'mcp' : 'rest-bridge';
}
