import { Metadata, status, type ServerWritableStream } from '@grpc/grpc-js';
import { DeliverPolicy } from '@nats-io/jetstream';
import { decodeBySubject, firstEventSeq, lastEventSeq, MalformedMessageError, type Bus, type BusEvent } from '@molten/bus';
import { STREAMS, parseStateSubject, type Event } from '@molten/contracts';
import type { WatchEventsRequest } from '@molten/contracts/grpc';
import { GrpcError, invalidArgument } from './errors.js';
import type { RpcContext } from './rpc.js';

/** Live events a watcher may fall behind by (while it replays, or while its client reads slowly). */
const MAX_QUEUED = 20_000;

/** The subject families the events stream holds (docs/events.md). */
const STREAM_FAMILIES = new Set(['state', 'event', 'cmd-status', 'cmd-progress']);

/** What a watch needs: the bus (to replay from the stream), and the api's own following of it. */
export interface WatchDeps {
  bus: Bus;
  /** Calls listener with every event the api applies, as it applies it; returns the detach. */
  follow(listener: (e: BusEvent) => void): () => void;
  /** The last events-stream sequence the api has applied. */
  lastSeq(): number;
  watches: WatchRegistry;
}

/** Active watches, so that a shutdown can tell each client where to resume. */
export class WatchRegistry {
  readonly #watches = new Set<{ end(code: status, message: string): void }>();

  get size(): number {
    return this.#watches.size;
  }

  add(w: { end(code: status, message: string): void }): () => void {
    this.#watches.add(w);
    return () => this.#watches.delete(w);
  }

