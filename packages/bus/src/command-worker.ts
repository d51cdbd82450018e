import { setMaxListeners } from 'node:events';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import {
  CommandStatus,
  STREAMS,
  isTerminal,
  parseCommandSubject,
  commandError,
  subjects,
  type Command,
  type CommandError,
  type CommandRecord,
} from '@molten/contracts';
import { Backoff, sleep, type Logger } from '@molten/kit';
import { CommandStore, retryOnBusError } from './command-store.js';
import { submittedRecord } from './command-submit.js';
import type { Bus } from './connect.js';
import { MalformedMessageError, decodeBus } from './messages.js';
import { markStage } from './stage-trace.js';

export type OutcomeStatus = 'succeeded' | 'failed' | 'timed_out' | 'uncertain';

export interface CommandOutcome {
  status: OutcomeStatus;
  message: string;
  error?: CommandError;
  resultJson?: string;
  upstreamTaskId?: string;
  /**
   * Writes the handler started that the acknowledgement waits for (a guest's new state): they
   * run beside the outcome's record write instead of before it. One that fails is logged; the
   * outcome stands.
   */
  published?: Promise<void>;
}

export interface CommandContext {
  command: Command;
  /** The record as it was when this delivery started. */
  record: CommandRecord;
  /** Aborted when the worker stops: stop waiting, return; the command is handed to another replica. */
  signal: AbortSignal;
  log: Logger;
  /**
   * Call right before the mutating upstream call, so a crash after it is never followed by a
   * second call. In execute() it throws UpstreamCallTakenError when another delivery of the
   * command marked its call first (or the command ended): return nothing, the command resumes.
   */
  beforeUpstreamCall(o?: UpstreamCallMark): Promise<void>;
  /** The upstream took the work: records its task id and moves the command to running. */
  running(upstreamTaskId: string, message?: string): Promise<void>;
  /** Streamed output (an agent's text, a task's log). */
  progress(stream: string, text: string): Promise<void>;
  /** A stage timestamp for the benchmark's trace (see stage-trace.ts); does nothing unless enabled. */
  mark?(stage: string): void;
}

export interface UpstreamCallMark {
  /**
   * Moves the command to running (with this message) in the same write: for a call with no task
   * id to record afterwards (an MCP tool call), one write before the call instead of two.
   */
  running?: string;
}

export interface CommandHandler {
  /**
   * Whether execute() decides about this command without waiting on anything slow before its
   * upstream call (a power action: where the guest is comes from memory). Then the worker does
   * not accept the command on its own: beforeUpstreamCall() accepts it and marks the call in one
   * compare-and-set, one bus round trip less before the call. An execute() that ends without
   * calling it finds the command accepted before its outcome, as without. (Not for a handler
   * that reads the upstream first: the command would stay requested meanwhile, where the api
   * times out commands no adapter took.)
   */
  acceptsWithCall?(command: Command): boolean;
  /** Runs a command that has not reached the upstream yet. */
  execute(ctx: CommandContext): Promise<CommandOutcome>;
  /**
   * Picks up a command whose upstream call was already made (or may have been): follow the
   * recorded task, or reconcile from real state when no task id was recorded. Never re-send.
   */
  resume(ctx: CommandContext): Promise<CommandOutcome>;
}

export interface CommandWorkerOptions {
  domain: string;
  scope: string;
  instance: string;
  handler: CommandHandler;
  log: Logger;
  /** Commands run at once by this replica (default 32). */
  concurrency?: number;
  /**
   * How long a command taken by a replica that died waits before another replica gets it
   * (default 5 s); while a replica works on a command it extends this with in-progress acks.
   * Keep it well below the api's accept timeout: a command a replica received but had not yet
   * accepted when it died must come back in time to be accepted by another.
   */
  ackWaitMs?: number;
  /** How soon an uncertain command is looked at again (default 5 s). */
  reconcileEveryMs?: number;
  /** How long past its deadline an uncertain command keeps being reconciled (default 10 min). */
  reconcileForMs?: number;
}

const OUTCOME_STATUS: Record<OutcomeStatus, CommandStatus> = {
  succeeded: CommandStatus.COMMAND_STATUS_SUCCEEDED,
  failed: CommandStatus.COMMAND_STATUS_FAILED,
  timed_out: CommandStatus.COMMAND_STATUS_TIMED_OUT,
  uncertain: CommandStatus.COMMAND_STATUS_UNCERTAIN,
};

