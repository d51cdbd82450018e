import type { UpstreamHealth, UpstreamServer } from '@molten/contracts';
import { describeServer, toolCallCapability as capability, upstreamHealth, type DescribedServer } from '@molten/mcp-bridge';
import type { ProxmoxMcpClient } from './client.js';

export { toContractTool } from '@molten/mcp-bridge';

/** What only a native-MCP client knows: the negotiated protocol and capabilities, the catalog's freshness. */
export type McpFacts = Pick<DescribedServer, 'protocolVersion' | 'serverCapabilities' | 'toolsStale' | 'toolsConfirmedAtMs'>;

type Client = ProxmoxMcpClient & { mcpFacts?(): McpFacts };
interface Who {
  cluster: string;
  demo: boolean;
  reporter: string;
  pollMs?: number;
}

/** How often the client checks ProxmoxMCP-Plus when it is not the cluster's driver (its health checks or pings). */
const CHECK_MS = 5_000;

export function toolCallCapability(client: ProxmoxMcpClient) {
  return capability(client);
}

function described(client: Client, o: Who): DescribedServer {
  return {
    endpoint: client.endpoint,
    transport: client.transport,
    health: client.health,
    version: client.health.version,
    pollMs: o.pollMs ?? CHECK_MS,
    tools: client.tools,
    toolsKnown: client.toolsKnown,
    ...client.mcpFacts?.(),
  };
}

const identity = (o: Who) => ({
  id: `proxmox-mcp-${o.cluster}`,
  name: `ProxmoxMCP-Plus (${o.cluster})`,
  kind: 'proxmox-mcp',
  domain: 'proxmox',
  scope: o.cluster,
  demo: o.demo,
  reporter: o.reporter,
});

/**
 * ProxmoxMCP-Plus as a server of the MCP Overview when the cluster itself is read through the
 * Proxmox VE API (PVE_URL and PROXMOX_MCP_URL both set): its health, transport and tools, and
 * tool calls — but no power capabilities, which belong to the pve server of the same cluster.
 * Over native MCP it also carries the negotiated protocol version and the server's capabilities.
 */
export function describeProxmoxMcp(client: Client, o: Who, previous?: UpstreamServer): UpstreamServer {
  return describeServer(described(client, o), identity(o), { previous });
}

/** ProxmoxMCP-Plus as the second server of a cluster, for this replica's heartbeat. */
export function proxmoxMcpHealth(client: Client, o: Who, leader: boolean): UpstreamHealth {
  return upstreamHealth(described(client, o), identity(o), leader);
}
