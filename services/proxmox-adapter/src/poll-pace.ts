/**
 * How often a cluster is read: the configured interval (PVE_POLL_MS) while the upstream is
 * healthy; faster while one of this replica's commands runs on the cluster (its other effects —
 * a node's memory, an HA state — show sooner); slower while the upstream struggles, so a
 * Proxmox API that fails or answers slowly is not pressed harder. Back to the configured
 * interval with the first good, prompt answer.
 *
 *   in flight        a quarter of the interval, at least MIN_POLL_MS (1 s → 250 ms), but never
 *                    sooner than IN_FLIGHT_FACTOR times the answer's time (smoothed): the reads
 *                    added while commands run keep the upstream busy at most a tenth of the time
 *                    (a 5,000-guest answer of 40 ms → 400 ms; one of 100 ms or more → the
 *                    interval: no faster reads at all)
 *   failed reads     the interval, then doubling with each failure in a row (1, 2, 4, 8 s …);
 *                    a read that never reached Proxmox (connection refused: pveproxy or the
 *                    host is down) does not back off: it costs Proxmox nothing, and the
 *                    interval then sees Proxmox back within one interval of its return
 *   slow answers     at least twice the answer's time (smoothed): the poll keeps the
 *                    upstream busy at most half of the time (a 1 s answer → 2 s); a big
 *                    cluster's usual answer (15,000 guests: 100–300 ms) stays within the interval
 *   never slower     than four times the interval, or 10 s when that is more
 *
 * A command in flight speeds reads up only as far as the answer's cost allows, and never those of
 * an upstream that fails. The faster reads are for what a command changes beyond its own guest
 * (a node's memory, an HA state) and for foreign changes meanwhile: the command's own guest is
 * read by the command itself (its task's status, then the guest, the moment the task ends). So
 * they are cheap to give up, and must not compete with the commands' own requests: at 100
 * commands/s a 250 ms poll of 5,000 guests made the upstream (the simulator) the bottleneck of
 * every command (its POST p50 21–88 ms instead of 3 ms). Pure logic: the poller tells it what
 * happened and asks when to read next.
 */
export const MIN_POLL_MS = 200;
/** Backing off stops here, or at four times the interval when that is more. */
export const MAX_BACKOFF_MS = 10_000;
/** The poll keeps the upstream busy at most 1/SLOW_FACTOR of the time. */
const SLOW_FACTOR = 2;
/** The faster reads while commands run keep the upstream busy at most 1/IN_FLIGHT_FACTOR of the time. */
export const IN_FLIGHT_FACTOR = 10;

export class PollPace {
  readonly baseMs: number;
  readonly fastMs: number;
  readonly maxMs: number;
  #failures = 0;
  /** The last read never reached Proxmox. */
  #unreachable = false;
  #latencyMs = 0;
  #inFlight = 0;

  constructor(baseMs: number) {
    this.baseMs = baseMs;
    this.fastMs = Math.min(baseMs, Math.max(MIN_POLL_MS, Math.round(baseMs / 4)));
    this.maxMs = Math.max(4 * baseMs, MAX_BACKOFF_MS);
  }

  /** A good read whose answer took latencyMs (smoothed, so one slow answer alone does not double the wait). */
  ok(latencyMs: number): void {
    this.#failures = 0;
    this.#unreachable = false;
    this.#latencyMs = this.#latencyMs === 0 ? latencyMs : (this.#latencyMs + latencyMs) / 2;
  }

  /**
   * A failed read (no answer, an error answer, or one that could not be read). `unreachable`:
   * it never reached Proxmox (connection refused, host unreachable): reading again costs
   * Proxmox nothing, so it does not back off, and its return is seen within one interval.
   */
  fail(kind: 'error' | 'unreachable' = 'error'): void {
    if (kind === 'unreachable') this.#unreachable = true;
    else this.#failures++;
  }

  /** A command started on the cluster; call the function returned when it has ended. */
  commandStarted(): () => void {
    this.#inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#inFlight--;
    };
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get failures(): number {
    return this.#failures;
  }

  /** How long after a read starts the next one starts (ms). */
  intervalMs(): number {
    if (this.#failures > 0) return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.#failures - 1, 30));
    if (this.#unreachable) return this.baseMs;
    const slow = Math.round(SLOW_FACTOR * this.#latencyMs);
    if (this.#inFlight === 0) return Math.min(this.maxMs, Math.max(this.baseMs, slow));
    const fast = Math.min(this.baseMs, Math.max(this.fastMs, Math.round(IN_FLIGHT_FACTOR * this.#latencyMs)));
    return Math.min(this.maxMs, Math.max(fast, slow));
  }
}
