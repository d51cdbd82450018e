import { createHash } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/nats-core';
import {
  CommandRecord,
  CommandStatus,
  HEADERS,
  canTransition,
  commandKey,
  commandStatusName,
  idempotencyKey,
  isTerminal,
  subjects,
  type ApprovalRecord,
  type Command,
  type CommandError,
  type CommandProgress,
  type CommandTransition,
} from '@molten/contracts';
import { sleep, type Logger } from '@molten/kit';
import { capturedPublisher } from './captured-publish.js';
import type { Bus } from './connect.js';
import { MalformedMessageError, decodeCommandRecord, encodeBus } from './messages.js';

export interface TransitionPatch {
  message?: string;
  error?: CommandError;
  upstreamTaskId?: string;
  resultJson?: string;
  /** Replaces the command (an approved command gets fresh deadlines from its approval). */
  command?: Command;
  /** Sets the approval (a decision's who, when and why). */
  approval?: ApprovalRecord;
}

export interface StoredRecord {
  record: CommandRecord;
  revision: number;
}

/**
 * Command records in the molten-commands bucket. Every change is a compare-and-set on the
 * record's revision, so two writers (an adapter accepting, the api timing it out) cannot both
 * win; each transition is then published on molten.cmd-status.<id>.
 */
export class CommandStore {
  /**
   * Records this store wrote last, with their revisions: the next change of a command this
   * replica is running is one compare-and-set, not a read then a write. A stale entry only costs
   * a failed compare-and-set and a fresh read.
   */
  readonly #written = new Map<string, StoredRecord>();

  constructor(
    private readonly bus: Bus,
    /** Who makes the transitions ("api", an adapter instance). */
    readonly by: string,
    /** Where an unreadable record is reported (it is then treated as absent). */
    private readonly log?: Logger,
  ) {}

  async get(id: string): Promise<StoredRecord | undefined> {
    const key = commandKey(id);
    const e = await this.bus.kv.commands.get(key);
    if (!e || e.operation !== 'PUT' || e.length === 0) return undefined;
    let record: CommandRecord;
    try {
      record = decodeCommandRecord(key, e.value);
    } catch (err) {
      // Garbage in the bucket (a foreign writer, a bug) is no command: logged, and answered as absent.
      if (!(err instanceof MalformedMessageError)) throw err;
      this.log?.warn({ key, reason: err.reason }, 'skipping an unreadable command record');
      return undefined;
    }
    const stored = { record, revision: e.revision };
    if (!isTerminal(stored.record.status)) this.#remember(id, stored);
    return stored;
  }

  /** Forgets the cached copy of a command this replica is done with. */
  forget(id: string): void {
    this.#written.delete(id);
  }

  /**
   * Stores a new command as requested. When the id exists already, returns the stored record
   * with created=false: a command is never stored (or run) twice.
   */
  async create(command: Command, now = Date.now()): Promise<{ record: CommandRecord; created: boolean; revision?: number }> {
    const record = requestedRecord(command, this.by, now);
    const transition = record.transitions[0]!;
    let revision: number;
    let resent = false;
    try {
      revision = await retryOnBusError((attempt) => {
        resent ||= attempt > 0;
        return this.bus.kv.commands.create(commandKey(command.id), CommandRecord.encode(record).finish());
      }, this.bus);
      this.#remember(command.id, { record, revision });
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
      const existing = await retryOnBusError(() => this.get(command.id), this.bus);
      if (!existing) throw err;
      // Sent again after an answer was lost (an outage), it found its own first copy: created.
      if (!(resent && sameRecord(existing.record, record))) return { record: existing.record, created: false };
      revision = existing.revision;
      this.#remember(command.id, existing);
    }
    await this.publishTransition(transition);
    return { record, created: true, revision };
  }

