export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** 0..1: share of each delay that is randomised, so replicas do not retry in step. */
  jitter?: number;
}

/** Exponential backoff with jitter: next() gives the next delay, reset() after a success. */
export class Backoff {
  #attempt = 0;
  readonly #o: Required<BackoffOptions>;
  constructor(opts: BackoffOptions = {}) {
    this.#o = { initialMs: 250, maxMs: 30_000, factor: 2, jitter: 0.2, ...opts };
  }
  next(): number {
    const base = Math.min(this.#o.maxMs, this.#o.initialMs * this.#o.factor ** this.#attempt);
    this.#attempt++;
    const spread = base * this.#o.jitter;
    return Math.max(0, Math.round(base - spread + Math.random() * 2 * spread));
  }
  reset(): void {
    this.#attempt = 0;
  }
  get attempts(): number {
    return this.#attempt;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
