/**
 * How often the task status of a node may be read: at most `perSecond` reads per node, spread
 * evenly (no bursts). One task followed every 25 ms costs 40 reads a second; a hundred tasks in
 * flight on one node share the node's budget instead of multiplying it, so following them never
 * floods that node's pveproxy.
 */
export class TaskReadBudget {
  readonly #next = new Map<string, number>();
  readonly #gapMs: number;

  constructor(perSecond: number) {
    this.#gapMs = 1000 / perSecond;
  }

  /** Time to wait (ms, from `now`) before this node's next read; the slot is taken by the call. */
  reserve(node: string, now = performance.now()): number {
    const at = Math.max(now, this.#next.get(node) ?? 0);
    this.#next.set(node, at + this.#gapMs);
    if (this.#next.size > 1_000) this.#sweep(now);
    return at - now;
  }

  #sweep(now: number): void {
    for (const [node, at] of this.#next) if (at < now) this.#next.delete(node);
  }
}
