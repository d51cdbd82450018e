/**
 * What the SSE clients together may hold in memory. Every client's queued bytes (written by the
 * api, not yet taken by its socket) are counted; a client is dropped when its own queue passes
 * the per-client cap, or when all queues together pass the total and this client is one of the
 * ones behind. A dropped client reconnects with its Last-Event-ID and resumes where it stopped,
 * so dropping costs a slow viewer a reconnect, never an event.
 *
 * What counts is how far a client falls behind the live stream: its largest single write — its
 * opening snapshot (10 MB at 15,000 guests, past the per-client cap) or a resume's replay — is
 * not counted while it waits in its queue. Clients that connect together share one snapshot's
 * bytes (see SnapshotShare), so many of them do not hold many copies.
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
  readonly #queued = new Map<object, { queued: number; allowed: number }>();
  #total = 0;
  /** Clients dropped so far (for metrics and tests). */
  dropped = 0;

  constructor(o: SendBudgetOptions = {}) {
    this.perClientBytes = o.perClientBytes ?? 8 * 1024 * 1024;
    this.totalBytes = o.totalBytes ?? 32 * 1024 * 1024;
    this.behindBytes = Math.min(o.behindBytes ?? 256 * 1024, this.perClientBytes);
  }

  /** Bytes queued for all clients together (their largest single writes aside). */
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
    const was = this.#queued.get(client) ?? { queued: 0, allowed: 0 };
    // Called after each write (the queue grew by it) and each time the socket takes some (it
    // shrank, from the front: the allowed write goes first). The largest write is allowed
    // until the socket has taken it.
    const delta = queued - was.queued;
    const allowed = delta >= 0 ? Math.max(was.allowed, delta) : Math.max(0, was.allowed + delta);
    const counted = queued - allowed;
    this.#total += counted - (was.queued - was.allowed);
    this.#queued.set(client, { queued, allowed });
    const over = counted > this.perClientBytes || (this.#total > this.totalBytes && counted >= this.behindBytes);
    if (over) this.dropped++;
    return !over;
  }

  /** The client is gone: what it held no longer counts. */
  release(client: object): void {
    const was = this.#queued.get(client);
    if (was === undefined) return;
    this.#total -= was.queued - was.allowed;
    this.#queued.delete(client);
  }
}
