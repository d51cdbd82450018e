/**
 * The JSON shapes the api answers with (docs/api.md). They live once, in the contracts'
 * types-only module `@molten/contracts/rest`, which the api's JSON mapping satisfies; imported
 * here as types only, so the browser bundle carries no protobuf runtime. What follows the
 * re-export is the dashboard's own.
 */
import type { CommandStatus } from '@molten/contracts/rest';

export type {
  Agent,
  AgentSession,
  Capability,
  ClusterHealth,
  ClusterStatus,
  Command,
  CommandError,
  CommandStatus,
  CommandTarget,
  Delta,
  Gateway,
  Guest,
  GuestType,
  Health,
  McpServerCapabilities,
  PowerActionName,
  ProgressEvent,
  ProgressLine,
  PveNode,
  Role,
  Server,
  ServerKind,
  ServerLiveness,
  ServerStatus,
  Session,
  Snapshot,
  SnapshotCluster,
  StateKind,
  Storage,
  Tool,
  ToolAnnotations,
  UpstreamHealth,
} from '@molten/contracts/rest';

export const TERMINAL: ReadonlySet<CommandStatus> = new Set(['succeeded', 'failed', 'timed_out', 'denied', 'expired']);
/** Statuses that end the optimistic view of an action (uncertain can still resolve later). */
export const SETTLED: ReadonlySet<CommandStatus> = new Set(['succeeded', 'failed', 'timed_out', 'denied', 'expired', 'uncertain']);