/** The default ack wait (see CommandWorkerOptions.ackWaitMs). */
export const DEFAULT_COMMAND_ACK_WAIT_MS = 5_000;
/**
 * How long one pull for commands waits before it is renewed, and how often the server says it
 * is still there while it waits. Short, so a pull the server dropped (its node went away, the
 * consumer's leader moved) is noticed in about two seconds, not at its expiry.
 */
const PULL_EXPIRES_MS = 5_000;
const PULL_HEARTBEAT_MS = 1_000;
/**
 * How long past its expiry a pull still open here is taken as over. The server ends a pull at
 * its expiry with a 408, except that nats-server 2.9 drops an expired pull without a word when a
 * message comes in before its expiry timer has run (a window of a millisecond or so, wider on a
 * busy machine): the message then waits for the next pull, which only the missed heartbeats
 * (2 s) would have started. By now the server has ended the pull either way (it got it no later
 * than it was sent), so the next one is taken at once.
 */
const PULL_OVERDUE_MS = 250;

/** What becomes of a delivery once this replica is done with it. */
type Disposition = { ack: true } | { ack: false; delayMs?: number };
const ACK: Disposition = { ack: true };

/**
 * Thrown by beforeUpstreamCall when the call must not be made: another delivery of the command
 * made it (or the command ended). This delivery steps back; the command comes back and resumes.
 */
export class UpstreamCallTakenError extends Error {
  override name = 'UpstreamCallTakenError';
}

/** The durable consumer every replica of a scope's adapter pulls its commands from. */
export const commandConsumerName = (domain: string, scope: string) => `cmd-${domain}-${scope}`;

/** After the bus connection comes back, workers are given this long to pull again. */
const REPULL_GRACE_MS = 10_000;

/**
 * Whether some worker is pulling a scope's commands right now (its consumer has pull requests
 * waiting). The consumer itself outlives its workers, so its existence proves nothing; a stopped
 * worker's last pull lingers until it expires (seconds).
 *
 * Around an outage of this connection the answer is yes: while it is down nothing can be known
 * (and a question would only wait for its timeout), and from the moment it is back the workers
 * are reconnecting too, their pulls (and heartbeats) following in a moment; a command taken
 * meanwhile waits for them. "Back" is judged before and after the question: the server can
 * answer on the new connection before this process has handled its reconnect, and then says no
 * pull is waiting because none has come back yet.
 */
export async function commandsPulled(bus: Bus, domain: string, scope: string, now = Date.now()): Promise<boolean> {
  const aroundOutage = (at: number) => !bus.connected() || (bus.lastReconnectAtMs() > 0 && at - bus.lastReconnectAtMs() < REPULL_GRACE_MS);
  if (aroundOutage(now)) return true;
  const reconnects = bus.reconnects();
  let waiting: boolean;
  try {
    waiting = (await bus.jsm.consumers.info(STREAMS.commands, commandConsumerName(domain, scope))).num_waiting > 0;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.apiError().err_code === JetStreamApiCodes.ConsumerNotFound)) throw err;
    waiting = false;
  }
  return waiting || bus.reconnects() !== reconnects || aroundOutage(Date.now());
}

/**
 * Takes commands for one domain and scope from the shared durable consumer: every replica of
 * an adapter pulls from the same consumer, so each command goes to one replica, and a command
 * whose replica died is redelivered to another, which resumes it instead of running it again.
 *
 * A replica pulls only as many commands as it has free slots, and starts each one it receives
 * at once (its in-progress acks then keep it). Nothing waits in a local buffer: a command held
 * by a replica that dies is one it had started, and comes back after the ack wait, within the
 * accept timeout. (A refilling consume() would keep pulling while the replica is busy, and a
 * dying replica would take a backlog of unstarted commands with it until their ack wait ran
 * out, past their accept deadline.)
 */
