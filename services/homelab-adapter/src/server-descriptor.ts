import type { UpstreamHealth, UpstreamServer } from '@molten/contracts';
import { describeServer as describe, fromMcpConnection, toolCallCapability as capability, upstreamHealth as health } from '@molten/mcp-bridge';
import type { McpConnection } from '@molten/mcp-client';

export { TOOL_CALL, toContractTool } from '@molten/mcp-bridge';

export const DOMAIN = 'mcp';

/** Who reports a server: its names, whether it is simulated, and which replica speaks. */
export interface ServerIdentity {
  name: string;
  id: string;
  demo: boolean;
  reporter: string;
}

const identity = (who: ServerIdentity) => ({ id: who.id, name: who.name, kind: 'mcp', domain: DOMAIN, scope: who.name, demo: who.demo, reporter: who.reporter });

/** Tools can be called through Molten unless the server lists none. */
export function toolCallCapability(conn: McpConnection) {
  return capability(conn);
}

/**
 * The server as the api's /api/servers shows it (the bridge's one descriptor): health,
 * transport, version, negotiated protocol and capabilities, and the tool catalog with its
 * freshness. `previous`, the server's last published record, keeps its tools listed (stale)
 * when this process has not read them yet.
 */
export function describeServer(conn: McpConnection, who: ServerIdentity, previous?: UpstreamServer): UpstreamServer {
  return describe(fromMcpConnection(conn), identity(who), { previous });
}

/** This replica's view of the server, for its heartbeat. */
export function upstreamHealth(conn: McpConnection, who: ServerIdentity, leader: boolean): UpstreamHealth {
  return health(fromMcpConnection(conn), identity(who), leader);
}
