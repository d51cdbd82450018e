import {
  commandStatusName,
  isTerminal,
  type CommandError,
  type CommandStatus,
  type Agent,
  type AgentSession,
  type CommandRecord,
  type Gateway,
  type Guest,
  type GuestType,
  type McpServerCapabilities,
  type Node,
  type Storage,
  type ToolAnnotations,
  type UpstreamServer,
} from '@molten/contracts';
import type * as Rest from '@molten/contracts/rest';
import type { ServerLiveness } from '../plane/liveness.js';
import type { StateEntry } from './state-view.js';

/** How fresh a cluster's data is: the last good read of its upstream, and whether that is too old. */
export interface Freshness {
  lastSeenMs: number;
  stale: boolean;
}

/**
 * A time in ms as ISO 8601, null for none (0) and for what is no time at all: NaN, or past what a
 * Date holds (±8.64e15 ms). Times come from adapters over the bus; one wild value must not make a
 * list answer 500 (Date#toISOString throws RangeError on them).
 */
export const iso = (ms: number): string | null => (ms > 0 && ms <= 8.64e15 ? new Date(ms).toISOString() : null);

/** The `meta` of a list of one cluster's resources: which cluster, and how fresh. */
export function metaJson(s: { cluster: string; lastSeenMs: number; stale: boolean; demo: boolean }) {
  return { cluster: s.cluster, stale: s.stale, lastSeen: iso(s.lastSeenMs), demo: s.demo } satisfies Rest.ListMeta;
}

/**
 * A guest as of now. Uptime grows between publishes (it is not a change worth an event): it is
 * extrapolated from when the api received the value up to the last moment the cluster was seen.
 * REST, SSE and gRPC all read guests through this, so they agree.
 */
export function guestAsOf(e: StateEntry<GuestType>, f: Freshness, now = Date.now()): Guest {
  const g = e.value as Guest;
  const until = f.stale ? f.lastSeenMs : now;
  const uptime = g.status === 'running' && g.uptime > 0 ? g.uptime + Math.max(0, Math.floor((until - e.receivedAtMs) / 1000)) : g.uptime;
  return uptime === g.uptime ? g : { ...g, uptime };
}

/** A guest as the REST API shows it: Proxmox's field names and units, plus cluster, lastSeen, stale. */
export function guestJson(g: Guest, f: Freshness) {
  return {
    vmid: g.vmid,
    name: g.name,
    node: g.node,
    // The bus validator lets only qemu and lxc guests in (packages/bus/src/validate.ts).
    type: g.type as Rest.GuestType,
    status: g.status,
    ...(g.qmpstatus !== undefined ? { qmpstatus: g.qmpstatus } : {}),
    cpu: g.cpu,
    maxcpu: g.maxcpu,
    mem: g.mem,
    maxmem: g.maxmem,
    disk: g.disk,
    maxdisk: g.maxdisk,
    uptime: g.uptime,
    tags: g.tags,
    ...(g.lock ? { lock: g.lock } : {}),
    template: g.template,
    ...(g.hastate ? { hastate: g.hastate } : {}),
    ...(g.pool ? { pool: g.pool } : {}),
    netin: g.netin,
    netout: g.netout,
    diskread: g.diskread,
    diskwrite: g.diskwrite,
    ...(g.imprecise.length ? { imprecise: g.imprecise } : {}),
    cluster: g.cluster,
    lastSeen: iso(f.lastSeenMs),
    stale: f.stale,
  } satisfies Rest.Guest;
}

export function nodeJson(n: Node, f: Freshness) {
  return {
    node: n.node,
    status: n.status,
    cpu: n.cpu,
    maxcpu: n.maxcpu,
    mem: n.mem,
    maxmem: n.maxmem,
    disk: n.disk,
    maxdisk: n.maxdisk,
    uptime: n.uptime,
    level: n.level,
    ...(n.ip ? { ip: n.ip } : {}),
    ...(n.nodeid !== undefined ? { nodeid: n.nodeid } : {}),
    ...(n.pveversion ? { pveversion: n.pveversion } : {}),
    ...(n.cpuModel ? { cpuModel: n.cpuModel } : {}),
    loadavg: n.loadavg,
    ...(n.imprecise.length ? { imprecise: n.imprecise } : {}),
    cluster: n.cluster,
    lastSeen: iso(f.lastSeenMs),
    stale: f.stale,
  } satisfies Rest.PveNode;
}