export class CommandWorker {
  readonly durable: string;
  readonly #store: CommandStore;
  readonly #o: Required<Omit<CommandWorkerOptions, 'handler' | 'log'>> & Pick<CommandWorkerOptions, 'handler' | 'log'>;
  #messages: ConsumerMessages | undefined;
  /** Pulls given up on past their expiry (see PULL_OVERDUE_MS), closed a moment later. */
  readonly #overdue = new Set<ConsumerMessages>();
  #running = false;
  #loop: Promise<void> | undefined;
  readonly #inflight = new Set<Promise<void>>();
  /** Commands running here, each with the further deliveries of it that came meanwhile. */
  readonly #active = new Map<string, JsMsg[]>();
  readonly #abort = new AbortController();
  #offReconnect: (() => void) | undefined;
  #warnedAckWait = false;

  constructor(
    private readonly bus: Bus,
    opts: CommandWorkerOptions,
  ) {
    this.#o = { concurrency: 32, ackWaitMs: DEFAULT_COMMAND_ACK_WAIT_MS, reconcileEveryMs: 5_000, reconcileForMs: 600_000, ...opts };
    this.durable = commandConsumerName(opts.domain, opts.scope);
    // Every command in flight listens on the one stop signal: as many listeners as commands.
    setMaxListeners(0, this.#abort.signal);
    this.#store = new CommandStore(bus, opts.instance);
  }

  get store(): CommandStore {
    return this.#store;
  }

  async start(): Promise<void> {
    await this.#ensureConsumer();
    this.#running = true;
    this.#offReconnect = this.bus.onReconnect(() => this.#closePulls());
    let pulling!: () => void;
    const firstPull = new Promise<void>((r) => (pulling = r));
    this.#loop = this.#consume(pulling).finally(pulling);
    // Started means pulling: the api, which refuses commands no worker would take, sees it at once.
    await Promise.race([firstPull, sleep(5_000)]);
    await this.bus.nc.flush().catch(() => {});
  }

  /** Creates the shared durable consumer, or brings it to this config; safe from every replica. */
  async #ensureConsumer(): Promise<void> {
    const { domain, scope, ackWaitMs } = this.#o;
    const config = {
      durable_name: this.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: subjects.commandsFor(domain, scope),
      ack_wait: nanos(ackWaitMs),
      max_ack_pending: 10_000,
      max_deliver: -1,
    };
    try {
      await this.bus.jsm.consumers.add(STREAMS.commands, config);
    } catch (err) {
      if (!(err instanceof JetStreamApiError)) throw err;
      await this.bus.jsm.consumers.update(STREAMS.commands, this.durable, config);
    }
  }

  /** Stops taking commands; waits up to timeoutMs for those in flight, then hands the rest back. */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.#running = false;
    this.#offReconnect?.();
    await this.#closePulls();
    const all = Promise.allSettled([...this.#inflight]);
    const timedOut = await Promise.race([all.then(() => false), sleep(timeoutMs).then(() => true)]);
    if (timedOut) {
      this.#o.log.warn({ inflight: this.#inflight.size }, 'commands still running at shutdown; handing them back');
      this.#abort.abort();
      await Promise.race([all, sleep(2_000)]);
    }
    await this.#loop?.catch(() => {});
  }

  async #consume(pulling: () => void): Promise<void> {
    // Short and capped: after a reconnect the server may need a moment before JetStream answers,
    // and every second here is a second commands wait.
    const backoff = new Backoff({ initialMs: 100, maxMs: 1_000 });
    let consumer: Consumer | undefined;
    while (this.#running) {
      try {
        consumer ??= await this.bus.js.consumers.get(STREAMS.commands, this.durable);
        while (this.#inflight.size >= this.#o.concurrency) await Promise.race(this.#inflight);
        if (!this.#running) break;
        // One pull for the free slots: the server sends at most that many, each started on arrival.
        this.#messages = await consumer.fetch({
          max_messages: this.#o.concurrency - this.#inflight.size,
          expires: PULL_EXPIRES_MS,
          idle_heartbeat: PULL_HEARTBEAT_MS,
        });
        const pull = this.#messages;
        // The pull goes out when its iteration starts.
        setImmediate(pulling);
        const taken = this.#take(pull);
        let overdueTimer: NodeJS.Timeout | undefined;
        const overdue = new Promise<'overdue'>((r) => (overdueTimer = setTimeout(() => r('overdue'), PULL_EXPIRES_MS + PULL_OVERDUE_MS)));
        try {
          if ((await Promise.race([taken, overdue])) === 'overdue') this.#giveUp(pull, taken);
        } finally {
          clearTimeout(overdueTimer);
        }
        backoff.reset();
      } catch (err) {
        if (!this.#running) break;
        // A pull the server no longer has (its node left, the consumer's leader moved) shows as
        // missed heartbeats; anything else is worth a louder word.
        const quiet = /heartbeats missed/i.test(String((err as Error)?.message));
        this.#o.log[quiet ? 'info' : 'warn']({ err }, 'command pull ended; pulling again');
        // The consumer handle stays good when a pull goes unanswered (missed heartbeats, a
        // timeout: a cluster electing the consumer's leader): looking the consumer up again would
        // wait on that same leader, while the next pull is taken as soon as there is one. Only a
        // pull nobody listens for (503), or a consumer reported missing, means it may be gone: a
        // server that lost its state (memory storage, a new cluster) lost it too; it is made again.
        const missing = err instanceof JetStreamApiError && err.apiError().err_code === JetStreamApiCodes.ConsumerNotFound;
        if (missing || (err as { code?: unknown })?.code === 503 || /no responders/i.test(String((err as Error)?.message))) {
          consumer = undefined;
          if (missing) await this.#ensureConsumer().catch(() => {});
        }
        await sleep(backoff.next());
      }
    }
  }

  /**
   * Starts every command a pull delivers. One given up on (overdue) still starts what it
   * delivers, a command the server sent it just before it ended, while a slot is free; one past
   * the bound goes back to the stream at once, for the next pull.
   */
  async #take(pull: ConsumerMessages): Promise<void> {
    for await (const m of pull) {
      if (this.#overdue.has(pull) && this.#inflight.size >= this.#o.concurrency) {
        m.nak();
        continue;
      }
      const p = this.#handle(m).finally(() => this.#inflight.delete(p));
      this.#inflight.add(p);
    }
  }

