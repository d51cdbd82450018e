import { McpCallError, McpConnection, type McpTool } from '@molten/mcp-client';
import type { Logger } from '@molten/kit';
import { UpstreamError } from '../upstream-error.js';
import { resultText, type CallOptions, type ClientHealth, type ProxmoxMcpClient, type ToolAnswer } from './client.js';
import type { McpFacts } from './server-descriptor.js';

export interface McpTransportOptions {
  /** http://host:8000/mcp */
  url: string;
  /** MCP_API_KEY, sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  log: Logger;
  timeoutMs?: number;
  rateLimitRpm?: number;
  maxConcurrency?: number;
}

/**
 * ProxmoxMCP-Plus's native MCP endpoint (PROXMOX_MCP_MODE=mcp-http, `:8000/mcp`) through the one
 * MCP client every adapter uses: either protocol generation, Streamable HTTP with the SSE
 * fallback, ping health, the catalog from tools/list, 429 handling.
 */
export class McpTransportClient implements ProxmoxMcpClient {
  readonly conn: McpConnection;
  readonly #timeoutMs: number;

  constructor(o: McpTransportOptions) {
    this.#timeoutMs = o.timeoutMs ?? 30_000;
    this.conn = new McpConnection({
      name: 'proxmox-mcp',
      endpoint: { url: o.url, bearerToken: o.apiKey },
      log: o.log,
      callTimeoutMs: this.#timeoutMs,
      ...(o.rateLimitRpm !== undefined ? { rateLimitRpm: o.rateLimitRpm } : {}),
      maxConcurrency: o.maxConcurrency ?? 4,
      hints: {
        auth: 'Set PROXMOX_MCP_API_KEY to the MCP_API_KEY ProxmoxMCP-Plus runs with (native /mcp requires it since v0.5.19).',
        unreachable: 'Native MCP is a separate process (PROXMOX_MCP_MODE=mcp-http, port 8000, path /mcp); port 8811 is the REST bridge.',
      },
    });
  }

  get transport(): 'streamable-http' | 'sse' {
    return this.conn.transport === 'sse' ? 'sse' : 'streamable-http';
  }

  get endpoint(): string {
    return this.conn.endpoint;
  }

  get tools(): readonly McpTool[] {
    return this.conn.tools;
  }

  get toolsKnown(): boolean {
    return this.conn.toolsKnown;
  }

  get health(): ClientHealth {
    const h = this.conn.health;
    return {
      status: h.status,
      reason: h.reason,
      remedy: h.remedy,
      reachable: h.reachable,
      authenticated: h.authenticated,
      usable: h.usable,
      latencyMs: h.latencyMs,
      lastSeenMs: h.lastSeenMs,
      statusSinceMs: h.statusSinceMs,
      version: h.server ? `${h.server.name} ${h.server.version}` : '',
    };
  }

  /** The negotiated protocol and capabilities and the catalog's freshness, for the server descriptor. */
  mcpFacts(): McpFacts {
    const h = this.conn.health;
    return {
      protocolVersion: h.protocolVersion,
      serverCapabilities: h.serverCapabilities,
      toolsStale: this.conn.toolsStale,
      toolsConfirmedAtMs: this.conn.toolsConfirmedAtMs,
    };
  }

  start(): void {
    this.conn.start();
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  onChange(listener: () => void): () => void {
    const a = this.conn.on('status', () => listener());
    const b = this.conn.on('tools', () => listener());
    return () => {
      a();
      b();
    };
  }

  whenReady(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return this.conn.whenConnected(timeoutMs, signal);
  }

  async call(tool: string, args: Record<string, unknown>, opts: CallOptions = {}): Promise<ToolAnswer> {
    try {
      const result = await this.conn.callTool(tool, args, { timeoutMs: opts.timeoutMs ?? this.#timeoutMs, signal: opts.signal, beforeSend: opts.beforeSend });
      return { text: resultText(result), isError: result.isError === true, result: { ...result, isError: result.isError === true } };
    } catch (err) {
      if (!(err instanceof McpCallError)) throw err;
      throw callError(err, tool, this.endpoint, opts.mutating ?? false);
    }
  }
}

function callError(err: McpCallError, tool: string, endpoint: string, mutating: boolean): UpstreamError {
  const unknown = mutating && err.delivered !== 'no';
  const status = err.details.httpStatus;
  switch (err.kind) {
    case 'auth_failed':
      return new UpstreamError({ code: 'auth', status, message: err.message, remedy: err.remedy, cause: err });
    case 'rate_limited':
      return new UpstreamError({ code: 'rate_limited', status, message: err.message, remedy: err.remedy, cause: err });
    case 'timeout':
      return new UpstreamError({ code: 'timeout', message: `${tool} on ProxmoxMCP-Plus (${endpoint}): ${err.message}`, remedy: err.remedy, outcomeUnknown: unknown, cause: err });
    case 'rejected':
      return new UpstreamError({ code: err.details.rpcCode === -32602 ? 'invalid' : 'upstream', message: `ProxmoxMCP-Plus refused ${tool}: ${err.message}`, outcomeUnknown: false, cause: err });
    default:
      return new UpstreamError({ code: 'unreachable', message: `${tool} on ProxmoxMCP-Plus (${endpoint}): ${err.message}`, remedy: err.remedy, outcomeUnknown: unknown, cause: err });
  }
}
