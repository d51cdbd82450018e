import { jsonParts } from './json-parts.js';

/**
 * Fans events out to SSE clients. Each event is serialised once, whatever the number of clients;
 * events are flushed in small batches (one write per client per batch), and the most recent
 * ones are kept (as bytes, see FrameRing) so a reconnecting client resumes from its
 * Last-Event-ID instead of reloading.
 */
export interface HubClient {
  /** Writes a chunk; returns false when the client is too far behind and should be dropped. */
  write(chunk: string): boolean;
  close(): void;
}

export interface EventHubOptions {
  /** Events kept for resumption, at most (default 20,000). */
  ringSize?: number;
  /**
   * Bytes of events kept for resumption, at most (default 8 MiB, outside the JavaScript heap):
   * whichever limit comes first. A client further behind gets a fresh snapshot.
   */
  ringBytes?: number;
  /**
   * How long events wait to be written together: 0 (default) writes at the end of the current
   * turn of the event loop, which batches a burst from the bus without delaying a lone event.
   */
  flushMs?: number;
}

export class EventHub {
  readonly #ring: FrameRing;
  readonly #flushMs: number;
  readonly #clients = new Set<HubClient>();
  #pending: string[] = [];
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #lastSeq = 0;
  #liveChanges = 0;
  /** Events written in total (for metrics). */
  published = 0;

