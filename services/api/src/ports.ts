/**
 * The api's two edges (REST and gRPC) reach the running control plane only through these
 * ports: `Reads` for what is known, `Commands` for what is asked, `Events` for the live stream.
 * Each is bound once at start (main.ts); tests hand the edges fakes of them.
 */
import type { CommandProgress, CommandRecord, Guest, GuestType, Node, PowerActionName, SnapshotActionName, Storage, SuspendResumeActionName } from '@molten/contracts';
import type * as Rest from '@molten/contracts/rest';
import type { QueryName } from '@molten/contracts';
import type { QueryReplyOf, QueryRequestOf } from '@molten/bus';
import type { Principal } from './auth/tokens.js';

/** One cluster's resources with how fresh they are. */
export interface Scoped<T> {
  cluster: string;
  /** The last good read of the cluster (ms; 0 when never). */
  lastSeenMs: number;
  stale: boolean;
  demo: boolean;
  data: T;
}

export interface GuestFilter {
  node?: string;
  type?: GuestType;
  /** Matches status or qmpstatus. */
  status?: string;
  tag?: string;
}

export interface CommandQuery {
  limit?: number;
  status?: string;
  domain?: string;
  /** The command's scope (a cluster, a server's name, a gateway). */
  scope?: string;
  vmid?: number;
}

/**
 * What is known. A cluster argument that is left out means the default cluster; one that names
 * no known cluster, and a guest or server that does not exist, throw a 404 ApiError.
 */
export interface Reads {
  nodes(cluster?: string): Scoped<Node[]>;
  /** Sorted by vmid; uptime as of now. */
  guests(cluster?: string, filter?: GuestFilter): Scoped<Guest[]>;
  guest(vmid: number, cluster?: string): Scoped<Guest>;
  storage(cluster?: string, node?: string): Scoped<Storage[]>;
  clusterStatus(cluster?: string): Rest.ClusterSummary;
  servers(o?: { tools?: boolean }): Rest.Server[];
  server(id: string): Rest.Server;
  agents(): Rest.AgentsAnswer;
  /** Newest first. */
  commands(q?: CommandQuery): CommandRecord[];
  /** A command (read from the store when this api has not seen it), with its output lines. */
  command(id: string): Promise<{ record: CommandRecord; progress: CommandProgress[] } | undefined>;
  health(): Rest.Health;
}

/** Who asks, and how the request is told apart from a retry of itself. */
export interface SubmitCaller {
  principal: Principal;
  idempotencyKey?: string;
  correlationId?: string;
  /** Why, in the caller's words (kept with the command). */
  reason?: string;
  /** The request that carried it, for the log line that ties the two together. */
  requestId?: string;
  /** "rest", "grpc" or "mcp". */
  via: string;
  /** The MCP client's name (its clientInfo), shown on an approval. */
  client?: string;
}

export interface Submitted {
  record: CommandRecord;
  duplicate: boolean;
}

export interface PowerRequest {
  /** Empty or undefined: the default cluster. */
  cluster?: string;
  vmid: number;
  action: PowerActionName;
}

/** A snapshot of a guest: taken, rolled back to, or deleted. */
export interface SnapshotRequest {
  cluster?: string;
  vmid: number;
  action: SnapshotActionName;
  name: string;
  /** create only. */
  description?: string;
  /** create only, VMs only: save the RAM too. */
  vmstate?: boolean;
}

/** Pause (or, with todisk, hibernate) a running VM; resume a paused or hibernated one. */
export interface SuspendResumeRequest {
  cluster?: string;
  vmid: number;
  action: SuspendResumeActionName;
  todisk?: boolean;
}

export interface ToolCallRequest {
  serverId: string;
  tool: string;
  arguments: Record<string, unknown>;
  timeoutSeconds?: number;
  /** The arguments as the caller's surface spells them ("arguments", "tool_call.arguments_json"), so a 400 points at the right field. */
  argumentsField?: string;
}

export interface AgentRunRequest {
  agentId: string;
  message: string;
  sessionKey?: string;
  /** Empty or undefined: "default" when there is one, else the only gateway known. */
  gateway?: string;
  timeoutSeconds?: number;
}

/**
 * What is asked: each request is checked against what the api knows (the target exists, the
 * upstream can take it, the caller has budget left) and queued as a command. Refusals throw an
 * ApiError that each surface maps to its own codes.
 */
export interface Commands {
  power(caller: SubmitCaller, req: PowerRequest): Promise<Submitted>;
  snapshot(caller: SubmitCaller, req: SnapshotRequest): Promise<Submitted>;
  suspendResume(caller: SubmitCaller, req: SuspendResumeRequest): Promise<Submitted>;
  toolCall(caller: SubmitCaller, req: ToolCallRequest): Promise<Submitted>;
  agentRun(caller: SubmitCaller, req: AgentRunRequest): Promise<Submitted>;
}

/** One SSE connection, as the live stream writes to it. */
export interface EventsClient {
  /**
   * Writes a chunk: a text, or a text already encoded in parts (the snapshot, see
   * sse/snapshot-share.ts: one write, counted as one by the send budget); returns false when the
   * client is too far behind and should be dropped.
   */
  write(chunk: string | readonly Uint8Array[]): boolean;
  close(): void;
}

/** The live stream. */
export interface Events {
  /**
   * Writes a new client its first frames (the events it missed after lastEventId, or a fresh
   * snapshot, then the health report) and keeps it live; returns the detach.
   */
  connect(client: EventsClient, o: { lastEventId?: number; role: string }): () => void;
}

/**
 * Approvals: an agent's calls that wait for an operator (services/api/src/approvals). A
 * decision on an unknown id throws a 404 ApiError; on a decided one a 409 naming its status.
 */
export interface Approvals {
  /** Pending and recently decided, newest first. */
  list(status?: Rest.ApprovalStatus): Rest.Approval[];
  get(id: string): Promise<Rest.Approval | undefined>;
  approve(id: string, by: Principal, reason?: string): Promise<Rest.Approval>;
  deny(id: string, by: Principal, reason?: string): Promise<Rest.Approval>;
}

/**
 * Reads an adapter answers on request (a guest's history, config, addresses, tasks, snapshots; a
 * gateway session's transcript): asked over the bus each time, never stored. `scope` is the
 * cluster, or the gateway for a moltbot query (QUERY_TYPES names each query's domain). Never
 * throws for bus trouble: the reply's error says what went wrong (no_adapter, deadline, a Proxmox
 * refusal, the gateway down).
 */
export interface Queries {
  ask<Q extends QueryName>(scope: string, what: Q, request: QueryRequestOf<Q>): Promise<QueryReplyOf<Q>>;
}
