/**
 * The JSON the api answers with: REST (`/api/*`) and the SSE stream (`/api/events`), described
 * in docs/api.md. Types only — every import here is `import type` and nothing is exported at run
 * time — so the dashboard imports it (`import type … from '@molten/contracts/rest'`) without
 * carrying protobuf code into the browser, and the api's JSON mapping (services/api/src/state/
 * json.ts and the places that build answers) `satisfies` these shapes.
 *
 * Where the JSON is a bus message as published (the cluster status, the gateway, its agents and
 * sessions in the SSE snapshot), the type is the message's own; where the api reshapes one (a
 * guest with its freshness, a server as judged now), it is written from the message's fields.
 */
import type { Agent as BusAgent, AgentSession as BusAgentSession, Gateway as BusGateway } from './gen/molten/v1/agents.js';
import type { GuestRrdPoint, NodeRrdPoint, SessionHistory as BusSessionHistory } from './gen/molten/v1/queries.js';
import type { ClusterNode, ClusterStatus as BusClusterStatus, Guest as BusGuest, Node as BusNode, Storage as BusStorage } from './gen/molten/v1/resources.js';
import type { Capability as BusCapability, ToolAnnotations as BusToolAnnotations, UpstreamServer } from './gen/molten/v1/upstreams.js';
import type { CommandErrorCode } from './command-errors.js';
import type { ActionToken, GuestType, SafetyClass } from './guest-actions.js';
import type { CommandStatusName, ServerStatusName } from './lifecycle.js';
import type { StateKind } from './subjects.js';

export type { ActionToken, CommandErrorCode, GuestType, StateKind };
export type { GuestActionToken, PowerActionName, SafetyClass, SnapshotActionName, SuspendResumeActionName } from './guest-actions.js';

/** An ISO 8601 time, or null when never. */
export type Time = string | null;

/** viewer and agent may read; only operator may act. An agent's actions go through MCP, and wait for approval. */
export type Role = 'viewer' | 'agent' | 'operator';

// ---- envelopes and errors ----

/** `{ "data": … }`: every successful answer but /api/health's. */
export interface Data<T> {
  data: T;
}

/** The `meta` of a list of one cluster's resources: which cluster, and how fresh. */
export interface ListMeta {
  cluster: string;
  stale: boolean;
  lastSeen: Time;
  demo: boolean;
}

export interface List<T> {
  data: T[];
  meta: ListMeta;
}

/** A command the api queued (202), or the one an Idempotency-Key already named (200, duplicate). */
export interface Queued {
  data: Command;
  duplicate: boolean;
}

/**
 * The codes of the api's own error answers (`{ "error": { "code" } }`) and of gRPC's
 * `molten-error-code` trailer.
 */
export type ApiErrorCode =
  /** 400: a bad parameter or body; `details.field` names it. */
  | 'invalid_request'
  /** 401: no token, or one that is not valid. */
  | 'unauthorized'
  /**
   * 403: the token's role may not do this; or (a guest page read) Proxmox refused Molten's token
   * a privilege: `details.privilege` names it and `details.remedy` gives the `pveum` line.
   */
  | 'forbidden'
  /** 404: no such route, cluster, guest, server or command. */
  | 'not_found'
  /** 409: the target's state refuses the action now (from what the api knows). */
  | 'conflict'
  /** 409: the target cannot do the action at all (a server whose tools Molten cannot call). */
  | 'unsupported'
  /** 413: the body is larger than the route takes (`details.limitBytes`). */
  | 'payload_too_large'
  /** 415: the body is not JSON. */
  | 'unsupported_media_type'
  /** 422: an Idempotency-Key reused on a different request (`details.idempotencyKey`). */
  | 'idempotency_key_reused'
  /** 429: too many requests; `Retry-After` says when to try again. */
  | 'rate_limited'
  /** gRPC WatchEvents only: `from_seq` is before what the events stream holds, or past its end. */
  | 'out_of_range'
  /**
   * 503: the upstream is known to be down or to refuse Molten; `details.remedy` says what to fix.
   * A guest page read that nothing answered says why in `details.reason` (`no_adapter`,
   * `deadline`, `unreachable`, …, a CommandErrorCode).
   */
  | 'upstream_unavailable'
  /** 503: the api cannot reach NATS. */
  | 'bus_unavailable'
  /** 503: the api is reading as many bodies as it takes at once; `Retry-After` says when to try again. */
  | 'overloaded'
  /** 500: a bug; the message says no more (the log has it). */
  | 'internal';