  constructor(o: EventHubOptions = {}) {
    this.#ring = new FrameRing(o.ringSize ?? 20_000, o.ringBytes ?? 8 * 1024 * 1024);
    this.#flushMs = o.flushMs ?? 0;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /**
   * Moves on with every live-only event that tells a client of a change a snapshot holds (a
   * command read back from the store, an approval): what a client cannot get from the ring (see
   * SnapshotShare).
   */
  get liveChanges(): number {
    return this.#liveChanges;
  }

  /** Marks the sequence the current state corresponds to (after hydration; an event that shows nothing). */
  setSeq(seq: number): void {
    this.#lastSeq = Math.max(this.#lastSeq, seq);
  }

  /** A resumable event: it carries the events stream's sequence as its id. */
  publish(seq: number, event: string, data: unknown): void {
    const text = frame(event, data, seq);
    this.#lastSeq = Math.max(this.#lastSeq, seq);
    this.#ring.push(seq, text);
    this.#queue(text);
  }

  /**
   * A live-only event: no id, not replayed. `stateless`: it says nothing a snapshot holds (a
   * keep-alive; health, which a new client is sent on its own).
   */
  ephemeral(event: string, data: unknown, o: { stateless?: boolean } = {}): void {
    if (!o.stateless) this.#liveChanges++;
    this.#queue(frame(event, data));
  }

  /**
   * The frames after seq, when the ring still holds all of them; undefined when the client is
   * too far behind, or names an event this stream never sent (it then gets a fresh snapshot).
   */
  since(seq: number): string[] | undefined {
    if (seq > this.#lastSeq) return undefined;
    if (seq === this.#lastSeq) return [];
    return this.#ring.after(seq);
  }

  add(client: HubClient): () => void {
    this.#clients.add(client);
    return () => this.#clients.delete(client);
  }

  flush(): void {
    if (this.#timer) {
      if (this.#flushMs > 0) clearTimeout(this.#timer as NodeJS.Timeout);
      else clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
    if (this.#pending.length === 0) return;
    const chunk = this.#pending.join('');
    this.published += this.#pending.length;
    this.#pending = [];
    for (const c of this.#clients) {
      if (!c.write(chunk)) {
        this.#clients.delete(c);
        c.close();
      }
    }
  }

  closeAll(): void {
    this.flush();
    for (const c of this.#clients) c.close();
    this.#clients.clear();
  }

  #queue(text: string): void {
    this.#pending.push(text);
    if (this.#pending.length >= 500) this.flush();
    else this.#timer ??= this.#flushMs > 0 ? setTimeout(() => this.flush(), this.#flushMs) : setImmediate(() => this.flush());
  }
}

/**
 * The last events as their UTF-8 bytes in one buffer allocated once (not thousands of strings on
 * the heap: at 15,000 guests a poll that changes every one writes 10 MB of frames), used
 * circularly: a frame goes after the newest one, or at the start when the end is too close,
 * and the oldest frames in its way are dropped. An index (sequence, offset, length per frame,
 * in typed arrays) finds the frames after a sequence.
 */
class FrameRing {
  readonly #seq: Float64Array;
  readonly #off: Int32Array;
  readonly #len: Int32Array;
  #bytes: Buffer | undefined;
  /** Index of the oldest frame in the typed arrays, and how many are held. */
  #head = 0;
  #count = 0;
  /** Where the next frame's bytes go. */
  #write = 0;

  constructor(
    readonly maxFrames: number,
    readonly maxBytes: number,
  ) {
    this.#seq = new Float64Array(maxFrames);
    this.#off = new Int32Array(maxFrames);
    this.#len = new Int32Array(maxFrames);
  }

  push(seq: number, text: string): void {
    const len = Buffer.byteLength(text);
    if (len > this.maxBytes) {
      // Too big to keep: the frames before it cannot be replayed without it either.
      this.#head = this.#count = this.#write = 0;
      return;
    }
    this.#bytes ??= Buffer.allocUnsafeSlow(this.maxBytes);
    if (this.#count === this.maxFrames) this.#dropOldest();
    let at = this.#place(len);
    while (at < 0) {
      this.#dropOldest();
      at = this.#place(len);
    }
    this.#bytes.write(text, at, len);
    const slot = (this.#head + this.#count) % this.maxFrames;
    this.#seq[slot] = seq;
    this.#off[slot] = at;
    this.#len[slot] = len;
    this.#count++;
    this.#write = at + len;
  }

  /** The frames after seq, when all of them are still held. */
  after(seq: number): string[] | undefined {
    if (this.#count === 0 || this.#seq[this.#head]! > seq + 1) return undefined;
    // Binary search (over the ring's order) for the first frame after seq.
    let lo = 0;
    let hi = this.#count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#seq[(this.#head + mid) % this.maxFrames]! <= seq) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < this.#count; i++) {
      const slot = (this.#head + i) % this.maxFrames;
      out.push(this.#bytes!.toString('utf8', this.#off[slot]!, this.#off[slot]! + this.#len[slot]!));
    }
    return out;
  }

  /** Where len bytes can go without overwriting a held frame: after the newest, else at the start; -1 when neither. */
  #place(len: number): number {
    if (this.#count === 0) return 0;
    const oldest = this.#off[this.#head]!;
    // Held frames run from the oldest to the newest, possibly wrapping past the end once.
    if (this.#write > oldest) {
      if (this.maxBytes - this.#write >= len) return this.#write;
      return oldest >= len ? 0 : -1;
    }
    return oldest - this.#write >= len ? this.#write : -1;
  }

  #dropOldest(): void {
    this.#head = (this.#head + 1) % this.maxFrames;
    this.#count--;
    if (this.#count === 0) this.#head = this.#write = 0;
  }
}

/** An SSE frame's text up to its data. */
const frameHead = (event: string, id?: number) => `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: `;

export function frame(event: string, data: unknown, id?: number): string {
  return `${frameHead(event, id)}${JSON.stringify(data)}\n\n`;
}

/**
 * frame()'s text in parts (see jsonParts: the JsonLists in data written a chunk at a time): for
 * a frame too big to hold whole (the snapshot at 15,000 guests, ~10 MB).
 */
export function* frameParts(event: string, data: unknown, id?: number, o?: Parameters<typeof jsonParts>[1]): Generator<string> {
  // The head goes with the first part of the JSON, the end with the last: no tiny parts.
  let part = frameHead(event, id);
  let first = true;
  for (const next of jsonParts(data, o)) {
    if (first) part += next;
    else {
      yield part;
      part = next;
    }
    first = false;
  }
  yield `${part}\n\n`;
}
