/**
 * Answers kept until a moment the caller chooses, and one load for concurrent askers: while a
 * key is being loaded, everyone asking for it waits for that one load. What is kept is what
 * the load returned (data or an error the caller turned into a value); a load that throws is
 * not kept.
 */
export interface Cached<V> {
  value: V;
  /** When the load finished (ms). */
  fetchedAt: number;
  /** Until when the value is served (ms). */
  expiresAt: number;
  /** Served from the cache (or from a load another asker started). */
  hit: boolean;
}

export class ReadCache<V> {
  readonly #entries = new Map<string, { value: V; fetchedAt: number; expiresAt: number }>();
  readonly #loading = new Map<string, Promise<{ value: V; fetchedAt: number; expiresAt: number }>>();
  readonly #now: () => number;
  readonly #max: number;
  /** Loads started (upstream reads), for metrics and tests. */
  loads = 0;

  constructor(o: { now?: () => number; maxEntries?: number } = {}) {
    this.#now = o.now ?? Date.now;
    this.#max = o.maxEntries ?? 5_000;
  }

  async get(key: string, load: () => Promise<V>, expiresAt: (value: V, fetchedAt: number) => number): Promise<Cached<V>> {
    const now = this.#now();
    const kept = this.#entries.get(key);
    if (kept && kept.expiresAt > now) return { ...kept, hit: true };
    const pending = this.#loading.get(key);
    if (pending) return { ...(await pending), hit: true };
    const p = (async () => {
      this.loads++;
      const value = await load();
      const fetchedAt = this.#now();
      const entry = { value, fetchedAt, expiresAt: expiresAt(value, fetchedAt) };
      if (entry.expiresAt > fetchedAt) this.#keep(key, entry);
      return entry;
    })();
    this.#loading.set(key, p);
    try {
      return { ...(await p), hit: false };
    } finally {
      this.#loading.delete(key);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  #keep(key: string, entry: { value: V; fetchedAt: number; expiresAt: number }): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) {
      const now = this.#now();
      for (const [k, e] of this.#entries) if (e.expiresAt <= now) this.#entries.delete(k);
      // Still full: drop the oldest (Map order is insertion order).
      while (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, entry);
  }
}