export interface ErrorBody {
  error: { code: ApiErrorCode; message: string; details?: Record<string, unknown> };
}

// ---- Proxmox resources (Proxmox's field names and units, plus the cluster's freshness) ----

/** Every cluster resource carries its cluster's freshness. */
export interface Fresh {
  cluster: string;
  lastSeen: Time;
  stale: boolean;
}

/** An optional bus field the JSON leaves out when it is empty. */
type Omitted<T, K extends keyof T> = Omit<T, K> & { [P in K]?: NonNullable<T[P]> };

/** GET /api/vms, /api/vms/{vmid}/status, the SSE `guest` events. `status` is Proxmox's: a paused VM is running with qmpstatus "paused". */
export type Guest = Omit<Omitted<BusGuest, 'qmpstatus' | 'lock' | 'hastate' | 'pool' | 'imprecise'>, 'type'> & Fresh & { type: GuestType };

/** GET /api/nodes, the SSE `node` events. */
export type PveNode = Omitted<BusNode, 'ip' | 'nodeid' | 'pveversion' | 'cpuModel' | 'imprecise'> & Fresh;

/** GET /api/storage, the SSE `storage` events: with what is free and the used fraction (0..1). */
export type Storage = Omitted<BusStorage, 'imprecise'> & Fresh & { avail: number; used_fraction: number };

/** The cluster's status as published on the bus (the SSE snapshot and `cluster` events carry it as is). */
export type ClusterStatus = BusClusterStatus;

/** GET /api/cluster/status: quorum, counts, the upstream's health and the data's freshness. */
export interface ClusterSummary {
  cluster: string;
  name: string;
  standalone: boolean;
  quorate: boolean;
  version: number;
  upstreamVersion: string;
  demo: boolean;
  nodes: ClusterNode[];
  counts: { nodes: number; nodesOnline: number; guests: number; running: number; stopped: number; paused: number; locked: number };
  upstream: UpstreamHealth | null;
  lastSeen: Time;
  stale: boolean;
}

// ---- commands ----

/** A command's status (a record is never "unspecified"). */
export type CommandStatus = Exclude<CommandStatusName, 'unspecified'>;

/** Why a command failed (the bus's CommandError; empty parts left out). */
export interface CommandError {
  /** One of COMMAND_ERROR_CODES; a string from an adapter newer than this api passes through. */
  code: CommandErrorCode | (string & {});
  message: string;
  upstreamStatus?: string;
  remedy?: string;
  privilege?: string;
  fields?: Record<string, string>;
}

/** What a command acts on. */
export type CommandTarget =
  /** action: a power action, suspend, resume, or snapshot-create|rollback|delete (with the snapshot's name). */
  | { kind: 'guest'; cluster: string; vmid: number; node: string; type: string; action: string; snapshot?: string }
  | { kind: 'tool'; serverId: string; tool: string; arguments: unknown }
  | { kind: 'agent'; gateway: string; agentId: string; message: string; sessionKey?: string };

export interface CommandTransition {
  status: CommandStatus;
  at: Time;
  message: string;
  by: string;
  upstreamTaskId?: string;
}

/** GET /api/commands, /api/commands/{id}, a POST's answer, the SSE `command` events. */
export interface Command {
  id: string;
  correlationId: string;
  actor: { kind: string; name: string; role: string };
  domain: string;
  scope: string;
  action: ActionToken | (string & {});
  /** Why, in the asker's words, when they gave one. */
  reason?: string;
  target?: CommandTarget;
  status: CommandStatus;
  message: string;
  createdAt: Time;
  updatedAt: Time;
  acceptBy: Time;
  deadline: Time;
  durationMs?: number;
  upstreamTaskId?: string;
  result?: unknown;
  error?: CommandError;
  transitions: CommandTransition[];
  /** Only on GET /api/commands/{id}: the command's output lines. */
  progress?: ProgressLine[];
}