  /**
   * A pull past its expiry with no word from the server (see PULL_OVERDUE_MS): the worker pulls
   * again now, and this one is closed a moment later, once anything the server sent it before it
   * ended has arrived (unsubscribing at once could drop such a command until its ack wait).
   */
  #giveUp(pull: ConsumerMessages, taken: Promise<void>): void {
    this.#overdue.add(pull);
    this.#o.log.debug('command pull past its expiry without an answer; pulling again');
    const timer = setTimeout(() => void pull.close().catch(() => {}), PULL_HEARTBEAT_MS / 2);
    void taken
      .catch((err: unknown) => this.#o.log.debug({ err }, 'overdue command pull ended'))
      .finally(() => {
        clearTimeout(timer);
        this.#overdue.delete(pull);
      });
  }

  /** Closes the current pull and any overdue one still open. */
  async #closePulls(): Promise<void> {
    await Promise.all([this.#messages, ...this.#overdue].map((p) => p?.close().catch(() => {})));
  }

  async #handle(m: JsMsg): Promise<void> {
    const log = this.#o.log;
    let command: Command;
    try {
      const address = parseCommandSubject(m.subject);
      if (!address || address.domain !== this.#o.domain || address.scope !== this.#o.scope) {
        throw new MalformedMessageError(m.subject, 'not a command subject of this worker');
      }
      command = decodeBus(m, ['molten.v1.Command']).value;
      if (command.domain !== address.domain || command.scope !== address.scope || command.action !== address.action) {
        throw new MalformedMessageError(m.subject, `command ${command.id} says ${command.domain}.${command.scope}.${command.action}`);
      }
    } catch (err) {
      const reason = err instanceof MalformedMessageError ? err.reason : String(err);
      log.warn({ subject: m.subject, seq: m.seq, reason }, 'dropping malformed command');
      m.term(reason);
      // nats-server 2.9 keeps a terminated work-queue message pending forever (it would fill
      // max_ack_pending); removing it from the stream lets the consumer move on.
      await this.bus.jsm.streams.deleteMessage(STREAMS.commands, m.seq, false).catch(() => {});
      return;
    }

    const twins = this.#active.get(command.id);
    if (twins) {
      // Delivered again while it runs here (a stall outlasted the ack wait): this delivery rides
      // along with the running one, kept alive with it and settled with it.
      twins.push(m);
      m.working();
      return;
    }
    const deliveries = [m];
    this.#active.set(command.id, deliveries);
    markStage(this.bus, command.id, 'adapter.received');
    const clog = log.child({ commandId: command.id, action: command.action });
    const keepAlive = setInterval(() => deliveries.forEach((d) => d.working()), Math.max(1_000, this.#o.ackWaitMs / 3));
    let done: Disposition;
    try {
      done = await this.#run(m, command, clog);
    } catch (err) {
      if (this.#abort.signal.aborted) done = { ack: false };
      else if (err instanceof UpstreamCallTakenError) {
        clog.info({ reason: err.message }, 'another delivery of this command made its upstream call; this one steps back and the command resumes');
        done = { ack: false, delayMs: 1_000 };
      } else {
        clog.error({ err }, 'command handling failed; it will be redelivered');
        done = { ack: false, delayMs: this.#o.reconcileEveryMs };
      }
    } finally {
      clearInterval(keepAlive);
      this.#active.delete(command.id);
    }
    for (const d of deliveries) {
      if (done.ack) d.ack();
      else d.nak(done.delayMs);
    }
    if (done.ack) markStage(this.bus, command.id, 'adapter.acked');
  }

  async #run(m: JsMsg, command: Command, log: Logger): Promise<Disposition> {
    const store = this.#store;
    this.#checkAckWait(command);
    // First delivery of a command the api just stored: its record is known without a read (a
    // stale guess fails its compare-and-set and is read again). A redelivery always reads.
    let stored = m.redelivered ? undefined : submittedRecord(command, m.headers);
    if (stored) stored = store.assume(command.id, stored);
    else stored = await this.#read(command.id);
    if (!stored) stored = await this.#recreate(command, log);
    let record = stored.record;
    const acceptedBy = `accepted by ${this.#o.instance}`;
    /** Accepted by the write that marks the upstream call (see CommandHandler.acceptsWithCall); cleared once it landed. */
    let acceptWithCall = false;
    if (isTerminal(record.status)) {
      log.debug({ status: record.status }, 'command already finished; acknowledging');
      return ACK;
    }

    if (record.status === CommandStatus.COMMAND_STATUS_REQUESTED) {
      const refused = actorRefusal(command);
      if (refused) {
        // Only the api puts commands on the bus, for operators and (by policy or approval) agents;
        // anything else was published around it. Refused, recorded, never run.
        log.warn({ actor: command.actor?.name, role: command.actor?.role }, 'refusing a command whose actor may not act');
        await store.transition(command.id, CommandStatus.COMMAND_STATUS_FAILED, { message: refused, error: commandError('forbidden', refused) });
        return ACK;
      }
      if (Date.now() > command.acceptByMs) {
        await store.transition(command.id, CommandStatus.COMMAND_STATUS_TIMED_OUT, {
          message: `no adapter accepted the command before its deadline (${this.#o.domain} adapter for "${this.#o.scope}" came too late)`,
          error: commandError('no_adapter', 'accepted too late'),
        });
        return ACK;
      }
      if (this.#o.handler.acceptsWithCall?.(command)) {
        // Accepted by the write that marks its upstream call: one round trip less before it.
        acceptWithCall = true;
      } else {
        const accepted = await store.transition(command.id, CommandStatus.COMMAND_STATUS_ACCEPTED, { message: acceptedBy });
        if (!accepted) {
          const now = (await this.#read(command.id)) ?? (await this.#recreate(command, log));
          if (isTerminal(now.record.status)) return ACK;
          record = now.record;
          if (record.status === CommandStatus.COMMAND_STATUS_REQUESTED) {
            // Its record was lost and is back as requested: accept it now.
            const again = await store.transition(command.id, CommandStatus.COMMAND_STATUS_ACCEPTED, { message: acceptedBy });
            if (!again) return { ack: false, delayMs: 1_000 };
            record = again;
            markStage(this.bus, command.id, 'adapter.accepted');
          }
        } else {
          record = accepted;
          markStage(this.bus, command.id, 'adapter.accepted');
        }
      }
    }

    const started = record.upstreamCallAtMs > 0 || record.upstreamTaskId !== '';
    let progressSeq = 0;
    const ctx: CommandContext = {
      command,
      record,
      signal: this.#abort.signal,
      log,
      beforeUpstreamCall: async (o) => {
        // A resume that calls again (a call known to be harmless to repeat) marks it again.
        const marked = await store.markUpstreamCall(command.id, Date.now(), { again: started, accept: acceptWithCall ? acceptedBy : undefined, running: o?.running });
        if (!marked) {
          throw new UpstreamCallTakenError(`command ${command.id}: its upstream call is marked already, or it has ended`);
        }
        acceptWithCall = false;
        markStage(this.bus, command.id, 'adapter.call-marked');
        if (o?.running !== undefined) markStage(this.bus, command.id, 'adapter.running-recorded');
      },
      running: async (upstreamTaskId, message) => {
        const r = await store.transition(command.id, CommandStatus.COMMAND_STATUS_RUNNING, {
          upstreamTaskId,
          message: message ?? `running (${upstreamTaskId})`,
        });
        if (!r) await store.recordTask(command.id, upstreamTaskId);
        markStage(this.bus, command.id, 'adapter.running-recorded');
      },
      progress: async (stream, text) => {
        await store.publishProgress({ commandId: command.id, seq: ++progressSeq, atMs: Date.now(), stream, text });
      },
      mark: (stage) => markStage(this.bus, command.id, stage),
    };

    const outcome = started ? await this.#o.handler.resume(ctx) : await this.#o.handler.execute(ctx);
    if (this.#abort.signal.aborted) return { ack: false };
    // Ended before its upstream call (not found, refused): accepted first, as every command is
    // that an adapter took. Refused when the record is not what this delivery took it for (the
    // api timed it out; another delivery took it and made its call): this one steps back, and the
    // command comes back to be acknowledged as it stands, or resumed.
    if (acceptWithCall && !(await store.transition(command.id, CommandStatus.COMMAND_STATUS_ACCEPTED, { message: acceptedBy }))) {
      log.info('the command changed while it was planned; this delivery steps back');
      return { ack: false, delayMs: 1_000 };
    }
    await store.transition(command.id, OUTCOME_STATUS[outcome.status], {
      message: outcome.message,
      error: outcome.error,
      resultJson: outcome.resultJson,
      upstreamTaskId: outcome.upstreamTaskId,
    });
    markStage(this.bus, command.id, 'adapter.outcome-recorded');
    await outcome.published?.catch((err: unknown) => log.warn({ err }, 'what the command changed was not published; the next read publishes it'));
    log.info({ status: outcome.status, message: outcome.message }, 'command finished');

    if (outcome.status === 'uncertain' && Date.now() < command.deadlineMs + this.#o.reconcileForMs) {
      // Keep it: it comes back after a while and resume() reconciles it from real state.
      return { ack: false, delayMs: this.#o.reconcileEveryMs };
    }
    return ACK;
  }

  /** A command's record, read through a short bus outage. */
  #read(id: string) {
    return retryOnBusError(() => this.#store.get(id), this.bus);
  }

  /**
   * Stores the record of a command that has none: one published around the api, or one whose
   * record a crashed single nats-server lost (its last writes not yet on disk) while the
   * command itself survived.
   */
  async #recreate(command: Command, log: Logger) {
    log.info('the command has no record; storing it as requested');
    await this.#store.create(command);
    const stored = await this.#read(command.id);
    if (!stored) throw new Error('command record vanished');
    return stored;
  }

  /** Says once when the ack wait is too long for the accept timeouts the api gives commands. */
  #checkAckWait(command: Command): void {
    const window = command.acceptByMs - command.createdAtMs;
    if (this.#warnedAckWait || window <= 0 || this.#o.ackWaitMs * 2 <= window) return;
    this.#warnedAckWait = true;
    this.#o.log.warn(
      { ackWaitMs: this.#o.ackWaitMs, acceptTimeoutMs: window },
      'MOLTEN_COMMAND_ACK_WAIT_MS is more than half the accept timeout: a command a dying replica had received but not accepted comes back too late to be accepted; lower it',
    );
  }
}

/** The roles whose commands an adapter runs: operators, and agents (whose calls the api let through its policy or an approval). */
const ACTING_ROLES: ReadonlySet<string> = new Set(['operator', 'agent']);

/** Why an adapter refuses a command by its actor (a viewer, or no role at all), or undefined. */
export function actorRefusal(command: Pick<Command, 'actor' | 'action'>): string | undefined {
  const role = command.actor?.role ?? '';
  if (ACTING_ROLES.has(role)) return undefined;
  return `refused: ${command.actor?.name || 'an unnamed actor'} (role "${role || 'none'}") may not ${command.action}; only operators, and agents through Molten's policy, act`;
}
