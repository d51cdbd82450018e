import type { MsgHdrs } from '@nats-io/nats-core';
import {
  BUCKETS,
  HEADERS,
  KIND_TYPES,
  decodeMessage,
  encodeMessage,
  isStateKind,
  parseStateSubject,
  subjects,
  type MessageOf,
  type StateAddress,
  type StateKind,
} from '@molten/contracts';
import type { Bus } from './connect.js';
import { busHeaders, decodeStateValue } from './messages.js';
import { readSnapshot } from './snapshot.js';

/** The message a state kind carries (KIND_TYPES in @molten/contracts). */
export type StateOf<K extends StateKind> = MessageOf<(typeof KIND_TYPES)[K]>;

export interface SyncOptions<V> {
  /** The resource's id within its kind: the last token of its subject. */
  id(item: V): string;
  /**
   * Whether a reading differs enough from the last published value to publish it (default: any
   * field differs). An unchanged reading leaves the last published value in place, so drifts too
   * small to count add up until they do.
   */
  changed?(published: V, reading: V): boolean;
  /**
   * How many syncs in a row an id must be missing from before it is removed (default 1: at
   * once). More for upstreams whose lists can be partial.
   */
  removeAfterMisses?: number;
}

export interface SyncResult {
  /** How many items were published (new or changed). */
  published: number;
  /** The ids removed. */
  removed: string[];
}

interface Entry {
  value: unknown;
  /** The sync (of its kind) that last listed it. */
  seen: number;
  /** Syncs in a row that did not list it. */
  misses: number;
}

interface KindCache {
  entries: Map<string, Entry>;
  syncs: number;
}

/** How many writes a sync keeps in flight: a first sync of a big cluster writes everything. */
const WRITE_BATCH = 256;

// The headers are the same for every message of a type; nats.js only reads them when it publishes.
const putHeaders = new Map<string, MsgHdrs>();
const delHeaders = new Map<string, MsgHdrs>();
const headersFor = (kind: StateKind, op: 'put' | 'del'): MsgHdrs => {
  const cache = op === 'put' ? putHeaders : delHeaders;
  let h = cache.get(kind);
  if (!h) cache.set(kind, (h = busHeaders(KIND_TYPES[kind], op === 'del' ? { [HEADERS.op]: 'DEL' } : {})));
  return h;
};

/**
 * Publishes the last-known state of one domain and scope: each change is written to the
 * molten-state bucket (the snapshot the api hydrates from) and published on its state subject
 * (the events stream the api and other services follow).
 *
 * It remembers what it published, so `sync(kind, items)` publishes only what changed and removes
 * what disappeared. The first sync after `reset()` (the runtime resets on every lease change)
 * reads what the snapshot holds for the scope in one pass, so a new publisher compares with what
 * its predecessor left, and removes what no longer exists.
 */
export class StatePublisher {
  #caches = new Map<StateKind, KindCache>();
  #hydrated: Promise<void> | undefined;
  #epoch = 0;
  /** Syncs of one kind run one after another, so a later reading never lands before an earlier one. */
  readonly #chains = new Map<StateKind, Promise<unknown>>();

  constructor(
    private readonly bus: Bus,
    readonly domain: string,
    readonly scope: string,
  ) {}

  address(kind: StateKind, id: string): StateAddress {
    return { domain: this.domain, scope: this.scope, kind, id };
  }

  /** Publishes one resource's state, whether or not it changed. */
  async put<K extends StateKind>(kind: K, id: string, value: StateOf<K>): Promise<void> {
    await this.#put(kind, id, value);
    this.#remember(kind, id, value);
  }

  async remove(kind: StateKind, id: string): Promise<void> {
    await this.#remove(kind, id);
    this.#cache(kind).entries.delete(id);
  }

