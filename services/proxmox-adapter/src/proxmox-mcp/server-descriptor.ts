import { ServerStatus, type Capability, type Tool, type UpstreamHealth, type UpstreamServer } from '@molten/contracts';
import type { McpTool } from '@molten/mcp-client';
import type { ClientStatus, ProxmoxMcpClient } from './client.js';

const STATUS: Record<ClientStatus, ServerStatus> = {
  connecting: ServerStatus.SERVER_STATUS_CONNECTING,
  connected: ServerStatus.SERVER_STATUS_CONNECTED,
  degraded: ServerStatus.SERVER_STATUS_DEGRADED,
  auth_failed: ServerStatus.SERVER_STATUS_AUTH_FAILED,
  down: ServerStatus.SERVER_STATUS_DOWN,
};

export function toContractTool(t: McpTool): Tool {
  return { name: t.name, title: t.title ?? t.annotations?.title ?? '', description: t.description ?? '', inputSchemaJson: JSON.stringify(t.inputSchema) };
}

export function toolCallCapability(client: ProxmoxMcpClient): Capability {
  const none = client.toolsKnown && client.tools.length === 0;
  return { action: 'tool-call', available: !none, reason: none ? 'the server lists no tools' : '', privilege: '' };
}

/**
 * ProxmoxMCP-Plus as a server of the MCP Overview when the cluster itself is read through the
 * Proxmox VE API (PVE_URL and PROXMOX_MCP_URL both set): its health, transport and tools, and
 * tool calls — but no power capabilities, which belong to the pve server of the same cluster.
 */
export function describeProxmoxMcp(client: ProxmoxMcpClient, o: { cluster: string; demo: boolean; reporter: string }): UpstreamServer {
  const h = client.health;
  return {
    id: `proxmox-mcp-${o.cluster}`,
    name: `ProxmoxMCP-Plus (${o.cluster})`,
    kind: 'proxmox-mcp',
    domain: 'proxmox',
    scope: o.cluster,
    endpoint: client.endpoint,
    transport: client.transport,
    status: STATUS[h.status],
    statusReason: h.reason,
    remedy: h.remedy,
    reachable: h.reachable,
    authenticated: h.authenticated,
    usable: h.usable,
    latencyMs: Math.round((h.latencyMs ?? 0) * 10) / 10,
    lastSeenMs: h.lastSeenMs,
    statusSinceMs: h.statusSinceMs,
    version: h.version,
    tools: client.tools.map(toContractTool),
    capabilities: [toolCallCapability(client)],
    demo: o.demo,
    methods: [],
    reporter: o.reporter,
  };
}

/** How often the client checks ProxmoxMCP-Plus when it is not the cluster's driver (its health checks or pings). */
const CHECK_MS = 5_000;

/** ProxmoxMCP-Plus as the second server of a cluster, for this replica's heartbeat. */
export function proxmoxMcpHealth(client: ProxmoxMcpClient, o: { cluster: string; demo: boolean; reporter: string }, leader: boolean): UpstreamHealth {
  const d = describeProxmoxMcp(client, o);
  return { serverId: d.id, scope: d.scope, status: d.status, lastOkMs: d.lastSeenMs, pollMs: CHECK_MS, latencyMs: d.latencyMs, leader, capabilities: d.capabilities, privileges: [] };
}
