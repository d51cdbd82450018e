import { monotonicFactory } from 'ulid';
import { HEADERS, subjects, type Actor, type Command, type CommandRecord } from '@molten/contracts';
import { requestedRecord, retryOnBusError, type CommandStore, type StoredRecord } from './command-store.js';
import type { Bus } from './connect.js';
import { encodeBus } from './messages.js';
import { markStage } from './stage-trace.js';

/**
 * ulid asks its random source for one byte per character (16 per id); the system's CSPRNG is
 * read a kilobyte at a time instead of once per byte.
 */
const randomBytes = new Uint8Array(1024);
let randomAt = randomBytes.length;
function pooledRandom(): number {
  if (randomAt === randomBytes.length) {
    crypto.getRandomValues(randomBytes);
    randomAt = 0;
  }
  return randomBytes[randomAt++]! / 256;
}

const nextId = monotonicFactory(pooledRandom);

/** A new command id: a ULID, so ids sort by creation time. */
export function newCommandId(): string {
  return nextId();
}

export interface SubmitInput {
  domain: string;
  scope: string;
  action: string;
  payload: NonNullable<Command['payload']>;
  actor: Actor;
  correlationId?: string;
  /** A client's key: the same key (for the same actor) maps to the same command. */
  idempotencyKey?: string;
  /** Why, in the asker's words (kept with the command for the audit trail). */
  reason?: string;
  /** An adapter must accept it within this time. */
  acceptTimeoutMs: number;
  /** It must end within this time. */
  timeoutMs: number;
}

export interface SubmitHooks {
  /**
   * Called with the stored record before the command is queued, so whoever follows the
   * command's transitions knows it before an adapter can move it on.
   */
  onStored?: (record: CommandRecord) => void;
}

/** The command was stored but could not be published: the bus is unreachable. */
export class CommandNotPublishedError extends Error {
  override name = 'CommandNotPublishedError';
}

/**
 * Stores a command as requested and publishes it to its adapter's work queue, with its id as
 * Nats-Msg-Id. A repeated idempotency key returns the first command (duplicate=true) and
 * publishes nothing.
 */
export async function submitCommand(
  bus: Bus,
  store: CommandStore,
  input: SubmitInput,
  hooks: SubmitHooks = {},
  now = Date.now(),
): Promise<{ record: CommandRecord; duplicate: boolean }> {
  let id = newCommandId();
  markStage(bus, id, 'api.submitting');
  if (input.idempotencyKey) {
    const owner = `${input.actor.kind}:${input.actor.name}`;
    const mapped = await store.claimIdempotencyKey(owner, input.idempotencyKey, id);
    if (mapped !== id) {
      const existing = await store.get(mapped);
      if (existing) return { record: existing.record, duplicate: true };
      // The key was claimed but its command never got stored (a crash in between): reuse the id.
      id = mapped;
    }
  }
  const command: Command = {
    id,
    correlationId: input.correlationId || id,
    actor: input.actor,
    domain: input.domain,
    scope: input.scope,
    action: input.action,
    createdAtMs: now,
    acceptByMs: now + input.acceptTimeoutMs,
    deadlineMs: now + input.timeoutMs,
    idempotencyKey: input.idempotencyKey ?? '',
    reason: input.reason ?? '',
    payload: input.payload,
  };
  const { record, created, revision } = await store.create(command, now);
  if (!created) return { record, duplicate: true };
  markStage(bus, id, 'api.recorded');
  hooks.onStored?.(record);
  // The record is requestedRecord(command, store.by, createdAtMs) at this revision: the adapter
  // that takes the command first can accept it without reading it back.
  //
  // The publish waits for the create's answer on purpose (not sent in the same flush): the
  // revision is only known from that answer (a KV revision is the bucket stream's sequence, which
  // every writer moves), and without it the adapter reads the record back before its accept (one
  // round trip there for the one saved here). And a create the server refuses (a full bucket, a
  // timeout) must leave nothing queued: a command published beside it would be stored by the
  // adapter as requested (#recreate) and run, while its client was told it failed.
  await publishCommand(bus, command, revision !== undefined && now === command.createdAtMs ? { [HEADERS.recordRevision]: String(revision), [HEADERS.recordBy]: store.by } : {});
  markStage(bus, id, 'api.published');
  return { record, duplicate: false };
}

/**
 * Queues a stored command on its adapter's work queue, with its id as Nats-Msg-Id (so a
 * repeat within the stream's duplicate window is dropped: which is what makes retrying the
 * publish through a short bus outage safe). An approved command goes this way.
 */
export async function publishCommand(bus: Bus, command: Command, extraHeaders: Record<string, string> = {}): Promise<void> {
  const { data, headers } = encodeBus('molten.v1.Command', command, {
    [HEADERS.deadline]: String(command.deadlineMs),
    [HEADERS.correlation]: command.correlationId,
    ...extraHeaders,
  });
  try {
    await retryOnBusError(() => bus.js.publish(subjects.command(command.domain, command.scope, command.action), data, { headers, msgID: command.id }), bus);
  } catch (err) {
    throw new CommandNotPublishedError(`command ${command.id} could not be queued: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The record of a command as submitCommand stored it, from the headers it published with it;
 * undefined when it did not say (an approved command, one published elsewhere). A guess, good
 * for a first delivery only: a compare-and-set on it fails if anyone has changed the record since.
 */
export function submittedRecord(command: Command, h: { get(k: string): string } | undefined): StoredRecord | undefined {
  const revision = Number(h?.get(HEADERS.recordRevision) || NaN);
  const by = h?.get(HEADERS.recordBy) ?? '';
  if (!Number.isSafeInteger(revision) || revision <= 0 || !by) return undefined;
  return { record: requestedRecord(command, by, command.createdAtMs), revision };
}
