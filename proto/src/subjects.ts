/**
 * The one table of subject names, stream names and KV buckets. Every service builds subjects
 * through these functions, so a subject is never typed twice.
 *
 *   molten.state.<domain>.<scope>.<kind>.<id>          last-known state (KV key: <domain>.<scope>.<kind>.<id>)
 *   molten.event.<domain>.<scope>.<kind>.<id>.<what>   something happened
 *   molten.cmd.<domain>.<scope>.<action>               a command (work queue)
 *   molten.cmd-status.<commandId>                      a command's lifecycle transitions
 *   molten.cmd-progress.<commandId>                    a running command's streamed output
 *   molten.adapter.<domain>.<instance>.heartbeat       liveness, upstream health, capabilities
 *   molten.query.<domain>.<scope>.<what>               a read answered on request (core NATS request/reply)
 */

export const DOMAINS = ['proxmox', 'mcp', 'moltbot'] as const;
export type Domain = (typeof DOMAINS)[number];

/** Kinds of state a domain publishes. */
export const STATE_KINDS = [
  'qemu',
  'lxc',
  'node',
  'storage',
  'cluster',
  'server',
  'gateway',
  'agent',
  'session',
] as const;
export type StateKind = (typeof STATE_KINDS)[number];

export const STREAMS = {
  /** Commands, a work queue: each message is taken by exactly one adapter replica. */
  commands: 'MOLTEN_CMD',
  /** State changes, events, command transitions and progress, kept for replay (SSE resume). */
  events: 'MOLTEN_EVENTS',
} as const;

export const BUCKETS = {
  /** Last-known state of every resource, keyed <domain>.<scope>.<kind>.<id>. */
  state: 'molten-state',
  /** Command records (cmd.<id>) and idempotency keys (idem.<hash>). */
  commands: 'molten-commands',
  /** Leases for once-per-upstream work (polling), with a bucket-level TTL. */
  leases: 'molten-leases',
} as const;

export const HEADERS = {
  type: 'molten-type',
  contentType: 'content-type',
  /** "DEL" on a state subject: the resource is gone. */
  op: 'molten-op',
  msgId: 'Nats-Msg-Id',
  deadline: 'molten-deadline',
  correlation: 'molten-correlation-id',
  /** On a command the api just stored: the record's KV revision and its writer (see command-submit.ts). */
  recordRevision: 'molten-record-revision',
  recordBy: 'molten-record-by',
} as const;

export const PROTOBUF_CONTENT_TYPE = 'application/x-protobuf';

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Checks that a value can be used as one subject token (scopes, kinds, actions, instances). */
export function assertToken(value: string, what: string): string {
  if (!TOKEN.test(value)) {
    throw new Error(`${what} "${value}" may only hold letters, digits, "-" and "_"`);
  }
  return value;
}

/** An id (or token) of bytes that stand for themselves: it is its own token. */
const PLAIN_ID = /^[A-Za-z0-9_\-/]+$/;

/**
 * Resource ids become one token: bytes outside [A-Za-z0-9_-/] are written as =XX (hex), so
 * storage "pve1/local.zfs" and any node or server name stay one token and a valid KV key.
 */
export function encodeId(id: string): string {
  if (PLAIN_ID.test(id)) return id; // most ids (vmids, node names): nothing to escape
  let out = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_\-/]/.test(ch) ? ch : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out === '') throw new Error('an empty id cannot be a subject token');
  return out;
}

export function decodeId(token: string): string {
  if (PLAIN_ID.test(token)) return token;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '=') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export interface StateAddress {
  domain: string;
  scope: string;
  kind: string;
  id: string;
}

