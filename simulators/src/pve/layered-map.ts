/** In a LayeredMap's changes: the key is removed. */
export const GONE: unique symbol = Symbol('gone');
export type Change<V> = V | typeof GONE;

/**
 * An immutable map that is cheap to derive with a few changes: a base map shared by every map
 * derived from it, and a small layer of changes over it. Deriving copies the layer only, and folds
 * it into a new base once it holds an eighth of the base's entries, so a change costs a constant
 * amount amortized instead of a copy of the whole map. A map handed out never changes: that is
 * what lets the broadcast status (rrd.ts) give every dump its own state without copying 15,000
 * entries on each broadcast. Iteration order is not insertion order.
 */
export class LayeredMap<K, V extends {}> {
  readonly #base: ReadonlyMap<K, V>;
  readonly #top: ReadonlyMap<K, Change<V>>;
  readonly size: number;

  private constructor(base: ReadonlyMap<K, V>, top: ReadonlyMap<K, Change<V>>, size: number) {
    this.#base = base;
    this.#top = top;
    this.size = size;
  }

  static empty<K, V extends {}>(): LayeredMap<K, V> {
    return new LayeredMap<K, V>(new Map(), new Map(), 0);
  }

  get(key: K): V | undefined {
    const change = this.#top.get(key);
    if (change !== undefined) return change === GONE ? undefined : change;
    return this.#base.get(key);
  }

  has(key: K): boolean {
    const change = this.#top.get(key);
    return change !== undefined ? change !== GONE : this.#base.has(key);
  }

  *keys(): IterableIterator<K> {
    for (const key of this.#base.keys()) if (!this.#top.has(key)) yield key;
    for (const [key, change] of this.#top) if (change !== GONE) yield key;
  }

  /** This map with `changes` applied (a value sets its key, GONE removes it); itself when there are none. */
  with(changes: ReadonlyMap<K, Change<V>>): LayeredMap<K, V> {
    if (changes.size === 0) return this;
    let size = this.size;
    for (const [key, change] of changes) size += (change === GONE ? 0 : 1) - (this.has(key) ? 1 : 0);
    if (this.#top.size + changes.size > Math.max(64, this.#base.size >> 3)) {
      const base = new Map(this.#base);
      for (const layer of [this.#top, changes]) {
        for (const [key, change] of layer) {
          if (change === GONE) base.delete(key);
          else base.set(key, change);
        }
      }
      return new LayeredMap(base, new Map(), size);
    }
    const top = new Map(this.#top);
    for (const [key, change] of changes) top.set(key, change);
    return new LayeredMap(this.#base, top, size);
  }
}