/** One output line of a command ("assistant", "tool", "lifecycle", "log"). */
export interface ProgressLine {
  seq: number;
  at: string;
  stream: string;
  text: string;
}

/** The SSE `progress` event: a running command's output line. */
export interface ProgressEvent extends ProgressLine {
  commandId: string;
}

// ---- servers (GET /api/servers, the SSE `server` events) ----

export type ServerKind = 'proxmox-ve' | 'proxmox-mcp' | 'mcp' | 'gateway';

/**
 * A server's status as the api judges it now: the adapter's word while an adapter reports the
 * server; `down` once its reporter stopped; `not_reported` when no running adapter lists it any
 * more (no longer configured); `unknown` for the api's first seconds, before the heartbeats.
 */
export type ServerStatus = ServerStatusName | 'not_reported';

/** MCP tool annotations as the server sent them: hints, each absent when the server did not say. */
export type ToolAnnotations = BusToolAnnotations;

export interface Tool {
  name: string;
  title?: string;
  description: string;
  /** The tool's JSON Schema. */
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

/** One action an upstream offers, and why not when it cannot (a missing privilege, a driver's limit). */
export type Capability = Omitted<BusCapability, 'reason' | 'privilege'>;

export type Server = Pick<
  UpstreamServer,
  'id' | 'name' | 'domain' | 'scope' | 'endpoint' | 'transport' | 'statusReason' | 'reachable' | 'authenticated' | 'usable' | 'latencyMs' | 'version' | 'demo' | 'reporter'
> & {
  kind: ServerKind | (string & {});
  status: ServerStatus;
  remedy?: string;
  lastSeen: Time;
  statusSince: Time;
  stale: boolean;
  /** MCP servers: the protocol version negotiated (e.g. "2026-07-28", "2025-11-25"). */
  protocolVersion?: string;
  /** MCP servers: what the server offers. */
  serverCapabilities?: McpServerCapabilities;
  toolCount: number;
  /** The tools are the last known ones, not confirmed now. */
  toolsStale?: boolean;
  /** When the tools were last known to be current. */
  toolsConfirmedAt?: Time;
  /** Left out with ?tools=0. */
  tools?: Tool[];
  capabilities: Capability[];
  methods?: string[];
};

// ---- the agent gateway (GET /api/agents; the SSE snapshot carries the bus messages) ----

/** The gateway as published on the bus (snapshot and `gateway` events carry it as is). */
export type Gateway = BusGateway;
export type Agent = BusAgent;
export type AgentSession = BusAgentSession;

/** A gateway as GET /api/agents shows it: its connection as judged now, health and cron parsed. */
export type GatewayInfo = Omit<BusGateway, 'healthJson' | 'cronJson'> & { health: unknown; cron: unknown; lastSeen: Time; stale: boolean };
export type SessionInfo = Omit<BusAgentSession, 'updatedAtMs'> & { updatedAt: Time };

export interface AgentsAnswer {
  gateways: GatewayInfo[];
  agents: Agent[];
  sessions: SessionInfo[];
}

/**
 * GET /api/agents/sessions/{gateway}/{key}/history: a session's transcript as the moltbot-adapter
 * read it from the gateway (chat.history) when asked: the bus message as JSON (`timestampMs` is
 * left out when the gateway gave no time). Oldest first; texts cut at 4,000 characters
 * (`textTruncated`), tool-call arguments at 2,000; secret-looking values masked.
 */
export type { SessionHistory, TranscriptMessage, TranscriptToolCall } from './gen/molten/v1/queries.js';
export interface SessionHistoryRead {
  data: BusSessionHistory;
  meta: { gateway: string; fetchedAt: Time };
}
/** A transcript message's `role`. */
export type TranscriptRole = 'user' | 'assistant' | 'tool' | 'system' | 'note';

// ---- health (GET /api/health with a token, the SSE `health` event) ----

export interface UpstreamHealth {
  /** The cluster's own server (not ProxmoxMCP-Plus beside it). */
  serverId?: string;
  status: ServerStatus;
  reason: string;
  remedy?: string;
  /** When this status began. */
  since?: Time;
}

/** A server's liveness, as each health event carries it (what changes without a new descriptor). */
export type ServerLiveness = Pick<Server, 'id' | 'kind' | 'status'> &
  Partial<Pick<Server, 'statusReason' | 'remedy' | 'reachable' | 'authenticated' | 'usable' | 'lastSeen' | 'statusSince' | 'stale'>>;

export interface ClusterHealth {
  id: string;
  stale: boolean;
  lastSeen: Time;
  ageSeconds: number | null;
  pollMs: number | null;
  adapter: 'running' | 'missing';
  replicas: number;
  upstream: UpstreamHealth | null;
}

export interface AdapterHealth {
  domain: string;
  instance: string;
  version: string;
  alive: boolean;
  lastHeartbeat: string;
  upstreams: { serverId: string; scope: string; status: ServerStatus; leader: boolean }[];
}

export interface Health {
  status: 'ok' | 'degraded' | 'down';
  demo: boolean;
  uptimeSeconds: number;
  bus: { connected: boolean; server: string };
  clusters: ClusterHealth[];
  adapters: AdapterHealth[];
  servers: ServerLiveness[];
}

// ---- the SSE stream ----

export interface SnapshotCluster {
  id: string;
  status: ClusterStatus | null;
  nodes: PveNode[];
  guests: Guest[];
  storage: Storage[];
}

/** The `snapshot` event: everything the dashboard shows, at one events-stream sequence. */
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
  /** Pending and recently decided approvals, newest first (each change comes as an `approval` event). */
  approvals: Approval[];
  role: Role;
}

