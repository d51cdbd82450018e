import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { Agent, AgentSession, Gateway } from './gen/molten/v1/agents.js';
import {
  Command,
  CommandProgress,
  CommandRecord,
  CommandTransition,
} from './gen/molten/v1/commands.js';
import { Event } from './gen/molten/v1/events.js';
import {
  GuestAddressesReply,
  GuestConfigReply,
  GuestRequest,
  GuestRrdReply,
  GuestRrdRequest,
  GuestSnapshotsReply,
  GuestTasksRequest,
  HaStatusReply,
  HaStatusRequest,
  NodeRrdReply,
  NodeRrdRequest,
  SessionHistoryReply,
  SessionHistoryRequest,
  TaskListReply,
  TaskLogReply,
  TaskLogRequest,
} from './gen/molten/v1/queries.js';
import { ClusterStatus, Guest, Node, Storage } from './gen/molten/v1/resources.js';
import { Heartbeat, UpstreamServer } from './gen/molten/v1/upstreams.js';

/** What ts-proto generates for every message: the slice of it the bus needs. */
export interface MessageType<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): T;
  fromJSON(object: unknown): T;
  toJSON(message: T): unknown;
  create(base?: unknown): T;
}

/**
 * Every message that travels on the bus, by the name carried in its molten-type header.
 * Adding a message to the bus means adding it here; nothing else decodes by name.
 */
export const MESSAGE_TYPES = {
  'molten.v1.Guest': Guest,
  'molten.v1.Node': Node,
  'molten.v1.Storage': Storage,
  'molten.v1.ClusterStatus': ClusterStatus,
  'molten.v1.UpstreamServer': UpstreamServer,
  'molten.v1.Heartbeat': Heartbeat,
  'molten.v1.Command': Command,
  'molten.v1.CommandRecord': CommandRecord,
  'molten.v1.CommandTransition': CommandTransition,
  'molten.v1.CommandProgress': CommandProgress,
  'molten.v1.Gateway': Gateway,
  'molten.v1.Agent': Agent,
  'molten.v1.AgentSession': AgentSession,
  'molten.v1.Event': Event,
  // Query requests and replies (QUERY_TYPES in subjects.ts).
  'molten.v1.GuestRrdRequest': GuestRrdRequest,
  'molten.v1.GuestRrdReply': GuestRrdReply,
  'molten.v1.NodeRrdRequest': NodeRrdRequest,
  'molten.v1.NodeRrdReply': NodeRrdReply,
  'molten.v1.GuestRequest': GuestRequest,
  'molten.v1.GuestConfigReply': GuestConfigReply,
  'molten.v1.GuestAddressesReply': GuestAddressesReply,
  'molten.v1.GuestTasksRequest': GuestTasksRequest,
  'molten.v1.TaskListReply': TaskListReply,
  'molten.v1.TaskLogRequest': TaskLogRequest,
  'molten.v1.TaskLogReply': TaskLogReply,
  'molten.v1.GuestSnapshotsReply': GuestSnapshotsReply,
  'molten.v1.HaStatusRequest': HaStatusRequest,
  'molten.v1.HaStatusReply': HaStatusReply,
  'molten.v1.SessionHistoryRequest': SessionHistoryRequest,
  'molten.v1.SessionHistoryReply': SessionHistoryReply,
} as const;

export type MessageTypeName = keyof typeof MESSAGE_TYPES;
export type MessageOf<N extends MessageTypeName> = ReturnType<(typeof MESSAGE_TYPES)[N]['decode']>;

export function isMessageTypeName(name: string | undefined): name is MessageTypeName {
  return name !== undefined && Object.hasOwn(MESSAGE_TYPES, name);
}

export function encodeMessage<N extends MessageTypeName>(name: N, message: MessageOf<N>): Uint8Array {
  const type = MESSAGE_TYPES[name] as unknown as MessageType<MessageOf<N>>;
  return type.encode(message).finish();
}

/** Decodes bytes as the named message; throws with a reason when they are not one. */
export function decodeMessage<N extends MessageTypeName>(name: N, bytes: Uint8Array): MessageOf<N> {
  const type = MESSAGE_TYPES[name] as unknown as MessageType<MessageOf<N>>;
  return type.decode(bytes);
}
