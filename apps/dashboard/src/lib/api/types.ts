/**
 * The JSON shapes the api answers with (docs/api.md; services/api/src/state/json.ts is the truth).
 * Written out here rather than imported from @molten/contracts so the browser bundle carries no
 * protobuf runtime: these are the REST/SSE shapes, not the bus messages.
 */

export type GuestType = 'qemu' | 'lxc';
export type PowerAction = 'start' | 'stop' | 'shutdown' | 'reboot';
export type Role = 'viewer' | 'operator';

export interface Guest {
  vmid: number;
  name: string;
  node: string;
  type: GuestType;
  /** Proxmox's status: "running" or "stopped" (a paused VM is running with qmpstatus "paused"). */
  status: string;
  qmpstatus?: string;
  /** 0..1 of maxcpu. */
  cpu: number;
  maxcpu: number;
  mem: number;
  maxmem: number;
  disk: number;
  maxdisk: number;
  /** Seconds. */
  uptime: number;
  tags: string[];
  lock?: string;
  template: boolean;
  hastate?: string;
  pool?: string;
  netin: number;
  netout: number;
  diskread: number;
  diskwrite: number;
  imprecise?: string[];
  cluster: string;
  lastSeen: string | null;
  stale: boolean;
}

export interface PveNode {
  node: string;
  status: string;
  cpu: number;
  maxcpu: number;
  mem: number;
  maxmem: number;
  disk: number;
  maxdisk: number;
  uptime: number;
  level: string;
  ip?: string;
  nodeid?: number;
  pveversion?: string;
  cpuModel?: string;
  loadavg: string[];
  imprecise?: string[];
  cluster: string;
  lastSeen: string | null;
  stale: boolean;
}

export interface Storage {
  id: string;
  storage: string;
  node: string;
  type: string;
  content: string[];
  status: string;
  shared: boolean;
  used: number;
  total: number;
  avail: number;
  used_fraction: number;
  imprecise?: string[];
  cluster: string;
  lastSeen: string | null;
  stale: boolean;
}

/** The cluster's status as published on the bus (the SSE snapshot and `cluster` events carry it raw). */
export interface ClusterStatus {
  cluster: string;
  name: string;
  standalone: boolean;
  quorate: boolean;
  version: number;
  nodes: { name: string; nodeid: number; ip: string; online: boolean; local: boolean; level: string }[];
  upstreamVersion: string;
  demo: boolean;
}

export type CommandStatus = 'requested' | 'accepted' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'uncertain';

export interface CommandError {
  code: string;
  message: string;
  upstreamStatus?: string;
  remedy?: string;
  privilege?: string;
  fields?: Record<string, string>;
}

export type CommandTarget =
  | { kind: 'guest'; cluster: string; vmid: number; node: string; type: string; action: string }
  | { kind: 'tool'; serverId: string; tool: string; arguments: unknown }
  | { kind: 'agent'; gateway: string; agentId: string; message: string; sessionKey?: string };

export interface Command {
  id: string;
  correlationId: string;
  actor: { kind: string; name: string; role: string };
  domain: string;
  scope: string;
  action: string;
  target?: CommandTarget;
  status: CommandStatus;
  message: string;
  createdAt: string | null;
  updatedAt: string | null;
  acceptBy: string | null;
  deadline: string | null;
  durationMs?: number;
  upstreamTaskId?: string;
  result?: unknown;
  error?: CommandError;
  transitions: { status: CommandStatus; at: string | null; message: string; by: string; upstreamTaskId?: string }[];
  /** Only on GET /api/commands/{id}. */
  progress?: ProgressEvent[];
}

export interface ProgressEvent {
  commandId: string;
  seq: number;
  at: string;
  stream: string;
  text: string;
}

export type ServerKind = 'proxmox-ve' | 'proxmox-mcp' | 'mcp' | 'gateway';
/**
 * A server's status as the api judges it now: the adapter's word while an adapter reports the
 * server; `down` once its reporter stopped; `not_reported` when no running adapter lists it any
 * more (no longer configured); `unknown` for the api's first seconds, before the heartbeats.
 */
export type ServerStatus = 'connecting' | 'connected' | 'degraded' | 'auth_failed' | 'down' | 'not_reported' | 'unknown' | 'unspecified';

