import type { UpstreamServer } from '@molten/contracts';
import { describeServer, toolCallCapability as capability, type DescribedServer } from '@molten/mcp-bridge';
import type { ProxmoxMcpClient } from './client.js';

export { toContractTool } from '@molten/mcp-bridge';

/** What only a native-MCP client knows: the negotiated protocol and capabilities, the catalog's freshness. */
export type McpFacts = Pick<DescribedServer, 'protocolVersion' | 'serverCapabilities' | 'toolsStale' | 'toolsConfirmedAtMs'>;

export function toolCallCapability(client: ProxmoxMcpClient) {
  return capability(client);
}

/**
 * ProxmoxMCP-Plus as a server of the MCP Overview when the cluster itself is read through the
 * Proxmox VE API (PVE_URL and PROXMOX_MCP_URL both set): its health, transport and tools, and
 * tool calls — but no power capabilities, which belong to the pve server of the same cluster.
 * Over native MCP it also carries the negotiated protocol version and the server's capabilities.
 */
export function describeProxmoxMcp(client: ProxmoxMcpClient & { mcpFacts?(): McpFacts }, o: { cluster: string; demo: boolean; reporter: string; pollMs?: number }): UpstreamServer {
  const described: DescribedServer = {
    endpoint: client.endpoint,
    transport: client.transport,
    health: client.health,
    version: client.health.version,
    pollMs: o.pollMs ?? 0,
    tools: client.tools,
    toolsKnown: client.toolsKnown,
    ...client.mcpFacts?.(),
  };
  return describeServer(described, {
    id: `proxmox-mcp-${o.cluster}`,
    name: `ProxmoxMCP-Plus (${o.cluster})`,
    kind: 'proxmox-mcp',
    domain: 'proxmox',
    scope: o.cluster,
    demo: o.demo,
    reporter: o.reporter,
  });
}
