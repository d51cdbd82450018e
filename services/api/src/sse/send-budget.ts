/**
 * What the SSE clients together may hold in memory. Every client's queued bytes (written by the
 * api, not yet taken by its socket) are counted; a client is dropped when its own queue passes
 * the per-client cap, or when all queues together pass the total and this client is one of the
 * ones behind. A dropped client reconnects with its Last-Event-ID and resumes where it stopped,
 * so dropping costs a slow viewer a reconnect, never an event.
 */
export interface SendBudgetOptions {
  /** One client's queue (default 8 MiB). */
  perClientBytes?: number;
  /** All clients' queues together (default 32 MiB). */
  totalBytes?: number;
  /**
   * Below this a client is not "behind" and is never dropped for the total (default 256 KiB):
   * a burst every client is still reading must not cost the readers their stream.
   */
  behindBytes?: number;
}

export class SendBudget {
  readonly perClientBytes: number;
  readonly totalBytes: number;
  readonly behindBytes: number;
  readonly #queued = new Map<object, number>();
  #total = 0;
  /** Clients dropped so far (for metrics and tests). */
  dropped = 0;

  constructor(o: SendBudgetOptions = {}) {
    this.perClientBytes = o.perClientBytes ?? 8 * 1024 * 1024;
    this.totalBytes = o.totalBytes ?? 32 * 1024 * 1024;
    this.behindBytes = Math.min(o.behindBytes ?? 256 * 1024, this.perClientBytes);
  }

  /** Bytes queued for all clients together. */
  get total(): number {
    return this.#total;
  }

  get clients(): number {
    return this.#queued.size;
  }

  /**
   * Records what a client has queued now; false when it must be dropped (the caller then drops
   * it and calls release()).
   */
  update(client: object, queuedBytes: number): boolean {
    const queued = Math.max(0, queuedBytes);
    this.#total += queued - (this.#queued.get(client) ?? 0);
    this.#queued.set(client, queued);
    const over = queued > this.perClientBytes || (this.#total > this.totalBytes && queued >= this.behindBytes);
    if (over) this.dropped++;
    return !over;
  }

  /** The client is gone: what it held no longer counts. */
  release(client: object): void {
    const queued = this.#queued.get(client);
    if (queued === undefined) return;
    this.#total -= queued;
    this.#queued.delete(client);
  }
}
