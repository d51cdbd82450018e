import { ServerStatus, type Capability, type Tool, type UpstreamHealth, type UpstreamServer } from '@molten/contracts';
import type { McpConnection, McpStatus, McpTool } from '@molten/mcp-client';

export const DOMAIN = 'mcp';
export const TOOL_CALL = 'tool-call';

const STATUS: Record<McpStatus, ServerStatus> = {
  connecting: ServerStatus.SERVER_STATUS_CONNECTING,
  connected: ServerStatus.SERVER_STATUS_CONNECTED,
  degraded: ServerStatus.SERVER_STATUS_DEGRADED,
  auth_failed: ServerStatus.SERVER_STATUS_AUTH_FAILED,
  down: ServerStatus.SERVER_STATUS_DOWN,
};

/** Who reports a server: its names, whether it is simulated, and which replica speaks. */
export interface ServerIdentity {
  name: string;
  id: string;
  demo: boolean;
  reporter: string;
}

export function toContractTool(t: McpTool): Tool {
  return {
    name: t.name,
    title: t.title ?? t.annotations?.title ?? '',
    description: t.description ?? '',
    inputSchemaJson: JSON.stringify(t.inputSchema),
  };
}

/** Tools can be called through Molten unless the server lists none. */
export function toolCallCapability(conn: McpConnection): Capability {
  const none = conn.toolsKnown && conn.tools.length === 0;
  return { action: TOOL_CALL, available: !none, reason: none ? 'the server lists no tools' : '', privilege: '' };
}

/** The server as the api's /api/servers shows it: health, transport, version and tool catalog. */
export function describeServer(conn: McpConnection, who: ServerIdentity): UpstreamServer {
  const h = conn.health;
  return {
    id: who.id,
    name: who.name,
    kind: 'mcp',
    domain: DOMAIN,
    scope: who.name,
    endpoint: conn.endpoint,
    transport: h.transport ?? '',
    status: STATUS[h.status],
    statusReason: h.reason,
    remedy: h.remedy,
    reachable: h.reachable,
    authenticated: h.authenticated,
    usable: h.usable,
    latencyMs: h.latencyMs ?? 0,
    lastSeenMs: h.lastSeenMs,
    statusSinceMs: h.statusSinceMs,
    version: h.server ? `${h.server.name}/${h.server.version}` : '',
    tools: conn.tools.map(toContractTool),
    capabilities: [toolCallCapability(conn)],
    demo: who.demo,
    methods: [],
    reporter: who.reporter,
  };
}

/** This replica's view of the server, for its heartbeat. */
export function upstreamHealth(conn: McpConnection, who: ServerIdentity, leader: boolean): UpstreamHealth {
  const h = conn.health;
  return {
    serverId: who.id,
    scope: who.name,
    status: STATUS[h.status],
    lastOkMs: h.lastSeenMs,
    pollMs: conn.pingIntervalMs,
    latencyMs: h.latencyMs ?? 0,
    leader,
    capabilities: [toolCallCapability(conn)],
    privileges: [],
  };
}