/** A state event (`guest`, `node`, `storage`, `cluster`, `server`, `gateway`, `agent`, `session`). */
export type Delta<T = unknown> =
  | { op: 'put'; domain: string; scope: string; kind: StateKind; id: string; value: T }
  | { op: 'del'; domain: string; scope: string; kind: StateKind; id: string };

/** The `resume` event: a reconnecting client gets the events it missed after it. */
export interface Resume {
  from: number;
  events: number;
}

// ---- approvals (GET /api/approvals, POST /api/approvals/{id}/approve|deny, the SSE `approval` events) ----

/** Where an approval stands: pending until an operator decides or MOLTEN_APPROVAL_TTL_MS passes. */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

/**
 * A call an agent made through Molten's MCP endpoint that waits for a person. Its id is the
 * command's id: the approval is that command in its `awaiting_approval` state, and a decision
 * applies to that one call (its arguments' digest) alone.
 */
export interface Approval {
  id: string;
  status: ApprovalStatus;
  safety: SafetyClass;
  /** Who asked: the agent token's name, the MCP client's name (its clientInfo) when it gave one, and the agent's reason. */
  requestedBy: { actor: string; client?: string; reason?: string };
  /** The call in words, e.g. "hard stop plex (VM 200) on pve2" or "stop_container container web on docker". */
  summary: string;
  target: CommandTarget;
  arguments: unknown;
  /** sha256 (hex) of the call's canonical JSON: what was asked for is what gets approved. */
  argumentsDigest: string;
  requestedAt: string;
  expiresAt: string;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
}

// ---- the session (GET/POST /api/session) ----

export interface Session {
  name: string;
  role: Role;
  /** How the caller signed in ("bearer" or "session"); GET only. */
  via?: 'bearer' | 'session';
}

// ---- a guest's page (GET /api/vms/{vmid}/rrd|config|addresses|tasks|snapshots|ha, /api/nodes/{node}/rrd, /api/tasks/{upid}/log) ----

/**
 * The adapter's own messages, as JSON (int64 fields are numbers): a task's `endtime` is left out
 * while it runs; a snapshot's `snaptime` when Proxmox has none. A history is reshaped (below).
 */
export type {
  GuestAddresses,
  GuestConfig,
  GuestDisk,
  GuestInterface,
  GuestNic,
  GuestSnapshot,
  GuestSnapshots,
  HaStatus,
  HaStatusEntry,
  IpAddress,
  ProxmoxTask,
  TaskList,
  TaskLog,
  TaskLogLine,
} from './gen/molten/v1/queries.js';

