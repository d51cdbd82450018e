import { untrack } from 'svelte';
import type { Approval } from '@molten/contracts/rest';
import type { Command, Delta, Health, ProgressEvent, Snapshot } from '$lib/api/types';

/** The SSE events that carry a state delta. */
export const DELTA_EVENTS = ['guest', 'node', 'storage', 'cluster', 'server', 'gateway', 'agent', 'session'] as const;
export type DeltaEvent = (typeof DELTA_EVENTS)[number];

/** Where the stream's events go (the stores). */
export interface StreamSink {
  snapshot(s: Snapshot): void;
  delta(event: DeltaEvent, d: Delta): void;
  command(c: Command): void;
  progress(p: ProgressEvent): void;
  health(h: Health): void;
  /** An approval was asked for or decided (live only: not replayed on resume). */
  approval?(a: Approval): void;
  /** The stream came back with the events it missed (no snapshot): what is live-only may be behind. */
  resumed?(): void;
}

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'signed-out';
export type SessionCheck = () => Promise<'ok' | 'signed-out' | 'unreachable'>;

export interface EventStreamOptions {
  sink: StreamSink;
  url?: string;
  /** Injected by tests; the browser's EventSource otherwise. */
  EventSource?: new (url: string, init?: EventSourceInit) => EventSource;
  /** Asked when the browser gives up on the stream (an HTTP error): is the session still good? */
  checkSession?: SessionCheck;
  onSignedOut?: () => void;
  /** Silence after which the stream counts as dead before any health cadence is known. */
  deadAfterMs?: number;
  now?: () => number;
  log?: (message: string, detail?: unknown) => void;
}

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

/**
 * The live connection to /api/events: a snapshot, then deltas. The browser reconnects by itself
 * and resends Last-Event-ID; this class adds what it cannot do: notice a stream that went silent
 * (no health event for several heartbeat intervals), reopen a stream the browser gave up on
 * (with ?lastEventId= so only the missed events come back), tell a signed-out session from an
 * unreachable api, and say honestly whether what is on screen is live.
 */
export class EventStream {
  status = $state<StreamStatus>('connecting');
  /** When the stream stopped being live; null while live. */
  downSince = $state<number | null>(null);
  /** When an event last arrived (updated at most once a second). */
  heardAt = $state(0);
  /** Why the stream is not live, in words. */
  problem = $state<string | null>(null);
  /** Reconnection attempts since the stream was last live. */
  attempts = $state(0);

  readonly #o: Required<Pick<EventStreamOptions, 'url' | 'deadAfterMs' | 'now'>> & EventStreamOptions;
  #es: EventSource | undefined;
  #lastEventId: string | undefined;
  #lastMessageAt = 0;
  #attemptAt = 0;
  #lastHealthAt = 0;
  /** The observed health cadence (ms), smoothed. */
  #healthIntervalMs = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #stopped = true;

  constructor(o: EventStreamOptions) {
    this.#o = { url: '/api/events', deadAfterMs: 35_000, now: () => Date.now(), ...o };
  }

  /** The id of the last resumable event seen (what a reconnect resumes from). */
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  /** How long a silent stream is trusted: a few health intervals, once the cadence is known. */
  get deadAfterMs(): number {
    return this.#healthIntervalMs > 0 ? Math.min(this.#o.deadAfterMs, Math.max(5_000, this.#healthIntervalMs * 4)) : this.#o.deadAfterMs;
  }

