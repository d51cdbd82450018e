/**
 * Fans events out to SSE clients. Each event is serialised once, whatever the number of clients;
 * events are flushed in small batches (one write per client per batch), and the most recent
 * ones are kept so a reconnecting client resumes from its Last-Event-ID instead of reloading.
 */
export interface HubClient {
  /** Writes a chunk; returns false when the client is too far behind and should be dropped. */
  write(chunk: string): boolean;
  close(): void;
}

interface Frame {
  seq: number;
  text: string;
}

export interface EventHubOptions {
  /** Events kept for resumption (default 20,000). */
  ringSize?: number;
  /**
   * How long events wait to be written together: 0 (default) writes at the end of the current
   * turn of the event loop, which batches a burst from the bus without delaying a lone event.
   */
  flushMs?: number;
}

export class EventHub {
  /**
   * The last ringSize frames are #ring[#head…]: dropping the oldest frame moves #head, and the
   * dropped ones are cut off in one splice once they are as many as the ring holds (a splice
   * per event would move the whole ring for every event of a poll).
   */
  readonly #ring: Frame[] = [];
  #head = 0;
  readonly #ringSize: number;
  readonly #flushMs: number;
  readonly #clients = new Set<HubClient>();
  #pending: string[] = [];
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #lastSeq = 0;
  /** Events written in total (for metrics). */
  published = 0;

  constructor(o: EventHubOptions = {}) {
    this.#ringSize = o.ringSize ?? 20_000;
    this.#flushMs = o.flushMs ?? 0;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Marks the sequence the current state corresponds to (after hydration). */
  setSeq(seq: number): void {
    this.#lastSeq = Math.max(this.#lastSeq, seq);
  }

  /** A resumable event: it carries the events stream's sequence as its id. */
  publish(seq: number, event: string, data: unknown): void {
    const text = frame(event, data, seq);
    this.#lastSeq = Math.max(this.#lastSeq, seq);
    this.#ring.push({ seq, text });
    if (this.#ring.length - this.#head > this.#ringSize) this.#head = this.#ring.length - this.#ringSize;
    if (this.#head >= this.#ringSize) {
      this.#ring.splice(0, this.#head);
      this.#head = 0;
    }
    this.#queue(text);
  }

  /** A live-only event (health, keep-alive): no id, not replayed. */
  ephemeral(event: string, data: unknown): void {
    this.#queue(frame(event, data));
  }

  /**
   * The frames after seq, when the ring still holds all of them; undefined when the client is
   * too far behind, or names an event this stream never sent (it then gets a fresh snapshot).
   */
  since(seq: number): string[] | undefined {
    if (seq > this.#lastSeq) return undefined;
    if (seq === this.#lastSeq) return [];
    const first = this.#ring[this.#head];
    if (!first || first.seq > seq + 1) return undefined;
    // Binary search for the first frame after seq.
    let lo = this.#head;
    let hi = this.#ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#ring[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return this.#ring.slice(lo).map((f) => f.text);
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

export function frame(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