  endAll(code: status, message: string): void {
    for (const w of [...this.#watches]) w.end(code, message);
  }
}

/** Checks a subject filter: NATS syntax, and a subject family the events stream holds. */
export function parseSubjectFilter(filter: string): string[] | undefined {
  if (!filter) return undefined;
  const tokens = filter.split('.');
  const bad = (why: string) => invalidArgument('subject_filter', `subject_filter "${filter}" ${why}; e.g. "molten.state.proxmox.>" or "molten.cmd-status.*"`);
  if (filter.length > 256 || tokens.some((t) => t === '' || /\s/.test(t))) throw bad('is not a NATS subject');
  if (tokens.slice(0, -1).includes('>') || tokens.some((t) => t.length > 1 && /[*>]/.test(t))) throw bad('uses a wildcard in the wrong place ("*" is one whole token, ">" only the last)');
  if (tokens[0] !== 'molten' && tokens[0] !== '*' && tokens[0] !== '>') throw bad('is outside the events stream (its subjects start with "molten.")');
  const family = tokens[1];
  if (family !== undefined && family !== '*' && family !== '>' && !STREAM_FAMILIES.has(family)) {
    throw bad(`names "${family}", which the events stream does not hold (it holds ${[...STREAM_FAMILIES].join(', ')})`);
  }
  return tokens;
}

/** NATS subject matching: "*" is one token, ">" one or more trailing tokens. */
export function subjectMatches(filter: string[] | undefined, subject: string): boolean {
  if (!filter) return true;
  const parts = subject.split('.');
  for (let i = 0; i < filter.length; i++) {
    const f = filter[i]!;
    if (f === '>') return parts.length > i;
    if (i >= parts.length) return false;
    if (f !== '*' && f !== parts[i]) return false;
  }
  return parts.length === filter.length;
}

/** A bus event as gRPC clients see it. A removal carries no body: its subject names what went. */
export function toEvent(e: BusEvent): Event {
  const base = { seq: e.seq, atMs: e.atMs, subject: e.subject, removed: e.removed };
  if (e.removed) return { ...base, body: undefined };
  const v = e.value as never;
  switch (e.type) {
    case 'molten.v1.Guest':
      return { ...base, body: { $case: 'guest', value: v } };
    case 'molten.v1.Node':
      return { ...base, body: { $case: 'node', value: v } };
    case 'molten.v1.Storage':
      return { ...base, body: { $case: 'storage', value: v } };
    case 'molten.v1.ClusterStatus':
      return { ...base, body: { $case: 'cluster', value: v } };
    case 'molten.v1.UpstreamServer':
      return { ...base, body: { $case: 'server', value: v } };
    case 'molten.v1.CommandTransition':
      return { ...base, body: { $case: 'transition', value: v } };
    case 'molten.v1.CommandProgress':
      return { ...base, body: { $case: 'progress', value: v } };
    case 'molten.v1.Gateway':
      return { ...base, body: { $case: 'gateway', value: v } };
    case 'molten.v1.Agent':
      return { ...base, body: { $case: 'agent', value: v } };
    case 'molten.v1.AgentSession':
      return { ...base, body: { $case: 'session', value: v } };
    default:
      return { ...base, body: undefined };
  }
}

/**
 * WatchEvents: state changes and command transitions with their events-stream sequence.
 *
 * The api already follows the events stream once for everyone (WatchDeps.follow); a watch
 * attaches to that, noting the last sequence the api had applied (L). With from_seq, what lies
 * in (from_seq, L] is read back from the stream itself, then the live events (all > L) follow:
 * no gap, and no duplicate at the seam. A sequence older than the stream still holds is
 * refused with OUT_OF_RANGE rather than silently skipped.
 */
export async function watchEvents(
  deps: WatchDeps,
  call: ServerWritableStream<WatchEventsRequest, Event>,
  ctx: RpcContext,
  sendHeaders: (extra: Record<string, string>) => void,
): Promise<void> {
  const { bus } = deps;
  const filter = parseSubjectFilter(call.request.subjectFilter);
  const fromSeq = call.request.fromSeq;

  let sent = fromSeq;
  let replaying = true;
  let ended = false;
  const queue: BusEvent[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));

  // Stops a replay in progress, whichever way the watch ends.
  const stop = new AbortController();
  const end = (code: status, message: string) => {
    if (ended) return;
    ended = true;
    stop.abort();
    detach();
    unregister();
    const metadata = new Metadata();
    metadata.set('molten-resume-from-seq', String(sent));
    if (code === status.OK) call.end(metadata);
    else call.emit('error', { code, details: `${message}; resume with from_seq=${sent}`, metadata });
    done();
  };
  ctx.signal.addEventListener('abort', () => {
    ended = true;
    stop.abort();
    detach();
    unregister();
    done();
  });

  const write = (e: BusEvent): boolean => {
    if (e.seq <= sent) return true;
    sent = e.seq;
    return call.write(toEvent(e));
  };
  let draining = false;
  const pump = () => {
    while (!ended && queue.length && !draining) {
      if (!write(queue.shift()!)) {
        draining = true;
        call.once('drain', () => {
          draining = false;
          pump();
        });
      }
    }
  };

  // Attach before reading L: every event after L reaches the listener.
  const detach = deps.follow((e) => {
    if (ended || !subjectMatches(filter, e.subject)) return;
    queue.push(e);
    if (queue.length > MAX_QUEUED) {
      end(status.RESOURCE_EXHAUSTED, `the client fell ${MAX_QUEUED} events behind`);
      return;
    }
    if (!replaying) pump();
  });
  const unregister = deps.watches.add({ end });
  const lastApplied = deps.lastSeq();

  try {
    if (fromSeq > 0 && fromSeq < lastApplied) {
      const first = await firstEventSeq(bus);
      if (fromSeq + 1 < first) {
        throw new GrpcError(
          status.OUT_OF_RANGE,
          `from_seq ${fromSeq} is older than the events stream holds (it starts at ${first}); read the current state with ListGuests/ListNodes, then watch with from_seq=${first - 1}`,
          { 'molten-error-code': 'out_of_range', 'molten-first-seq': String(first) },
        );
      }
      sendHeaders({ 'molten-seq': String(lastApplied) });
      await replay(bus, { afterSeq: fromSeq, untilSeq: lastApplied, filter: call.request.subjectFilter, signal: stop.signal }, async (e) => {
        if (!write(e)) await drained(call, stop.signal);
      });
      if (ended) return;
    } else if (fromSeq > lastApplied) {
      const last = await lastEventSeq(bus);
      if (fromSeq > last) {
        throw new GrpcError(status.OUT_OF_RANGE, `from_seq ${fromSeq} is past the end of the events stream (its last sequence is ${last}): was the stream recreated? Watch with from_seq=0 after reading the current state`, {
          'molten-error-code': 'out_of_range',
          'molten-last-seq': String(last),
        });
      }
    }
  } catch (err) {
    // Whatever went wrong before going live: stop listening before the error ends the call.
    ended = true;
    stop.abort();
    detach();
    unregister();
    throw err;
  }
  // The sequence the live part starts after, so a client that sees no event still knows where to resume.
  sendHeaders({ 'molten-seq': String(lastApplied) });
  replaying = false;
  pump();
  if (!ended) await finished;
}

function drained(call: ServerWritableStream<WatchEventsRequest, Event>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('drain', done);
    signal.addEventListener('abort', done);
  });
}

/** Reads (afterSeq, untilSeq] of the events stream matching filter, oldest first. */
async function replay(
  bus: Bus,
  o: { afterSeq: number; untilSeq: number; filter: string; signal: AbortSignal },
  emit: (e: BusEvent) => Promise<void>,
): Promise<void> {
  const consumer = await bus.js.consumers.get(STREAMS.events, {
    ...(o.filter ? { filter_subjects: o.filter } : {}),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: o.afterSeq + 1,
  });
  const info = await consumer.info(true);
  if (info.num_pending === 0) {
    await consumer.delete().catch(() => {});
    return;
  }
  const messages = await consumer.consume({ max_messages: 500 });
  const stop = () => void messages.close().catch(() => {});
  o.signal.addEventListener('abort', stop);
  try {
    for await (const m of messages) {
      if (m.seq > o.untilSeq) break;
      try {
        const decoded = decodeBySubject(m);
        await emit({
          ...decoded,
          seq: m.seq,
          subject: m.subject,
          atMs: Math.floor(m.info.timestampNanos / 1e6),
          address: m.subject.startsWith('molten.state.') ? parseStateSubject(m.subject) : undefined,
        });
      } catch (err) {
        // The api's own follower skips what it cannot decode; a watch skips the same messages.
        if (!(err instanceof MalformedMessageError)) throw err;
      }
      if (m.seq >= o.untilSeq || m.info.pending === 0 || o.signal.aborted) break;
    }
  } finally {
    o.signal.removeEventListener('abort', stop);
    await messages.close().catch(() => {});
  }
}