  /**
   * Takes a record as stored at a revision without reading it (a command as the api stored it,
   * see submittedRecord): the next change is one compare-and-set, and a wrong guess only costs
   * a failed compare-and-set and a fresh read. Returns what this store holds for the command
   * now: a later revision it read or wrote itself (a guess already found stale: the server can
   * deliver a command again as if for the first time) wins over the guess.
   */
  assume(id: string, stored: StoredRecord): StoredRecord {
    const known = this.#written.get(id);
    if (known && known.revision > stored.revision) return known;
    this.#remember(id, stored);
    return stored;
  }

  /**
   * Moves a command to a new status. Returns the updated record, or undefined when the move is
   * not allowed from where the command is now (someone else got there first).
   */
  async transition(id: string, to: CommandStatus, patch: TransitionPatch = {}, now = Date.now()): Promise<CommandRecord | undefined> {
    let made: CommandTransition | undefined;
    const record = await this.update(id, (r) => {
      if (!canTransition(r.status, to)) return undefined;
      const next = this.#moved(r, id, to, patch, now);
      made = next.transitions.at(-1);
      return next;
    });
    if (record && made) {
      if (isTerminal(to)) this.#written.delete(id);
      await this.publishTransition(made);
    }
    return record;
  }

  /** A record moved to `to`, with its transition appended (the move is allowed: checked by the caller). */
  #moved(r: CommandRecord, id: string, to: CommandStatus, patch: TransitionPatch, now: number): CommandRecord {
    const made: CommandTransition = {
      commandId: id,
      status: to,
      atMs: now,
      message: patch.message ?? commandStatusName(to),
      by: this.by,
      upstreamTaskId: patch.upstreamTaskId ?? r.upstreamTaskId,
      error: patch.error,
      resultJson: patch.resultJson ?? '',
    };
    return {
      ...r,
      status: to,
      transitions: [...r.transitions, made],
      upstreamTaskId: patch.upstreamTaskId ?? r.upstreamTaskId,
      resultJson: patch.resultJson ?? r.resultJson,
      command: patch.command ?? r.command,
      approval: patch.approval ?? r.approval,
      error: patch.error ?? (isTerminal(to) || to === CommandStatus.COMMAND_STATUS_UNCERTAIN ? r.error : undefined),
      updatedAtMs: now,
    };
  }

  /**
   * Records that the mutating upstream call is about to be made (before it is made). Returns
   * undefined when it must not be made: the command has ended, or (unless `again`: a resume that
   * repeats a call known to be harmless) another delivery of it, a redelivery while this one
   * stalled, has marked its call already.
   *
   * With `accept` (its transition's message), a command still requested is accepted in the same
   * write (one compare-and-set instead of two in a row): a crash after it leaves the command
   * accepted with its call marked, which is resumed (reconciled from the upstream), never called
   * again. One no longer requested (another delivery accepted it) is only marked, as without.
   *
   * With `running` (its transition's message), the same write also moves the command on to
   * running, for a call that has no task id to wait for (an MCP tool call): marked and running
   * mean the same after a crash (the call may have been made). Each transition is published, in
   * order.
   */
  async markUpstreamCall(id: string, now = Date.now(), o: { again?: boolean; accept?: string; running?: string } = {}): Promise<CommandRecord | undefined> {
    let made: CommandTransition[] = [];
    const record = await this.update(id, (r) => {
      made = [];
      if (isTerminal(r.status) || (r.upstreamCallAtMs > 0 && !o.again)) return undefined;
      let next: CommandRecord = { ...r, upstreamCallAtMs: now, updatedAtMs: now };
      if (o.accept !== undefined && next.status === CommandStatus.COMMAND_STATUS_REQUESTED) {
        next = this.#moved(next, id, CommandStatus.COMMAND_STATUS_ACCEPTED, { message: o.accept }, now);
        made.push(next.transitions.at(-1)!);
      }
      if (o.running !== undefined && canTransition(next.status, CommandStatus.COMMAND_STATUS_RUNNING)) {
        next = this.#moved(next, id, CommandStatus.COMMAND_STATUS_RUNNING, { message: o.running }, now);
        made.push(next.transitions.at(-1)!);
      }
      return next;
    });
    if (record) for (const t of made) await this.publishTransition(t);
    return record;
  }

  /** Records the upstream's task id without changing the status. */
  async recordTask(id: string, upstreamTaskId: string, now = Date.now()): Promise<CommandRecord | undefined> {
    return this.update(id, (r) => ({ ...r, upstreamTaskId, updatedAtMs: now }));
  }

  async publishProgress(p: CommandProgress): Promise<void> {
    const { data, headers } = encodeBus('molten.v1.CommandProgress', p);
    await this.bus.js.publish(subjects.commandProgress(p.commandId), data, { headers });
  }

  /**
   * Maps a client's idempotency key to a command id, first writer wins. Returns the id the key
   * maps to: candidateId when this call made the mapping, the earlier command's id otherwise.
   */
  async claimIdempotencyKey(scopeOfKey: string, key: string, candidateId: string): Promise<string> {
    const hash = createHash('sha256').update(`${scopeOfKey}\u0000${key}`).digest('hex').slice(0, 40);
    const k = idempotencyKey(hash);
    try {
      await retryOnBusError(() => this.bus.kv.commands.create(k, new TextEncoder().encode(candidateId)), this.bus);
      return candidateId;
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
      const e = await retryOnBusError(() => this.bus.kv.commands.get(k), this.bus);
      if (e && e.operation === 'PUT') return e.string();
      throw err;
    }
  }

  private async update(id: string, change: (r: CommandRecord) => CommandRecord | undefined): Promise<CommandRecord | undefined> {
    let current = this.#written.get(id);
    for (let attempt = 0; attempt < 20; attempt++) {
      current ??= await retryOnBusError(() => this.get(id), this.bus);
      if (!current) return undefined;
      const next = change(current.record);
      if (!next) {
        this.#written.delete(id);
        return undefined;
      }
      let resent = false;
      try {
        const { revision } = current;
        const written = await retryOnBusError((n) => {
          resent ||= n > 0;
          return this.bus.kv.commands.update(commandKey(id), CommandRecord.encode(next).finish(), revision);
        }, this.bus);
        this.#remember(id, { record: next, revision: written });
        return next;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
        // Someone else wrote it, or our copy was stale: read again and re-decide. Unless this
        // write was sent again after an answer was lost (an outage) and what is there is exactly
        // what we wrote: then the first copy landed, and the write is made.
        this.#written.delete(id);
        current = await retryOnBusError(() => this.get(id), this.bus);
        if (resent && current && sameRecord(current.record, next)) return next;
      }
    }
    throw new Error(`command ${id}: too many concurrent updates`);
  }

  #remember(id: string, stored: StoredRecord): void {
    this.#written.set(id, stored);
    if (this.#written.size > 10_000) this.#written.delete(this.#written.keys().next().value!);
  }

  /**
   * Publishes a transition on molten.cmd-status.<id>, where the events stream captures it. The
   * record (a compare-and-set the server acknowledged) is the truth; the event is how everyone
   * else hears of it, so the command does not wait for it: it goes without a round trip, and
   * the CapturedPublisher sends it again until the stream has it (a cluster electing the
   * stream's leader drops what it is sent meanwhile), in order with the command's other
   * transitions. Whoever follows the events still re-reads a record that looks stuck (see the
   * api's sweep).
   */
  private publishTransition(t: CommandTransition): Promise<void> {
    const { data, headers } = encodeBus('molten.v1.CommandTransition', t, { [HEADERS.correlation]: t.commandId });
    capturedPublisher(this.bus.nc, this.bus.log).publish(subjects.commandStatus(t.commandId), data, {
      headers,
      key: t.commandId,
      msgId: `${t.commandId}.${t.status}.${t.atMs}`,
    });
    return Promise.resolve();
  }
}

