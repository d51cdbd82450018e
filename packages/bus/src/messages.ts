import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';
import {
  HEADERS,
  PROTOBUF_CONTENT_TYPE,
  decodeMessage,
  encodeMessage,
  isMessageTypeName,
  type MessageOf,
  type MessageTypeName,
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
