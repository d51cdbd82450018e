import {
  ServerStatus,
  type Capability,
  type McpServerCapabilities,
  type Tool,
  type ToolAnnotations,
  type UpstreamHealth,
  type UpstreamServer,
} from '@molten/contracts';
import type { McpConnection, McpHealth, McpTool, ServerCapabilities } from '@molten/mcp-client';

/** The action a server with tools offers through Molten. */
export const TOOL_CALL = 'tool-call';

export type ServerHealthStatus = McpHealth['status'];

const STATUS: Record<ServerHealthStatus, ServerStatus> = {
  connecting: ServerStatus.SERVER_STATUS_CONNECTING,
  connected: ServerStatus.SERVER_STATUS_CONNECTED,
  degraded: ServerStatus.SERVER_STATUS_DEGRADED,
  auth_failed: ServerStatus.SERVER_STATUS_AUTH_FAILED,
  down: ServerStatus.SERVER_STATUS_DOWN,
};

/**
 * What a descriptor reads of a server connection: an McpConnection (`fromMcpConnection`), or
 * another client of an MCP-like server (ProxmoxMCP-Plus's REST bridge), which leaves the MCP-only
 * fields out.
 */
export interface DescribedServer {
  /** Where it is, without credentials. */
  endpoint: string;
  /** "streamable-http", "sse", "stdio", "rest-bridge"; empty before the first connection. */
  transport: string;
  /** The connection's health, as McpConnection reports it (the MCP-only parts are fields below). */
  health: Pick<McpHealth, 'status' | 'reason' | 'remedy' | 'reachable' | 'authenticated' | 'usable' | 'latencyMs' | 'lastSeenMs' | 'statusSinceMs'>;
  /** What the server says it is, e.g. "homelab-mcp/0.9.2"; empty when unknown. */
  version: string;
  /** How often its health is measured (the heartbeat's poll_ms). */
  pollMs: number;
  tools: readonly McpTool[];
  /** True once the catalog was read. */
  toolsKnown: boolean;
  /** The listed tools are the last known ones, not current (default: known but not usable now). */
  toolsStale?: boolean;
  /** When the catalog was last known to be current (default: when the server last answered). */
  toolsConfirmedAtMs?: number;
  /** The negotiated MCP protocol version (MCP only). */
  protocolVersion?: string;
  /** What the server says it offers, in MCP's shape (MCP only). */
  serverCapabilities?: ServerCapabilities;
}

/** Who reports a server and under which names. */
export interface ServerIdentity {
  /** Unique across Molten: "mcp-<name>", "proxmox-mcp-<cluster>". */
  id: string;
  name: string;
  /** "mcp" or "proxmox-mcp". */
  kind: string;
  domain: string;
  scope: string;
  /** A simulated upstream (demo mode): the dashboard labels it. */
  demo: boolean;
  /** The adapter instance that reports it. */
  reporter: string;
}

/** An McpConnection as a descriptor reads it. */
export function fromMcpConnection(conn: McpConnection): DescribedServer {
  const h = conn.health;
  return {
    endpoint: conn.endpoint,
    transport: h.transport ?? '',
    health: h,
    version: h.server ? `${h.server.name}/${h.server.version}` : '',
    pollMs: conn.pingIntervalMs,
    tools: conn.tools,
    toolsKnown: conn.toolsKnown,
    toolsStale: conn.toolsStale,
    toolsConfirmedAtMs: conn.toolsConfirmedAtMs,
    protocolVersion: h.protocolVersion,
    serverCapabilities: h.serverCapabilities,
  };
}

export function serverStatus(status: ServerHealthStatus): ServerStatus {
  return STATUS[status];
}

/** A tool as the contracts carry it: its display title, schema and the server's hints. */
export function toContractTool(t: McpTool): Tool {
  return {
    name: t.name,
    title: t.title ?? t.annotations?.title ?? '',
    description: t.description ?? '',
    inputSchemaJson: JSON.stringify(t.inputSchema),
    annotations: toContractAnnotations(t.annotations),
  };
}