/** A new command's record, as requested: the same bytes whoever builds it from the same inputs. */
export function requestedRecord(command: Command, by: string, now: number): CommandRecord {
  const transition: CommandTransition = {
    commandId: command.id,
    status: CommandStatus.COMMAND_STATUS_REQUESTED,
    atMs: now,
    message: 'requested',
    by,
    upstreamTaskId: '',
    resultJson: '',
  };
  return {
    command,
    status: CommandStatus.COMMAND_STATUS_REQUESTED,
    transitions: [transition],
    upstreamTaskId: '',
    upstreamCallAtMs: 0,
    resultJson: '',
    updatedAtMs: now,
  };
}

export function isWrongLastSequence(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.apiError().err_code === JetStreamApiCodes.StreamWrongLastSequence || /wrong last sequence/i.test(err.message);
  return /wrong last sequence|key exists/i.test(String((err as Error)?.message));
}

/** Whether two records are the same bytes: a write that landed although its answer was lost. */
function sameRecord(a: CommandRecord, b: CommandRecord): boolean {
  return Buffer.from(CommandRecord.encode(a).finish()).equals(CommandRecord.encode(b).finish());
}

/** The connection came back while a request was out: its answer will never come. */
class ReconnectedError extends Error {
  override name = 'ReconnectedError';
}

