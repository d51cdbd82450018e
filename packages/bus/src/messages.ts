import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';
import {
  HEADERS,
  KIND_TYPES,
  PROTOBUF_CONTENT_TYPE,
  decodeMessage,
  isStateKind,
  parseStateSubject,
  encodeMessage,
  isMessageTypeName,
  type MessageOf,
  type MessageTypeName,
  type StateKind,
} from '@molten/contracts';
import { validateMessage } from './validate.js';

/** A bus message that cannot be used: wrong or missing type, undecodable, or invalid. */
export class MalformedMessageError extends Error {
  override name = 'MalformedMessageError';
  constructor(
    readonly subject: string,
    readonly reason: string,
  ) {
    super(`malformed message on ${subject}: ${reason}`);
  }
}

export function busHeaders(type: MessageTypeName, extra: Record<string, string> = {}): MsgHdrs {
  const h = natsHeaders();
  h.set(HEADERS.contentType, PROTOBUF_CONTENT_TYPE);
  h.set(HEADERS.type, type);
  for (const [k, v] of Object.entries(extra)) h.set(k, v);
  return h;
}

export function encodeBus<N extends MessageTypeName>(type: N, value: MessageOf<N>, extra?: Record<string, string>) {
  return { data: encodeMessage(type, value), headers: busHeaders(type, extra) };
}

export interface RawMessage {
  subject: string;
  data: Uint8Array;
  headers?: MsgHdrs;
}

export interface Decoded<N extends MessageTypeName = MessageTypeName> {
  type: N;
  value: MessageOf<N>;
  /** True for a state removal (molten-op: DEL); value is then the empty message. */
  removed: boolean;
}

/**
 * Decodes a bus message by its molten-type header, checks it is one of the expected types,
 * and validates it. Throws MalformedMessageError with the reason otherwise.
 */
export function decodeBus<N extends MessageTypeName>(msg: RawMessage, expected?: readonly N[]): Decoded<N> {
  const type = msg.headers?.get(HEADERS.type);
  if (!type) throw new MalformedMessageError(msg.subject, `no ${HEADERS.type} header`);
  if (!isMessageTypeName(type)) throw new MalformedMessageError(msg.subject, `unknown message type "${type}"`);
  if (expected && !(expected as readonly string[]).includes(type)) {
    throw new MalformedMessageError(msg.subject, `expected ${expected.join(' or ')}, got ${type}`);
  }
  const removed = msg.headers?.get(HEADERS.op) === 'DEL';
  let value: MessageOf<N>;
  try {
    value = decodeMessage(type as N, msg.data);
  } catch (err) {
    throw new MalformedMessageError(msg.subject, `not a valid ${type}: ${(err as Error).message}`);
  }
  if (!removed) {
    const problem = validateMessage(type, value);
    if (problem) throw new MalformedMessageError(msg.subject, problem);
  }
  return { type: type as N, value, removed };
}

/**
 * The message types a subject of the events stream may carry: a state subject its kind's type
 * (a Guest on a server's subject is not a server), a command's status and progress subjects their
 * own. Undefined for subjects whose type is free (molten.event.*); an empty list for a state
 * subject of no known kind (nothing fits).
 */
export function expectedTypesFor(subject: string): readonly MessageTypeName[] | undefined {
  if (subject.startsWith('molten.state.')) {
    const kind = parseStateSubject(subject)?.kind ?? '';
    return isStateKind(kind) ? [KIND_TYPES[kind]] : [];
  }
  if (subject.startsWith('molten.cmd-status.')) return ['molten.v1.CommandTransition'];
  if (subject.startsWith('molten.cmd-progress.')) return ['molten.v1.CommandProgress'];
  return undefined;
}

/** decodeBus with the types the message's subject may carry (expectedTypesFor). */
export function decodeBySubject(msg: RawMessage): Decoded<MessageTypeName> {
  const expected = expectedTypesFor(msg.subject);
  if (expected && expected.length === 0) throw new MalformedMessageError(msg.subject, 'a state subject of no known kind');
  const decoded = decodeBus(msg, expected);
  const address = msg.subject.startsWith('molten.state.') ? parseStateSubject(msg.subject) : undefined;
  // A removal is a state subject's alone; elsewhere "DEL" would only skip validation.
  if (decoded.removed && !address) throw new MalformedMessageError(msg.subject, `${HEADERS.op}: DEL on a subject that holds no state`);
  if (address && !decoded.removed) {
    const problem = misplaced(address.kind, address.id, decoded.value);
    if (problem) throw new MalformedMessageError(msg.subject, problem);
  }
  return decoded;
}

/**
 * A state value read from the molten-state bucket (whose values carry no headers): decoded as its
 * key's kind and validated. Throws MalformedMessageError when it does not fit.
 */
export function decodeStateValue(key: string, data: Uint8Array): { address: NonNullable<ReturnType<typeof parseStateSubject>>; value: MessageOf<(typeof KIND_TYPES)[StateKind]> } {
  const address = parseStateSubject(key);
  if (!address || !isStateKind(address.kind)) throw new MalformedMessageError(key, 'a state key of no known kind');
  const type = KIND_TYPES[address.kind];
  let value: MessageOf<(typeof KIND_TYPES)[StateKind]>;
  try {
    value = decodeMessage(type, data);
  } catch (err) {
    throw new MalformedMessageError(key, `not a valid ${type}: ${(err as Error).message}`);
  }
  const problem = validateMessage(type, value) ?? misplaced(address.kind, address.id, value);
  if (problem) throw new MalformedMessageError(key, `not a valid ${type}: ${problem}`);
  return { address, value };
}

/** The id each kind's value carries, which must be the id in its key or subject. */
const VALUE_IDS: Record<StateKind, (v: never) => unknown> = {
  qemu: (g: { vmid: number }) => String(g.vmid),
  lxc: (g: { vmid: number }) => String(g.vmid),
  node: (n: { node: string }) => n.node,
  storage: (s: { id: string }) => s.id,
  cluster: (c: { cluster: string }) => c.cluster,
  server: (s: { id: string }) => s.id,
  gateway: (g: { id: string }) => g.id,
  agent: (a: { id: string }) => a.id,
  session: (x: { key: string }) => x.key,
};

/**
 * Why a state value does not belong under its address (its own id is another one), or
 * undefined. Protobuf decodes another kind's bytes without complaint: a Guest read as a server
 * has some id, but not the one its key names.
 */
function misplaced(kind: string, id: string, value: unknown): string | undefined {
  if (!isStateKind(kind)) return `no state kind "${kind}"`;
  const own = VALUE_IDS[kind](value as never);
  return own === id ? undefined : `its id "${String(own).slice(0, 64)}" is not the one its address names ("${id}")`;
}

/** A record read from the molten-commands bucket, decoded and validated (MalformedMessageError otherwise). */
export function decodeCommandRecord(key: string, data: Uint8Array): MessageOf<'molten.v1.CommandRecord'> {
  let record: MessageOf<'molten.v1.CommandRecord'>;
  try {
    record = decodeMessage('molten.v1.CommandRecord', data);
  } catch (err) {
    throw new MalformedMessageError(key, `not a valid molten.v1.CommandRecord: ${(err as Error).message}`);
  }
  const problem = validateMessage('molten.v1.CommandRecord', record);
  if (problem) throw new MalformedMessageError(key, `not a valid molten.v1.CommandRecord: ${problem}`);
  return record;
}