export const subjects = {
  state: (a: StateAddress) =>
    `molten.state.${assertToken(a.domain, 'domain')}.${assertToken(a.scope, 'scope')}.${assertToken(a.kind, 'kind')}.${encodeId(a.id)}`,
  stateKey: (a: StateAddress) =>
    `${assertToken(a.domain, 'domain')}.${assertToken(a.scope, 'scope')}.${assertToken(a.kind, 'kind')}.${encodeId(a.id)}`,
  event: (a: StateAddress, what: string) =>
    `molten.event.${a.domain}.${a.scope}.${a.kind}.${encodeId(a.id)}.${assertToken(what, 'event')}`,
  command: (domain: string, scope: string, action: string) =>
    `molten.cmd.${assertToken(domain, 'domain')}.${assertToken(scope, 'scope')}.${assertToken(action, 'action')}`,
  commandStatus: (commandId: string) => `molten.cmd-status.${assertToken(commandId, 'command id')}`,
  commandProgress: (commandId: string) => `molten.cmd-progress.${assertToken(commandId, 'command id')}`,
  heartbeat: (domain: string, instance: string) =>
    `molten.adapter.${assertToken(domain, 'domain')}.${assertToken(instance, 'instance')}.heartbeat`,
  /** A read the domain's adapter answers on request (see QUERY_TYPES). */
  query: (domain: string, scope: string, what: QueryName) =>
    `molten.query.${assertToken(domain, 'domain')}.${assertToken(scope, 'scope')}.${assertToken(what, 'query')}`,
  /** What one adapter's replicas subscribe to, in the queue group queryQueue(domain, scope). */
  queriesFor: (domain: string, scope: string) => `molten.query.${assertToken(domain, 'domain')}.${assertToken(scope, 'scope')}.*`,

  /** Wildcards, for subscriptions and stream filters only. */
  all: {
    state: 'molten.state.>',
    events: 'molten.event.>',
    commands: 'molten.cmd.>',
    commandStatus: 'molten.cmd-status.>',
    commandProgress: 'molten.cmd-progress.>',
    heartbeats: 'molten.adapter.*.*.heartbeat',
    queries: 'molten.query.>',
  },
  commandsFor: (domain: string, scope: string) => `molten.cmd.${assertToken(domain, 'domain')}.${assertToken(scope, 'scope')}.>`,
  stateOf: (domain: string, scope = '*') => `molten.state.${domain}.${scope}.>`,
} as const;

/** Splits a state subject or KV key back into its address; undefined when it is not one. */
export function parseStateSubject(subject: string): StateAddress | undefined {
  const parts = subject.split('.');
  const offset = parts[0] === 'molten' && parts[1] === 'state' ? 2 : 0;
  if (parts.length !== offset + 4) return undefined;
  const [domain, scope, kind, id] = parts.slice(offset) as [string, string, string, string];
  return { domain, scope, kind, id: decodeId(id) };
}

export function parseCommandSubject(subject: string): { domain: string; scope: string; action: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 5 || parts[0] !== 'molten' || parts[1] !== 'cmd') return undefined;
  return { domain: parts[2]!, scope: parts[3]!, action: parts[4]! };
}

export function parseQuerySubject(subject: string): { domain: string; scope: string; what: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 5 || parts[0] !== 'molten' || parts[1] !== 'query') return undefined;
  return { domain: parts[2]!, scope: parts[3]!, what: parts[4]! };
}

export function parseHeartbeatSubject(subject: string): { domain: string; instance: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 5 || parts[0] !== 'molten' || parts[1] !== 'adapter' || parts[4] !== 'heartbeat') return undefined;
  return { domain: parts[2]!, instance: parts[3]! };
}

/** The command record's key in the molten-commands bucket. */
export const commandKey = (commandId: string) => `cmd.${assertToken(commandId, 'command id')}`;
export const idempotencyKey = (hash: string) => `idem.${assertToken(hash, 'idempotency hash')}`;
export const leaseKey = (domain: string, scope: string, what: string) =>
  `${assertToken(domain, 'domain')}.${assertToken(scope, 'scope')}.${assertToken(what, 'lease')}`;