  /** Opens the stream; returns the cleanup (for $effect, which must not track what this reads). */
  start(): () => void {
    return untrack(() => this.#start());
  }

  #start(): () => void {
    this.#stopped = false;
    this.downSince = this.#o.now();
    this.#open(false);
    this.#watchdog = setInterval(() => this.#check(), 1000);
    const online = () => this.status !== 'live' && this.reconnectNow();
    addEventListener('online', online);
    return () => {
      removeEventListener('online', online);
      this.stop();
    };
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#watchdog);
    clearTimeout(this.#retryTimer);
    this.#es?.close();
    this.#es = undefined;
  }

  /** Drops the current connection and opens a new one now, resuming from the last event. */
  reconnectNow(): void {
    if (this.#stopped) return;
    clearTimeout(this.#retryTimer);
    this.#open(true);
  }

  #open(resume: boolean): void {
    this.#es?.close();
    const ES = this.#o.EventSource ?? EventSource;
    const url = resume && this.#lastEventId ? `${this.#o.url}${this.#o.url.includes('?') ? '&' : '?'}lastEventId=${encodeURIComponent(this.#lastEventId)}` : this.#o.url;
    const es = new ES(url, { withCredentials: true });
    this.#es = es;
    this.#attemptAt = this.#o.now();
    if (this.status === 'live') this.#down('the live stream went silent');
    const on = (type: string, fn: (data: any) => void) =>
      es.addEventListener(type, (e) => {
        if (es !== this.#es) return;
        const m = e as MessageEvent<string>;
        if (m.lastEventId) this.#lastEventId = m.lastEventId;
        this.#heard();
        let data: unknown;
        try {
          data = JSON.parse(m.data);
        } catch {
          this.#o.log?.(`ignoring a malformed "${type}" event`, m.data?.slice?.(0, 200));
          return;
        }
        fn(data);
      });
    on('snapshot', (s: Snapshot) => {
      this.#live();
      this.#o.sink.snapshot(s);
    });
    on('resume', () => {
      this.#live();
      this.#o.sink.resumed?.();
    });
    for (const type of DELTA_EVENTS) on(type, (d: Delta) => this.#o.sink.delta(type, d));
    on('command', (c: Command) => this.#o.sink.command(c));
    on('progress', (p: ProgressEvent) => this.#o.sink.progress(p));
    on('approval', (a: Approval) => this.#o.sink.approval?.(a));
    on('health', (h: Health) => {
      const now = this.#o.now();
      if (this.#lastHealthAt) {
        const gap = now - this.#lastHealthAt;
        this.#healthIntervalMs = this.#healthIntervalMs ? this.#healthIntervalMs * 0.7 + gap * 0.3 : gap;
      }
      this.#lastHealthAt = now;
      this.#o.sink.health(h);
    });
    on('ping', () => {});
    es.onerror = () => {
      if (es !== this.#es) return;
      if (es.readyState === 2 /* CLOSED: the browser will not retry (an HTTP error) */) {
        void this.#afterClose();
      } else {
        // CONNECTING: the browser retries by itself and resends Last-Event-ID.
        this.#down('the connection to the Molten api was lost');
        this.attempts++;
        this.#attemptAt = this.#o.now();
      }
    };
  }

  async #afterClose(): Promise<void> {
    this.#down('the Molten api refused the live stream');
    const verdict = (await this.#o.checkSession?.().catch(() => 'unreachable' as const)) ?? 'unreachable';
    if (this.#stopped) return;
    if (verdict === 'signed-out') {
      this.status = 'signed-out';
      this.problem = 'the session has ended; sign in again';
      this.stop();
      this.#o.onSignedOut?.();
      return;
    }
    if (verdict === 'unreachable') this.problem = 'the Molten api cannot be reached';
    const wait = BACKOFF_MS[Math.min(this.attempts, BACKOFF_MS.length - 1)]!;
    this.attempts++;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#open(true), wait);
  }

  #check(): void {
    if (this.#stopped) return;
    const now = this.#o.now();
    if (this.heardAt !== this.#lastMessageAt) this.heardAt = this.#lastMessageAt;
    if (this.status === 'live' && now - this.#lastMessageAt > this.deadAfterMs) {
      this.#o.log?.(`no event for ${Math.round((now - this.#lastMessageAt) / 1000)} s: reopening the stream`);
      this.#open(true);
    } else if (this.status !== 'live' && this.status !== 'signed-out' && this.#es?.readyState !== 2 && now - this.#attemptAt > Math.max(20_000, this.deadAfterMs)) {
      // The browser's own retry seems stuck (a hung connect): start over.
      this.attempts++;
      this.#open(true);
    }
  }

  #heard(): void {
    this.#lastMessageAt = this.#o.now();
  }

  #live(): void {
    this.status = 'live';
    this.downSince = null;
    this.problem = null;
    this.attempts = 0;
    this.heardAt = this.#lastMessageAt;
  }

  #down(problem: string): void {
    if (this.downSince === null) this.downSince = this.#o.now();
    this.status = 'reconnecting';
    this.problem = problem;
  }
}