/** MCP tool annotations as the server sent them: hints, each absent when the server did not say. */
export interface ToolAnnotations {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

export interface Tool {
  name: string;
  title?: string;
  description: string;
  inputSchema: unknown;
  annotations?: ToolAnnotations;
}

/** What an MCP server said it offers, in MCP's own shape. */
export interface McpServerCapabilities {
  tools?: { listChanged?: boolean };
  resources?: { subscribe?: boolean; listChanged?: boolean };
  prompts?: { listChanged?: boolean };
  logging?: Record<string, never>;
  completions?: Record<string, never>;
  /** Further capabilities it declared, by name. */
  other?: string[];
}

export interface Capability {
  action: string;
  available: boolean;
  reason?: string;
  privilege?: string;
}

export interface Server {
  id: string;
  name: string;
  kind: ServerKind | string;
  domain: string;
  scope: string;
  endpoint: string;
  transport: string;
  status: ServerStatus;
  statusReason: string;
  remedy?: string;
  reachable: boolean;
  authenticated: boolean;
  usable: boolean;
  latencyMs: number;
  lastSeen: string | null;
  statusSince: string | null;
  stale: boolean;
  version: string;
  demo: boolean;
  /** MCP servers: the protocol version negotiated (e.g. "2026-07-28", "2025-11-25"). */
  protocolVersion?: string;
  /** The tools are the last known ones, not confirmed now. */
  toolsStale?: boolean;
  /** When the tools were last known to be current. */
  toolsConfirmedAt?: string | null;
  /** MCP servers: what the server offers. */
  serverCapabilities?: McpServerCapabilities;
  toolCount: number;
  tools?: Tool[];
  capabilities: Capability[];
  methods?: string[];
  reporter: string;
}

/** The gateway as published on the bus (snapshot and `gateway` events carry it raw). */
export interface Gateway {
  id: string;
  version: string;
  protocol: number;
  uptimeMs: number;
  connection: string;
  reason: string;
  presenceCount: number;
  healthJson: string;
  cronJson: string;
  tickIntervalMs: number;
}

export interface Agent {
  gateway: string;
  id: string;
  name: string;
  description: string;
  isDefault: boolean;
  model: string;
}

export interface AgentSession {
  gateway: string;
  key: string;
  agentId: string;
  title: string;
  updatedAtMs: number;
  lastMessage: string;
  channel: string;
  tokens: number;
}

export interface UpstreamHealth {
  /** The cluster's own server (not ProxmoxMCP-Plus beside it). */
  serverId?: string;
  status: ServerStatus | string;
  reason: string;
  remedy?: string;
  /** When this status began. */
  since?: string | null;
}

/** A server's liveness, as each health event carries it (what changes without a new descriptor). */
export type ServerLiveness = Pick<Server, 'id' | 'kind' | 'status'> &
  Partial<Pick<Server, 'statusReason' | 'remedy' | 'reachable' | 'authenticated' | 'usable' | 'lastSeen' | 'statusSince' | 'stale'>>;

export interface ClusterHealth {
  id: string;
  stale: boolean;
  lastSeen: string | null;
  ageSeconds: number | null;
  pollMs: number | null;
  adapter: 'running' | 'missing';
  replicas: number;
  upstream: UpstreamHealth | null;
}

/** The `health` event (GET /api/health with a token). */
export interface Health {
  status: 'ok' | 'degraded' | 'down';
  demo: boolean;
  uptimeSeconds: number;
  bus: { connected: boolean; server: string };
  clusters: ClusterHealth[];
  adapters: { domain: string; instance: string; version: string; alive: boolean; lastHeartbeat: string; upstreams: unknown[] }[];
  servers: ServerLiveness[];
}

export interface SnapshotCluster {
  id: string;
  status: ClusterStatus | null;
  nodes: PveNode[];
  guests: Guest[];
  storage: Storage[];
}

export interface Snapshot {
  seq: number;
  at: string;
  defaultCluster: string;
  demo: boolean;
  clusters: SnapshotCluster[];
  servers: Server[];
  gateways: (Gateway & { scope: string })[];
  agents: (Agent & { scope: string })[];
  sessions: (AgentSession & { scope: string })[];
  commands: Command[];
  role: Role;
}

export type StateKind = 'qemu' | 'lxc' | 'node' | 'storage' | 'cluster' | 'server' | 'gateway' | 'agent' | 'session';

export type Delta<T = unknown> =
  | { op: 'put'; domain: string; scope: string; kind: StateKind; id: string; value: T }
  | { op: 'del'; domain: string; scope: string; kind: StateKind; id: string };

export interface Session {
  name: string;
  role: Role;
  via?: string;
}

export const TERMINAL: ReadonlySet<CommandStatus> = new Set(['succeeded', 'failed', 'timed_out']);
/** Statuses that end the optimistic view of an action (uncertain can still resolve later). */
export const SETTLED: ReadonlySet<CommandStatus> = new Set(['succeeded', 'failed', 'timed_out', 'uncertain']);
