import type { Logger } from '@molten/kit';
import { transportFor, type ProxmoxMcpClient } from './client.js';
import { RestBridgeClient } from './rest-bridge.js';

export interface ProxmoxMcpConnectOptions {
  /** PROXMOX_MCP_URL: http://host:8811 (REST bridge) or http://host:8000/mcp (native MCP). */
  url: string;
  /** PROXMOX_MCP_API_KEY: the bridge's PROXMOX_API_KEY, or the MCP_API_KEY of native MCP. */
  apiKey?: string;
  /** PROXMOX_MCP_TRANSPORT: auto (by the URL's path) | rest-bridge | mcp. */
  transport?: 'auto' | 'rest-bridge' | 'mcp';
  timeoutMs?: number;
  /** Requests per minute Molten sends (stay below the server's PROXMOX_RATE_LIMIT_RPM). */
  rateLimitRpm?: number;
  log: Logger;
}

/**
 * The client for a ProxmoxMCP-Plus URL: the REST bridge unless the path ends in /mcp (or /sse).
 * The MCP SDK is loaded only for native MCP (it weighs some 20 MB a process otherwise carries).
 */
export async function connectProxmoxMcp(o: ProxmoxMcpConnectOptions): Promise<ProxmoxMcpClient> {
  const log = o.log.child({ upstream: 'proxmox-mcp' });
  if (transportFor(o.url, o.transport) === 'mcp') {
    const { McpTransportClient } = await import('./mcp-transport.js');
    return new McpTransportClient({ url: o.url, apiKey: o.apiKey, log, timeoutMs: o.timeoutMs, rateLimitRpm: o.rateLimitRpm });
  }
  return new RestBridgeClient({ url: o.url, apiKey: o.apiKey, log, timeoutMs: o.timeoutMs, rateLimitRpm: o.rateLimitRpm });
}
