/**
 * What may be sent to one server and when: at most `rpm` requests in any window (60 s), at most
 * `maxConcurrency` at once, and nothing at all while the server's Retry-After runs.
 */

export interface RequestGateOptions {
  /** Requests per window; 0 means no limit. */
  rpm: number;
  /** Requests in flight at once; 0 means no limit. */
  maxConcurrency: number;
  /** The window rpm counts over (60 s; shorter only in tests). */
  windowMs?: number;
  /** Called when the server asked for a pause (HTTP 429). */
  onPause?: (ms: number, retryAfterGiven: boolean) => void;
  now?: () => number;
}

export type Release = () => void;

/** The request could not be let through before the caller's deadline. */
export class GateTimeoutError extends Error {
  override name = 'GateTimeoutError';
  constructor(
    message: string,
    /** Why: our own limits, or the server's Retry-After. */
    readonly limit: 'rate_limit' | 'concurrency' | 'server_pause',
    readonly waitMs: number,
  ) {
    super(message);
  }
}

interface Waiter {
  resolve: (release: Release) => void;
  reject: (err: Error) => void;
  deadlineMs: number;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
  signal?: AbortSignal;
}

/** Without a Retry-After (ProxmoxMCP-Plus sends none), pauses grow from 1 s to 60 s. */
const PAUSE_WITHOUT_HINT = { initialMs: 1_000, maxMs: 60_000 };

export class RequestGate {
  readonly #o: Required<Omit<RequestGateOptions, 'onPause'>> & Pick<RequestGateOptions, 'onPause'>;
  readonly #starts: number[] = [];
  readonly #queue: Waiter[] = [];
  #active = 0;
  #pausedUntil = 0;
  #pausesWithoutHint = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;
  readonly #pauseWaiters = new Set<() => void>();

  constructor(opts: RequestGateOptions) {
    this.#o = { windowMs: 60_000, now: Date.now, ...opts };
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Whether a request taken now goes through at once: nobody waits, and no limit holds it back. */
  get open(): boolean {
    return this.#queue.length === 0 && this.#blockedForMs() === 0;
  }

  /** How long the server's pause still runs (0 when none). */
  get pausedForMs(): number {
    return Math.max(0, this.#pausedUntil - this.#o.now());
  }

  /**
   * The server answered 429: nothing is sent until its Retry-After has passed. Returns the pause
   * applied. Without a Retry-After the pause grows with each 429 until a request succeeds.
   */
  serverPaused(retryAfterMs: number | undefined): number {
    let ms: number;
    if (retryAfterMs !== undefined) {
      ms = Math.max(0, retryAfterMs);
    } else {
      ms = Math.min(PAUSE_WITHOUT_HINT.maxMs, PAUSE_WITHOUT_HINT.initialMs * 2 ** this.#pausesWithoutHint);
      this.#pausesWithoutHint++;
    }
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#o.now() + ms);
    this.#o.onPause?.(ms, retryAfterMs !== undefined);
    this.#pump();
    return ms;
  }

  /** A request went through: the server's limit is not biting (any more). */
  succeeded(): void {
    this.#pausesWithoutHint = 0;
  }

  /** Waits until the server's pause is over (for requests that are not counted, like an event stream). */
  async pauseOver(signal?: AbortSignal | null): Promise<void> {
    while (this.pausedForMs > 0 && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          signal?.removeEventListener('abort', done);
          this.#pauseWaiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, this.pausedForMs);
        signal?.addEventListener('abort', done, { once: true });
        this.#pauseWaiters.add(done);
      });
    }
  }

  /** Takes a slot now if one is free and nobody waits; undefined otherwise. */
  tryAcquire(): Release | undefined {
    if (this.#queue.length > 0 || this.#blockedForMs() !== 0) return undefined;
    return this.#take();
  }

  /**
   * Waits for a slot. Fails at once when the server's pause outlasts the deadline (waiting would
   * be for nothing), and at the deadline otherwise.
   */
  acquire(opts: { deadlineMs?: number; signal?: AbortSignal } = {}): Promise<Release> {
    const { signal } = opts;
    const deadlineMs = opts.deadlineMs ?? Number.POSITIVE_INFINITY;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.#queue.length === 0 && this.#blockedForMs() === 0) return Promise.resolve(this.#take());
    const now = this.#o.now();
    if (this.#pausedUntil > deadlineMs) {
      const waitMs = this.#pausedUntil - now;
      return Promise.reject(
        new GateTimeoutError(`the server asked to wait ${formatMs(waitMs)} (HTTP 429 Retry-After), longer than the time left`, 'server_pause', waitMs),
      );
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, deadlineMs, signal };
      if (Number.isFinite(deadlineMs)) {
        waiter.timer = setTimeout(() => this.#expire(waiter), Math.max(0, deadlineMs - now));
      }
      if (signal) {
        waiter.onAbort = () => {
          this.#drop(waiter);
          reject(abortError(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  /** Rejects everything waiting (the connection is closing). */
  close(reason: Error): void {
    for (const w of this.#queue.splice(0)) {
      this.#cleanup(w);
      w.reject(reason);
    }
    clearTimeout(this.#timer);
    for (const wake of this.#pauseWaiters) wake();
  }

  #take(): Release {
    this.#active++;
    if (this.#o.rpm > 0) this.#starts.push(this.#o.now());
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#pump();
    };
  }

  /** 0 when a request may start now; otherwise ms until it may (Infinity: when a slot frees). */
  #blockedForMs(): number {
    const now = this.#o.now();
    if (this.#pausedUntil > now) return this.#pausedUntil - now;
    if (this.#o.maxConcurrency > 0 && this.#active >= this.#o.maxConcurrency) return Number.POSITIVE_INFINITY;
    if (this.#o.rpm > 0) {
      while (this.#starts.length > 0 && this.#starts[0]! <= now - this.#o.windowMs) this.#starts.shift();
      if (this.#starts.length >= this.#o.rpm) return this.#starts[0]! + this.#o.windowMs - now;
    }
    return 0;
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const wait = this.#blockedForMs();
      if (wait === 0) {
        const w = this.#queue.shift()!;
        this.#cleanup(w);
        w.resolve(this.#take());
        continue;
      }
      if (Number.isFinite(wait)) this.#wakeIn(wait);
      return;
    }
  }

  #wakeIn(ms: number): void {
    const at = this.#o.now() + ms;
    if (this.#timer && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, ms + 1);
  }

  #expire(w: Waiter): void {
    if (!this.#drop(w)) return;
    const wait = this.#blockedForMs();
    const cause = this.#pausedUntil > this.#o.now() ? 'server_pause' : wait === Number.POSITIVE_INFINITY ? 'concurrency' : 'rate_limit';
    const why =
      cause === 'server_pause'
        ? 'the server asked to wait (HTTP 429)'
        : cause === 'concurrency'
          ? `${this.#o.maxConcurrency} requests to this server were already running`
          : `the limit of ${this.#o.rpm} requests per ${formatMs(this.#o.windowMs)} was reached`;
    w.reject(new GateTimeoutError(`not sent before the deadline: ${why}`, cause, Number.isFinite(wait) ? wait : 0));
  }

  #drop(w: Waiter): boolean {
    const i = this.#queue.indexOf(w);
    if (i < 0) return false;
    this.#queue.splice(i, 1);
    this.#cleanup(w);
    return true;
  }

  #cleanup(w: Waiter): void {
    clearTimeout(w.timer);
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError');
}

export function formatMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const s = ms / 1_000;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
}

/** Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1_000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
