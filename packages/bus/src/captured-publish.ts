import { createInbox, headers as newHeaders, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import type { Logger } from '@molten/kit';

export interface CapturedPublishOptions {
  /** A copy not acknowledged by its stream within this time is sent again (same message id). */
  resendAfterMs?: number;
  /** After this long without an acknowledgement, a message is given up (logged). */
  giveUpAfterMs?: number;
}

interface Pending {
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs;
  /** Messages of the same key wait until this one is captured: their order is kept. */
  key: string;
  firstAtMs: number;
  /** 0 while not yet sent (waiting behind an earlier message of its key). */
  sentAtMs: number;
}

/**
 * Publishes messages a stream captures (the command transitions on the events stream) without
 * a round trip on the publisher's path, and makes sure the stream has them. Each copy carries a
 * reply subject: the stream's acknowledgement, when it comes, settles it. One that gets none (a
 * cluster electing the stream's leader drops what it is sent meanwhile) or gets a 503 is sent
 * again with the same Nats-Msg-Id, so a copy that was stored and only lost its answer is not
 * stored twice. Messages of one key go in order: the next waits for the previous one's
 * acknowledgement (in the common case long since there).
 */
export class CapturedPublisher {
  readonly #pending = new Map<string, Pending>();
  /** Per key, the tokens not yet captured, oldest first. */
  readonly #queues = new Map<string, string[]>();
  readonly #prefix: string;
  readonly #sub: Subscription;
  readonly #timer: NodeJS.Timeout;
  readonly #resendAfterMs: number;
  readonly #giveUpAfterMs: number;
  #next = 0;
  /** Copies sent again (for tests and metrics). */
  resent = 0;
  /** Messages given up. */
  givenUp = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly log: Logger,
    o: CapturedPublishOptions = {},
  ) {
    this.#resendAfterMs = o.resendAfterMs ?? 1_000;
    this.#giveUpAfterMs = o.giveUpAfterMs ?? 60_000;
    this.#prefix = createInbox();
    this.#sub = nc.subscribe(`${this.#prefix}.*`, {
      callback: (err, msg) => {
        if (!err) this.#answer(msg.subject, msg.data, msg.headers);
      },
    });
    this.#timer = setInterval(() => this.#sweep(), Math.max(50, Math.min(this.#resendAfterMs / 2, 250)));
    this.#timer.unref();
    void nc.closed().then(() => this.close());
  }

  /** Messages not yet captured. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Publishes `data` on `subject` with the stream-level message id `msgId`, in order with `key`'s earlier messages. */
  publish(subject: string, data: Uint8Array, o: { msgId: string; key: string; headers?: MsgHdrs }): void {
    const headers = o.headers ?? newHeaders();
    headers.set('Nats-Msg-Id', o.msgId);
    const token = String(this.#next++);
    const p: Pending = { subject, data, headers, key: o.key, firstAtMs: Date.now(), sentAtMs: 0 };
    this.#pending.set(token, p);
    const queue = this.#queues.get(o.key);
    if (queue) queue.push(token);
    else {
      this.#queues.set(o.key, [token]);
      this.#send(token, p);
    }
  }

  close(): void {
    clearInterval(this.#timer);
    if (!this.nc.isClosed()) this.#sub.unsubscribe();
  }

  #send(token: string, p: Pending): void {
    p.sentAtMs = Date.now();
    try {
      this.nc.publish(p.subject, p.data, { headers: p.headers, reply: `${this.#prefix}.${token}` });
    } catch (err) {
      // A closed connection: the sweep tries again until the message is given up.
      this.log.debug({ err, subject: p.subject }, 'publish failed; will send again');
    }
  }

  #answer(subject: string, data: Uint8Array, headers: MsgHdrs | undefined): void {
    const token = subject.slice(this.#prefix.length + 1);
    const p = this.#pending.get(token);
    if (!p) return;
    // 503 (no responders): the stream is not there right now; the sweep sends it again.
    if (headers?.hasError) return void (p.sentAtMs = 1);
    const text = decoder.decode(data);
    // The common answer, {"stream":"MOLTEN_EVENTS","seq":…}, settles it without a parse.
    if (text.startsWith('{"stream":')) return this.#settle(token, p);
    let answer: { stream?: string; error?: { code?: number; description?: string } } = {};
    try {
      answer = JSON.parse(text);
    } catch {
      // Not an acknowledgement: treated as none.
    }
    if (answer.error) {
      if (answer.error.code === 503) return void (p.sentAtMs = 1);
      this.log.warn({ subject: p.subject, error: answer.error.description }, 'the stream refused a message; it is not sent again');
    } else if (!answer.stream) return;
    this.#settle(token, p);
  }

  #settle(token: string, p: Pending): void {
    this.#pending.delete(token);
    const queue = this.#queues.get(p.key);
    if (!queue) return;
    const i = queue.indexOf(token);
    if (i >= 0) queue.splice(i, 1);
    if (!queue.length) return void this.#queues.delete(p.key);
    const nextToken = queue[0]!;
    const next = this.#pending.get(nextToken);
    if (next && next.sentAtMs === 0) this.#send(nextToken, next);
  }

  #sweep(): void {
    if (this.nc.isClosed()) return this.close();
    const now = Date.now();
    for (const [token, p] of this.#pending) {
      if (p.sentAtMs === 0) continue;
      if (now - p.firstAtMs > this.#giveUpAfterMs) {
        this.givenUp++;
        this.log.warn({ subject: p.subject, waitedMs: now - p.firstAtMs }, 'a message the stream never acknowledged is given up (the record has it)');
        this.#settle(token, p);
        continue;
      }
      if (now - p.sentAtMs >= this.#resendAfterMs) {
        this.resent++;
        this.#send(token, p);
      }
    }
  }
}

const decoder = new TextDecoder();
const publishers = new WeakMap<NatsConnection, CapturedPublisher>();

/** The connection's CapturedPublisher (one per connection: one reply subscription). */
export function capturedPublisher(nc: NatsConnection, log: Logger): CapturedPublisher {
  let p = publishers.get(nc);
  if (!p) publishers.set(nc, (p = new CapturedPublisher(nc, log)));
  return p;
}