/** A guest's rrddata columns, Proxmox's names and units (cpu a 0..1 fraction of maxcpu, bytes, bytes per second). */
export type GuestRrdColumn = Exclude<keyof GuestRrdPoint, 'time'>;
/** A node's rrddata columns. */
export type NodeRrdColumn = Exclude<keyof NodeRrdPoint, 'time'>;

/**
 * A history by column, the shape a chart draws (uPlot's): `time` holds each step's start (Unix
 * seconds, oldest first) and `values` one array per column, aligned with `time`, with `null`
 * where Proxmox has no number for the step (the guest was stopped, or did not exist yet): a gap
 * stays a gap, never 0. Every column is present (all null when the release has no such column).
 */
export interface RrdColumns<K extends string> {
  time: number[];
  values: Record<K, (number | null)[]>;
}

/** GET /api/vms/{vmid}/rrd: a guest's history at Proxmox's step for the timeframe (`stepS`, 60 for an hour or a day on PVE 9). */
export interface GuestRrd extends RrdColumns<GuestRrdColumn> {
  vmid: number;
  node: string;
  timeframe: string;
  cf: string;
  stepS: number;
}

/** GET /api/nodes/{node}/rrd: a node's history. */
export interface NodeRrd extends RrdColumns<NodeRrdColumn> {
  node: string;
  timeframe: string;
  cf: string;
  stepS: number;
}

/**
 * A page read's answer: read from Proxmox through its adapter when asked; `freshUntil` for the
 * history (until Proxmox's next step; `Cache-Control: max-age` says the same). Each read fails
 * alone (ErrorBody): a privilege Proxmox refused Molten's token is 403 `forbidden` with
 * `details.privilege` and `details.remedy` (the `pveum` line); a guest Proxmox does not know 404;
 * no adapter, a timeout or Proxmox down 503 `upstream_unavailable` with `details.reason`
 * (`no_adapter`, `deadline`, …) and `details.remedy`.
 */
export interface PageRead<T> {
  data: T;
  meta: { cluster: string; fetchedAt: Time; freshUntil?: Time };
}

/** `?timeframe=` of a guest's history (Proxmox's rrddata timeframes; hour by default). */
export type RrdTimeframe = 'hour' | 'day' | 'week' | 'month' | 'year';
/** A node's history also has "decade" (PVE 9). */
export type NodeRrdTimeframe = RrdTimeframe | 'decade';
/** `?cf=`: the consolidation function (AVERAGE by default). */
export type RrdCf = 'AVERAGE' | 'MAX';

/**
 * GuestAddresses' `unavailable`: "" (the list is the guest's answer), "agent_not_running"
 * (enabled in the config but not answering: not installed, not started, or the VM is paused),
 * "agent_not_configured" (the config's agent is off) or "guest_stopped"; `message` says it in
 * words, with what to do. This is an answer (200), not an error.
 */
export type AddressesUnavailable = '' | 'agent_not_running' | 'agent_not_configured' | 'guest_stopped';

// ---- the guest page's commands (each answers 202 + Location like the power actions: Queued) ----

/** What every guest action's body may carry. */
export interface ActionBody {
  /** Why, kept with the command (at most 500 characters). */
  reason?: string;
  correlationId?: string;
}

/** POST /api/vms/{vmid}/snapshots (snapshot-create, a change). */
export interface SnapshotCreateBody extends ActionBody {
  /** A letter, then letters, digits, "-" or "_"; 2 to 40 characters; not "current" ("pending" for VMs, "vzdump" for containers). */
  name: string;
  description?: string;
  /** VMs only: save the RAM too, so a rollback resumes the VM running. */
  vmstate?: boolean;
}

/** POST /api/vms/{vmid}/suspend (vm-suspend, destructive): `todisk` hibernates (the RAM to disk, the VM stopped). */
export interface SuspendBody extends ActionBody {
  todisk?: boolean;
}

/** POST /api/vms/{vmid}/resume, /snapshots/{name}/rollback, DELETE /snapshots/{name}: an ActionBody (or none). */
export type GuestActionBody = ActionBody;