export function storageJson(s: Storage, f: Freshness) {
  return {
    id: s.id,
    storage: s.storage,
    node: s.node,
    type: s.type,
    content: s.content,
    status: s.status,
    shared: s.shared,
    used: s.used,
    total: s.total,
    avail: Math.max(0, s.total - s.used),
    used_fraction: s.total > 0 ? s.used / s.total : 0,
    ...(s.imprecise.length ? { imprecise: s.imprecise } : {}),
    cluster: s.cluster,
    lastSeen: iso(f.lastSeenMs),
    stale: f.stale,
  } satisfies Rest.Storage;
}

function errorJson(e: CommandError | undefined) {
  if (!e || (!e.code && !e.message)) return undefined;
  return {
    code: e.code,
    message: e.message,
    ...(e.upstreamStatus ? { upstreamStatus: e.upstreamStatus } : {}),
    ...(e.remedy ? { remedy: e.remedy } : {}),
    ...(e.privilege ? { privilege: e.privilege } : {}),
    ...(Object.keys(e.fields ?? {}).length ? { fields: e.fields } : {}),
  } satisfies Rest.CommandError;
}

function parseResult(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A record's status as REST shows it: records are checked on decode (status 1 to 10), so never "unspecified". */
const statusJson = (s: CommandStatus) => commandStatusName(s) as Rest.CommandStatus;

/** A command record as the REST API and the SSE stream show it. */
export function commandJson(r: CommandRecord) {
  const c = r.command!;
  const p = c.payload;
  const first = r.transitions[0];
  const last = r.transitions.at(-1);
  const terminal = isTerminal(r.status);
  return {
    id: c.id,
    correlationId: c.correlationId,
    actor: c.actor ?? { kind: 'service', name: 'unknown', role: '' },
    domain: c.domain,
    scope: c.scope,
    action: c.action,
    ...(c.reason ? { reason: c.reason } : {}),
    target:
      p?.$case === 'power' || p?.$case === 'suspendResume'
        ? { kind: 'guest', cluster: c.scope, vmid: p.value.vmid, node: p.value.node, type: p.value.type, action: p.value.action }
        : p?.$case === 'snapshot'
          ? { kind: 'guest', cluster: c.scope, vmid: p.value.vmid, node: p.value.node, type: p.value.type, action: `snapshot-${p.value.action}`, snapshot: p.value.name }
        : p?.$case === 'toolCall'
          ? { kind: 'tool', serverId: p.value.serverId, tool: p.value.tool, arguments: parseResult(p.value.argumentsJson) }
          : p?.$case === 'agentRun'
            ? { kind: 'agent', gateway: c.scope, agentId: p.value.agentId, message: p.value.message, sessionKey: p.value.sessionKey || undefined }
            : undefined,
    status: statusJson(r.status),
    message: last?.message ?? '',
    createdAt: iso(c.createdAtMs),
    updatedAt: iso(r.updatedAtMs),
    acceptBy: iso(c.acceptByMs),
    deadline: iso(c.deadlineMs),
    durationMs: terminal && first && last ? last.atMs - first.atMs : undefined,
    ...(r.upstreamTaskId ? { upstreamTaskId: r.upstreamTaskId } : {}),
    ...(r.resultJson ? { result: parseResult(r.resultJson) } : {}),
    ...(errorJson(r.error) ? { error: errorJson(r.error) } : {}),
    transitions: r.transitions.map((t) => ({
      status: statusJson(t.status),
      at: iso(t.atMs),
      message: t.message,
      by: t.by,
      ...(t.upstreamTaskId ? { upstreamTaskId: t.upstreamTaskId } : {}),
    })),
  } satisfies Rest.Command;
}

export function serverJson(s: UpstreamServer, o: ServerLiveness & { includeTools?: boolean }) {
  return {
    id: s.id,
    name: s.name,
    kind: s.kind,
    domain: s.domain,
    scope: s.scope,
    endpoint: s.endpoint,
    transport: s.transport,
    status: o.status,
    statusReason: o.statusReason,
    ...(o.remedy ? { remedy: o.remedy } : {}),
    reachable: o.reachable,
    authenticated: o.authenticated,
    usable: o.usable,
    latencyMs: s.latencyMs,
    lastSeen: iso(o.lastSeenMs),
    statusSince: iso(o.statusSinceMs),
    stale: o.stale,
    version: s.version,
    demo: s.demo,
    ...(s.protocolVersion ? { protocolVersion: s.protocolVersion } : {}),
    ...(s.mcpCapabilities ? { serverCapabilities: mcpCapabilitiesJson(s.mcpCapabilities) } : {}),
    toolCount: s.tools.length,
    // The catalog is the last known one when the server is not answering now, or its adapter says so.
    toolsStale: o.stale || !!s.toolsStale,
    ...(s.toolsConfirmedMs ? { toolsConfirmedAt: iso(s.toolsConfirmedMs) } : {}),
    ...(o.includeTools === false
      ? {}
      : {
          tools: s.tools.map((t) => ({
            name: t.name,
            ...(t.title ? { title: t.title } : {}),
            description: t.description,
            inputSchema: parseResult(t.inputSchemaJson) ?? { type: 'object' },
            ...(t.annotations ? { annotations: annotationsJson(t.annotations) } : {}),
          })),
        }),
    capabilities: s.capabilities.map((c) => ({ action: c.action, available: c.available, ...(c.reason ? { reason: c.reason } : {}), ...(c.privilege ? { privilege: c.privilege } : {}) })),
    ...(s.methods.length ? { methods: s.methods } : {}),
    reporter: s.reporter,
  } satisfies Rest.Server;
}

/** A server's MCP capabilities in MCP's own shape (`{ tools: { listChanged: true }, logging: {} }`), plus the names of any others. */
function mcpCapabilitiesJson(c: McpServerCapabilities) {
  return {
    ...(c.tools ? { tools: c.toolsListChanged ? { listChanged: true } : {} } : {}),
    ...(c.resources ? { resources: { ...(c.resourcesSubscribe ? { subscribe: true } : {}), ...(c.resourcesListChanged ? { listChanged: true } : {}) } } : {}),
    ...(c.prompts ? { prompts: c.promptsListChanged ? { listChanged: true } : {} } : {}),
    ...(c.logging ? { logging: {} } : {}),
    ...(c.completions ? { completions: {} } : {}),
    ...(c.other.length ? { other: c.other } : {}),
  } satisfies Rest.McpServerCapabilities;
}

/** The hints the server sent; one it left out stays out (MCP's default applies). */
function annotationsJson(a: ToolAnnotations) {
  return Object.fromEntries(Object.entries(a).filter(([, v]) => typeof v === 'boolean')) as Rest.ToolAnnotations;
}

export function adapterName(domain: string): string {
  return domain === 'proxmox' ? 'proxmox-adapter' : domain === 'mcp' ? 'homelab-adapter' : domain === 'moltbot' ? 'moltbot-adapter' : `${domain} adapter`;
}

function parseOrNull(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** An agent gateway (GET /api/agents); connection and reason from its server's liveness when known. */
export function gatewayJson(g: Gateway, scope: string, f: Freshness, live: { connection?: string; reason?: string } = {}) {
  return {
    id: g.id || scope,
    version: g.version,
    protocol: g.protocol,
    uptimeMs: g.uptimeMs,
    connection: live.connection ?? g.connection,
    reason: live.reason || g.reason,
    presenceCount: g.presenceCount,
    tickIntervalMs: g.tickIntervalMs,
    health: parseOrNull(g.healthJson),
    cron: parseOrNull(g.cronJson),
    lastSeen: iso(f.lastSeenMs),
    stale: f.stale,
  } satisfies Rest.GatewayInfo;
}

export function agentJson(a: Agent, scope: string) {
  return { gateway: a.gateway || scope, id: a.id, name: a.name, description: a.description, isDefault: a.isDefault, model: a.model } satisfies Rest.Agent;
}

export function sessionJson(s: AgentSession, scope: string) {
  return {
    gateway: s.gateway || scope,
    key: s.key,
    agentId: s.agentId,
    title: s.title,
    updatedAt: iso(s.updatedAtMs),
    lastMessage: s.lastMessage,
    channel: s.channel,
    tokens: s.tokens,
  } satisfies Rest.SessionInfo;
}