/** The four hints as the server sent them; a hint it left out stays unset (MCP's default applies). */
export function toContractAnnotations(a: McpTool['annotations']): ToolAnnotations | undefined {
  if (!a || typeof a !== 'object') return undefined;
  const hint = (v: unknown) => (typeof v === 'boolean' ? v : undefined);
  return {
    readOnlyHint: hint(a.readOnlyHint),
    destructiveHint: hint(a.destructiveHint),
    idempotentHint: hint(a.idempotentHint),
    openWorldHint: hint(a.openWorldHint),
  };
}

const KNOWN_CAPABILITIES = new Set(['tools', 'resources', 'prompts', 'logging', 'completions']);

/** MCP's capabilities object as the contracts carry it. */
export function toContractCapabilities(c: ServerCapabilities | undefined): McpServerCapabilities | undefined {
  if (!c || typeof c !== 'object') return undefined;
  return {
    tools: !!c.tools,
    toolsListChanged: c.tools?.listChanged === true,
    resources: !!c.resources,
    resourcesSubscribe: c.resources?.subscribe === true,
    resourcesListChanged: c.resources?.listChanged === true,
    prompts: !!c.prompts,
    promptsListChanged: c.prompts?.listChanged === true,
    logging: !!c.logging,
    completions: !!c.completions,
    other: Object.keys(c)
      .filter((k) => !KNOWN_CAPABILITIES.has(k) && (c as Record<string, unknown>)[k] !== undefined)
      .sort(),
  };
}

/** Tools can be called through Molten unless the server lists none. */
export function toolCallCapability(s: Pick<DescribedServer, 'tools' | 'toolsKnown'>): Capability {
  const none = s.toolsKnown && s.tools.length === 0;
  return { action: TOOL_CALL, available: !none, reason: none ? 'the server lists no tools' : '', privilege: '' };
}

/**
 * The server as /api/servers shows it: health, transport, version, the negotiated MCP protocol
 * and capabilities, and the tool catalog with its freshness. A server whose catalog this process
 * has not read yet (it started while the server was down) keeps the tools of `previous`, its
 * last published record, marked stale: a server's last known tools stay listed for as long as
 * its record exists.
 */
export function describeServer(s: DescribedServer, who: ServerIdentity, opts: { previous?: UpstreamServer } = {}): UpstreamServer {
  const h = s.health;
  const carried = !s.toolsKnown && opts.previous && opts.previous.tools.length > 0 ? opts.previous : undefined;
  const known = s.toolsKnown;
  return {
    id: who.id,
    name: who.name,
    kind: who.kind,
    domain: who.domain,
    scope: who.scope,
    endpoint: s.endpoint,
    transport: s.transport,
    status: STATUS[h.status],
    statusReason: h.reason,
    remedy: h.remedy,
    reachable: h.reachable,
    authenticated: h.authenticated,
    usable: h.usable,
    latencyMs: Math.round((h.latencyMs ?? 0) * 10) / 10,
    lastSeenMs: h.lastSeenMs,
    statusSinceMs: h.statusSinceMs,
    version: s.version,
    tools: carried ? carried.tools : s.tools.map(toContractTool),
    capabilities: [toolCallCapability(s)],
    demo: who.demo,
    methods: [],
    reporter: who.reporter,
    protocolVersion: s.protocolVersion || carried?.protocolVersion || undefined,
    mcpCapabilities: toContractCapabilities(s.serverCapabilities) ?? carried?.mcpCapabilities,
    toolsConfirmedMs: carried ? carried.toolsConfirmedMs || carried.lastSeenMs : known ? (s.toolsConfirmedAtMs ?? h.lastSeenMs) : 0,
    toolsStale: carried ? true : known ? (s.toolsStale ?? !h.usable) : false,
  };
}

/** This replica's view of the server, for its heartbeat. */
export function upstreamHealth(s: DescribedServer, who: Pick<ServerIdentity, 'id' | 'scope'>, leader: boolean): UpstreamHealth {
  const h = s.health;
  return {
    serverId: who.id,
    scope: who.scope,
    status: STATUS[h.status],
    lastOkMs: h.lastSeenMs,
    pollMs: s.pollMs,
    latencyMs: h.latencyMs ?? 0,
    leader,
    capabilities: [toolCallCapability(s)],
    privileges: [],
  };
}