/** The message type stored under each state kind (KV values carry no headers). */
export const KIND_TYPES = {
  qemu: 'molten.v1.Guest',
  lxc: 'molten.v1.Guest',
  node: 'molten.v1.Node',
  storage: 'molten.v1.Storage',
  cluster: 'molten.v1.ClusterStatus',
  server: 'molten.v1.UpstreamServer',
  gateway: 'molten.v1.Gateway',
  agent: 'molten.v1.Agent',
  session: 'molten.v1.AgentSession',
} as const satisfies Record<StateKind, string>;

export function isStateKind(kind: string): kind is StateKind {
  return (STATE_KINDS as readonly string[]).includes(kind);
}

/**
 * Reads answered on request: molten.query.<domain>.<scope>.<what>, core NATS request/reply (no
 * stream: a read that finds no replica fails at once with "no responders"). The request and the
 * reply are the named messages (proto/molten/v1/queries.proto), with the usual molten-type
 * header; every reply holds its data or a CommandError. Each query belongs to one domain, whose
 * adapter answers it for its scope (a cluster, a gateway).
 */
export const PROXMOX_QUERY_TYPES = {
  /** A guest's history at Proxmox's step for the timeframe. */
  'guest-rrd': { domain: 'proxmox', request: 'molten.v1.GuestRrdRequest', reply: 'molten.v1.GuestRrdReply' },
  /** A node's history. */
  'node-rrd': { domain: 'proxmox', request: 'molten.v1.NodeRrdRequest', reply: 'molten.v1.NodeRrdReply' },
  /** A guest's configuration, summarised, secrets left out. */
  'guest-config': { domain: 'proxmox', request: 'molten.v1.GuestRequest', reply: 'molten.v1.GuestConfigReply' },
  /** A guest's IP addresses (QEMU guest agent, or the container's own view). */
  'guest-addresses': { domain: 'proxmox', request: 'molten.v1.GuestRequest', reply: 'molten.v1.GuestAddressesReply' },
  /** A guest's recent Proxmox tasks. */
  'guest-tasks': { domain: 'proxmox', request: 'molten.v1.GuestTasksRequest', reply: 'molten.v1.TaskListReply' },
  /** One task's log lines. */
  'task-log': { domain: 'proxmox', request: 'molten.v1.TaskLogRequest', reply: 'molten.v1.TaskLogReply' },
  /** A guest's snapshots. */
  'guest-snapshots': { domain: 'proxmox', request: 'molten.v1.GuestRequest', reply: 'molten.v1.GuestSnapshotsReply' },
  /** The HA manager's status (optionally one guest's resource). */
  'ha-status': { domain: 'proxmox', request: 'molten.v1.HaStatusRequest', reply: 'molten.v1.HaStatusReply' },
} as const;

/** Reads the moltbot-adapter answers for its gateway (the scope is the gateway id). */
export const MOLTBOT_QUERY_TYPES = {
  /** One session's transcript (the gateway's chat.history), bounded, secrets masked. */
  'session-history': { domain: 'moltbot', request: 'molten.v1.SessionHistoryRequest', reply: 'molten.v1.SessionHistoryReply' },
} as const;

export const QUERY_TYPES = { ...PROXMOX_QUERY_TYPES, ...MOLTBOT_QUERY_TYPES } as const;
export type ProxmoxQueryName = keyof typeof PROXMOX_QUERY_TYPES;
export type MoltbotQueryName = keyof typeof MOLTBOT_QUERY_TYPES;
export type QueryName = keyof typeof QUERY_TYPES;
export const QUERY_NAMES = Object.keys(QUERY_TYPES) as QueryName[];

export function isQueryName(what: string): what is QueryName {
  return Object.hasOwn(QUERY_TYPES, what);
}

/** The queue group one adapter's replicas share, so each read is answered once. */
export const queryQueue = (domain: string, scope: string) => `molten-query-${assertToken(domain, 'domain')}-${assertToken(scope, 'scope')}`;