  /**
   * Brings the kind's published state to `items`, the whole current list: publishes the items
   * that are new or changed, and removes those that are gone. Nothing is encoded for an item
   * that did not change; an item passed as the very object last published costs one lookup.
   * On a failed write it forgets what it knew and throws: the next sync compares with the
   * snapshot again, so nothing stays unpublished. `items` may be a function, called once the
   * snapshot has been read, when the list depends on what was published before (`get()`).
   */
  sync<K extends StateKind>(kind: K, items: Iterable<StateOf<K>> | (() => Iterable<StateOf<K>>), o: SyncOptions<StateOf<K>>): Promise<SyncResult> {
    const run = (this.#chains.get(kind) ?? Promise.resolve()).then(() => this.#sync(kind, items, o));
    this.#chains.set(kind, run.catch(() => {}));
    return run;
  }

  /** The last value published (or found in the snapshot) for a resource, if this publisher knows it. */
  get<K extends StateKind>(kind: K, id: string): StateOf<K> | undefined {
    return this.#caches.get(kind)?.entries.get(id)?.value as StateOf<K> | undefined;
  }

  /** The last known state of a resource: what this publisher knows, else the snapshot's entry. */
  async read<K extends StateKind>(kind: K, id: string): Promise<StateOf<K> | undefined> {
    const known = this.get(kind, id);
    if (known) return known;
    const e = await this.bus.kv.state.get(subjects.stateKey(this.address(kind, id)));
    if (!e || e.operation !== 'PUT' || e.length === 0) return undefined;
    return decodeMessage(KIND_TYPES[kind], e.value) as StateOf<K>;
  }

  /** Every value of a kind this publisher knows. */
  *values<K extends StateKind>(kind: K): IterableIterator<StateOf<K>> {
    for (const e of this.#caches.get(kind)?.entries.values() ?? []) yield e.value as StateOf<K>;
  }

  /** Forgets what was published: the next sync reads the snapshot first (after a lease change). */
  reset(): void {
    this.#caches = new Map();
    this.#hydrated = undefined;
    this.#epoch++;
  }

  /** Everything this publisher's scope has in the snapshot, as keys. */
  async keys(kind?: StateKind): Promise<string[]> {
    const filter = `${this.domain}.${this.scope}.${kind ?? '*'}.*`;
    const out: string[] = [];
    for await (const k of await this.bus.kv.state.keys(filter)) out.push(k);
    return out;
  }

  async #sync<K extends StateKind>(kind: K, list: Iterable<StateOf<K>> | (() => Iterable<StateOf<K>>), o: SyncOptions<StateOf<K>>): Promise<SyncResult> {
    await this.#hydrate();
    const items = typeof list === 'function' ? list() : list;
    const cache = this.#cache(kind);
    const sync = ++cache.syncs;
    const changed = o.changed ?? differs;
    const puts: { id: string; value: StateOf<K> }[] = [];
    for (const item of items) {
      const id = o.id(item);
      const e = cache.entries.get(id);
      if (!e) {
        cache.entries.set(id, { value: item, seen: sync, misses: 0 });
        puts.push({ id, value: item });
        continue;
      }
      e.seen = sync;
      e.misses = 0;
      if (e.value !== item && changed(e.value as StateOf<K>, item)) {
        e.value = item;
        puts.push({ id, value: item });
      }
    }
    const removed: string[] = [];
    const removeAfter = o.removeAfterMisses ?? 1;
    for (const [id, e] of cache.entries) {
      if (e.seen === sync || ++e.misses < removeAfter) continue;
      cache.entries.delete(id);
      removed.push(id);
    }

    const writes: (() => Promise<void>)[] = [
      ...puts.map(({ id, value }) => () => this.#put(kind, id, value)),
      ...removed.map((id) => () => this.#remove(kind, id)),
    ];
    try {
      for (let i = 0; i < writes.length; i += WRITE_BATCH) await Promise.all(writes.slice(i, i + WRITE_BATCH).map((w) => w()));
    } catch (err) {
      this.reset();
      throw err;
    }
    return { published: puts.length, removed };
  }

  async #put<K extends StateKind>(kind: K, id: string, value: StateOf<K>): Promise<void> {
    const a = this.address(kind, id);
    const data = encodeMessage(KIND_TYPES[kind], value);
    // The snapshot write is acknowledged; the event is a plain publish the events stream
    // captures (in order, buffered while reconnecting): one round trip per change, not two.
    this.bus.nc.publish(subjects.state(a), data, { headers: headersFor(kind, 'put') });
    await this.bus.kv.state.put(subjects.stateKey(a), data);
  }

  async #remove(kind: StateKind, id: string): Promise<void> {
    const a = this.address(kind, id);
    this.bus.nc.publish(subjects.state(a), new Uint8Array(), { headers: headersFor(kind, 'del') });
    await this.bus.kv.state.delete(subjects.stateKey(a));
  }

  #cache(kind: StateKind): KindCache {
    let c = this.#caches.get(kind);
    if (!c) this.#caches.set(kind, (c = { entries: new Map(), syncs: 0 }));
    return c;
  }

  #remember(kind: StateKind, id: string, value: unknown): void {
    const c = this.#cache(kind);
    const e = c.entries.get(id);
    if (e) e.value = value;
    else c.entries.set(id, { value, seen: c.syncs, misses: 0 });
  }

  /** Reads the scope's snapshot once (one ordered consumer for every kind) into the caches. */
  #hydrate(): Promise<void> {
    this.#hydrated ??= (async () => {
      const epoch = this.#epoch;
      const entries = await readSnapshot(this.bus.js, BUCKETS.state, `${this.domain}.${this.scope}.>`);
      if (epoch !== this.#epoch) return;
      for (const { key, value } of entries) {
        const a = parseStateSubject(key);
        if (!a || !isStateKind(a.kind)) continue;
        const c = this.#cache(a.kind);
        if (c.entries.has(a.id)) continue; // published since: newer than the snapshot read
        let decoded: unknown;
        try {
          // Decoded as its key's kind, validated, and its own id the key's: another kind's bytes
          // would otherwise decode into a plausible-looking value of this kind.
          decoded = decodeStateValue(key, value).value;
        } catch {
          decoded = undefined; // unreadable or misplaced: counts as changed, so the next sync overwrites it
        }
        c.entries.set(a.id, { value: decoded, seen: c.syncs, misses: 0 });
      }
    })().catch((err: unknown) => {
      this.#hydrated = undefined;
      throw err;
    });
    return this.#hydrated;
  }
}

/**
 * Whether two message values differ: plain objects, arrays, byte arrays and primitives, an
 * absent field counting as undefined (a decoded message and one built by hand compare equal).
 */
export function differs(a: unknown, b: unknown): boolean {
  return !same(a, b);
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b) || a instanceof Uint8Array || b instanceof Uint8Array) {
    const x = a as ArrayLike<unknown>;
    const y = b as ArrayLike<unknown>;
    if (Array.isArray(a) !== Array.isArray(b) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!same(x[i], y[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k in x) if (!same(x[k], y[k])) return false;
  for (const k in y) if (!(k in x) && y[k] !== undefined) return false;
  return true;
}