/**
 * Retries an operation while the bus is briefly unreachable (a nats-server restart, a cluster
 * node going away), so a transition made during the outage lands when the connection is back
 * instead of being lost. With the bus, an attempt still out when the connection comes back is
 * given up and made again at once: a request sent into a dead connection (or buffered while
 * reconnecting) is never answered, and would otherwise hold the command for its whole timeout.
 * Only for operations that are safe to repeat (a compare-and-set, a create, a publish with a
 * message id, a read); `op` gets the attempt's number (0 first), so a write can tell that an
 * earlier copy of it may have landed.
 */
export async function retryOnBusError<T>(op: (attempt: number) => Promise<T>, bus?: Pick<Bus, 'onReconnect'>, totalMs = 30_000): Promise<T> {
  const start = Date.now();
  // At most a second apart: in a cluster electing a stream's leader, each second waited here is
  // a second every waiting command is late.
  for (let delay = 100, n = 0; ; delay = Math.min(delay * 2, 1_000), n++) {
    let off: (() => void) | undefined;
    try {
      const attempt = op(n);
      if (!bus) return await attempt;
      // The abandoned attempt still settles later (a timeout): nobody waits for it any more.
      attempt.catch(() => {});
      return await Promise.race([attempt, new Promise<never>((_, reject) => (off = bus.onReconnect(() => reject(new ReconnectedError()))))]);
    } catch (err) {
      if (Date.now() - start > totalMs) throw err;
      if (err instanceof ReconnectedError) {
        delay = 50;
        continue;
      }
      if (!isTransientBusError(err)) throw err;
      await sleep(delay);
    } finally {
      off?.();
    }
  }
}

/** Errors that mean "the bus is not there right now", not "the request is wrong". */
export function isTransientBusError(err: unknown): boolean {
  if (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError) return false;
  // What nats.js says when a JetStream request has no responders: JetStream (or, in a cluster,
  // the stream's leader) is not there right now.
  if ((err as Error)?.name === 'JetStreamNotEnabled') return true;
  if (err instanceof TimeoutError || err instanceof NoRespondersError || err instanceof RequestError) return true;
  // status is the answer's HTTP-like code (503: JetStream temporarily unavailable, e.g. while a
  // cluster elects a leader); code is JetStream's own error number.
  if (err instanceof JetStreamApiError) return err.status === 503;
  return /timeout|no responders|disconnect|reconnect/i.test(`${(err as Error)?.name} ${(err as Error)?.message}`);
}
