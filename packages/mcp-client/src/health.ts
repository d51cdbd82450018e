import { performance } from 'node:perf_hooks';
import type { Logger } from '@molten/kit';
import type { Diagnosis } from './errors.js';
import { formatMs, type RequestGate } from './request-gate.js';
import type { Session } from './session.js';

/** Something wrong with a working connection: it makes the status degraded. */
export interface Issue {
  reason: string;
  remedy: string;
}

/** Why a working connection is degraded; the first present one is the one reported. */
export type IssueKey = 'rate' | 'ping' | 'tools' | 'latency';
const ISSUE_ORDER: readonly IssueKey[] = ['rate', 'ping', 'tools', 'latency'];

/** What the health monitor needs of the connection it watches. */
export interface HealthHost {
  /** The session in use, if any. */
  readonly live: Session | undefined;
  diagnose(err: unknown): Diagnosis;
  /** The session broke: drop it and reconnect. */
  lost(gen: number, err: unknown, d: Diagnosis): void;
  /** The server answered (the connection records it, then calls `seen()` here). */
  seen(): void;
  /** Health changed (latency, an issue, the server's capabilities). */
  changed(): void;
}

export interface HealthMonitorOptions {
  host: HealthHost;
  gate: RequestGate;
  log: Logger;
  /** Where the server is, without credentials (for messages). */
  endpointText: string;
  /** The server's name in Molten's config (for remedies). */
  name: string;
  pingIntervalMs: number;
  /** A ping not answered in this time counts as missed; two in a row mean down. */
  pingTimeoutMs: number;
  /** A ping slower than this makes the status degraded. */
  degradedLatencyMs: number;
}

/**
 * Watches one session: a liveness request every interval, with its round trip measured — `ping`
 * on the 2025 generation, `server/discover` on 2026-07-28, which has no ping. One unanswered
 * request is an issue (degraded), two in a row lose the session. Also keeps when the server last
 * answered anything, and the issues that make a working connection degraded.
 */
export class HealthMonitor {
  readonly #o: HealthMonitorOptions;
  readonly #issues = new Map<IssueKey, Issue>();
  #latencyMs: number | undefined;
  #lastSeenMs = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: HealthMonitorOptions) {
    this.#o = o;
  }

  get latencyMs(): number | undefined {
    return this.#latencyMs;
  }

  /** When the server last answered successfully (0: never). */
  get lastSeenMs(): number {
    return this.#lastSeenMs;
  }

  /** The issue that makes the status degraded, if any. */
  get issue(): Issue | undefined {
    for (const key of ISSUE_ORDER) {
      const issue = this.#issues.get(key);
      if (issue) return issue;
    }
    return undefined;
  }

  has(key: IssueKey): boolean {
    return this.#issues.has(key);
  }

  setIssue(key: IssueKey, issue: Issue): void {
    this.#issues.set(key, issue);
  }

  clearIssue(key: IssueKey): void {
    this.#issues.delete(key);
  }

  /** The server answered: it is alive, and a pause it asked for is over once the gate says so. */
  seen(): void {
    this.#lastSeenMs = Date.now();
    if (this.#o.gate.pausedForMs === 0) this.#issues.delete('rate');
  }

  /** The server answered 429: nothing is sent for `ms`. */
  serverPaused(ms: number, given: boolean): void {
    const { endpointText, name } = this.#o;
    this.#issues.set('rate', {
      reason: given
        ? `${endpointText} is rate-limiting Molten (HTTP 429); nothing is sent for ${formatMs(ms)}, as it asked`
        : `${endpointText} is rate-limiting Molten (HTTP 429, no Retry-After); waiting ${formatMs(ms)}`,
      remedy: `Lower the rate limit Molten uses for "${name}" below the server's, or raise the server's limit.`,
    });
    this.#o.log.warn({ pauseMs: ms, retryAfterGiven: given }, 'server answered 429; pausing requests');
  }

  /** Starts pinging the session every interval. */
  start(session: Session): void {
    this.#schedule(session.gen);
  }

  /** Pings soon: something (a broken stream) suggests the session may be gone. */
  checkSoon(gen: number): void {
    this.#schedule(gen, 100);
  }

  /** Stops pinging; issues of the session go with it. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#issues.clear();
  }

  #schedule(gen: number, inMs = this.#o.pingIntervalMs): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#ping(gen), inMs);
  }

  async #ping(gen: number): Promise<void> {
    const { host } = this.#o;
    const session = host.live;
    if (!session || session.gen !== gen) return;
    // Busy or paused by the server: the traffic (or the pause) says enough; look again later.
    const release = this.#o.gate.tryAcquire();
    if (!release) {
      this.#schedule(gen);
      return;
    }
    const started = performance.now();
    try {
      await this.#probe(session);
      if (host.live !== session) return;
      this.#latencyMs = Math.round((performance.now() - started) * 10) / 10;
      host.seen();
      this.#issues.delete('ping');
      if (this.#latencyMs > this.#o.degradedLatencyMs) {
        this.#issues.set('latency', {
          reason: `${this.#o.endpointText} answers slowly (ping ${formatMs(this.#latencyMs)})`,
          remedy: 'Look at the load of the server and of the network in between.',
        });
      } else {
        this.#issues.delete('latency');
      }
    } catch (err) {
      if (host.live !== session) return;
      const d = host.diagnose(err);
      if (d.cause === 'timeout' && !this.#issues.has('ping')) {
        this.#issues.set('ping', { reason: `${this.#o.endpointText} did not answer a ping within ${formatMs(this.#o.pingTimeoutMs)}`, remedy: '' });
      } else if (d.cause === 'timeout') {
        host.lost(gen, err, { ...d, reason: `${this.#o.endpointText} stopped answering (two pings unanswered)` });
        return;
      } else if (d.cause === 'rejected') {
        host.seen(); // it answered, with an error: alive
      } else if (d.cause !== 'rate_limited') {
        host.lost(gen, err, d);
        return;
      }
    } finally {
      release();
    }
    host.changed();
    this.#schedule(gen);
  }

  /**
   * The 2026-07-28 generation has no ping and no session: `server/discover` is its cheapest
   * request, and its answer also keeps the server's capabilities current.
   */
  async #probe(session: Session): Promise<void> {
    const timeout = this.#o.pingTimeoutMs;
    if (session.negotiated.era === 'legacy') {
      await session.client.ping({ timeout });
      return;
    }
    const discovered = await session.client.discover({ timeout });
    if (JSON.stringify(discovered.capabilities) !== JSON.stringify(session.negotiated.capabilities)) {
      session.negotiated.capabilities = discovered.capabilities;
    }
  }
}
