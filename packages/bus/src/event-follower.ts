import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { STREAMS, parseStateSubject, type MessageTypeName, type StateAddress } from '@molten/contracts';
import { Backoff, sleep, type Logger } from '@molten/kit';
import type { Bus } from './connect.js';
import { MalformedMessageError, decodeBySubject, type Decoded } from './messages.js';

export type BusEvent = Decoded<MessageTypeName> & {
  /** The events stream's sequence: the resume point for SSE and gRPC watchers. */
  seq: number;
  subject: string;
  atMs: number;
  /** Set for state subjects. */
  address?: StateAddress;
};

export interface FollowOptions {
  /** Deliver events after this sequence; 0 delivers only events published from now on. */
  afterSeq: number;
  /** One subject filter (nats-server 2.9 allows one per consumer); default all. */
  filter?: string;
  log: Logger;
}

const FOLLOW_EXPIRES_MS = 5_000;
const FOLLOW_HEARTBEAT_MS = 1_000;

/** The events stream's last sequence (0 when empty). */
export async function lastEventSeq(bus: Bus): Promise<number> {
  const info = await bus.jsm.streams.info(STREAMS.events);
  return info.state.last_seq;
}

/** The events stream's first sequence still held (what a resume can reach back to). */
export async function firstEventSeq(bus: Bus): Promise<number> {
  const info = await bus.jsm.streams.info(STREAMS.events);
  return info.state.first_seq;
}

/**
 * Follows the events stream with an ordered consumer from a sequence, decoding each message.
 * Malformed messages are logged with their subject and skipped; the follower survives
 * reconnects and picks up where it was.
 */
export function followEvents(bus: Bus, o: FollowOptions, onEvent: (e: BusEvent) => void): { stop(): Promise<void> } {
  let running = true;
  let messages: ConsumerMessages | undefined;
  let next = o.afterSeq + 1;
  // After a reconnect the server may have restarted: start a fresh consumer from where we are.
  const off = bus.onReconnect(() => void messages?.close().catch(() => {}));
  const loop = (async () => {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
    if (o.afterSeq === 0) next = (await lastEventSeq(bus).catch(() => 0)) + 1;
    while (running) {
      try {
        const consumer = await bus.js.consumers.get(STREAMS.events, {
          ...(o.filter ? { filter_subjects: o.filter } : {}),
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: next,
        });
        // Heartbeats every second: a consumer lost with its server (a cluster node that died
        // while this connection stayed on another) is noticed in about two seconds and made
        // again from where we are, instead of after two 15 s heartbeats.
        messages = await consumer.consume({ max_messages: 2_000, expires: FOLLOW_EXPIRES_MS, idle_heartbeat: FOLLOW_HEARTBEAT_MS });
        backoff.reset();
        for await (const m of messages) {
          next = m.seq + 1;
          let decoded: Decoded<MessageTypeName>;
          try {
            // A message must fit its subject: a Guest on a server's subject is skipped, not applied.
            decoded = decodeBySubject(m);
          } catch (err) {
            const reason = err instanceof MalformedMessageError ? err.reason : String(err);
            o.log.warn({ subject: m.subject, seq: m.seq, reason }, 'skipping malformed event');
            continue;
          }
          onEvent({
            ...decoded,
            seq: m.seq,
            subject: m.subject,
            atMs: Math.floor(m.info.timestampNanos / 1e6),
            address: m.subject.startsWith('molten.state.') ? parseStateSubject(m.subject) : undefined,
          });
        }
      } catch (err) {
        if (!running) break;
        o.log.warn({ err }, 'event follower failed; resuming');
        await sleep(backoff.next());
      }
    }
  })();
  return {
    async stop() {
      running = false;
      off();
      await messages?.close().catch(() => {});
      await loop.catch(() => {});
    },
  };
}
