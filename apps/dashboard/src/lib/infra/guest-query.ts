import type { Guest, GuestType } from '$lib/api/types';
import { guestState } from './guest-status';

/**
 * What the guest table shows: search, filters and sort. It round-trips through the URL's query
 * string so a view can be bookmarked and shared; defaults are left out of the URL.
 */
export const STATUS_FILTERS = ['running', 'stopped', 'paused', 'locked', 'template'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export const SORT_KEYS = ['vmid', 'name', 'node', 'type', 'status', 'cpu', 'mem', 'uptime'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface GuestQuery {
  q: string;
  status: StatusFilter[];
  node: string[];
  type: '' | GuestType;
  tag: string[];
  sort: SortKey;
  desc: boolean;
}

export const DEFAULT_QUERY: GuestQuery = Object.freeze({ q: '', status: [], node: [], type: '', tag: [], sort: 'vmid', desc: false }) as GuestQuery;

const list = (v: string | null) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function parseQuery(params: URLSearchParams): GuestQuery {
  const sortParam = params.get('sort') ?? '';
  const desc = sortParam.startsWith('-');
  const key = (desc ? sortParam.slice(1) : sortParam) as SortKey;
  const type = params.get('type');
  return {
    q: params.get('q') ?? '',
    status: list(params.get('status')).filter((s): s is StatusFilter => (STATUS_FILTERS as readonly string[]).includes(s)),
    node: list(params.get('node')),
    type: type === 'qemu' || type === 'lxc' ? type : '',
    tag: list(params.get('tag')),
    sort: SORT_KEYS.includes(key) ? key : 'vmid',
    desc: SORT_KEYS.includes(key) ? desc : false,
  };
}

/** Writes the query into params (keeping unrelated ones), leaving defaults out. */
export function writeQuery(q: GuestQuery, into = new URLSearchParams()): URLSearchParams {
  const out = new URLSearchParams(into);
  const set = (k: string, v: string) => (v ? out.set(k, v) : out.delete(k));
  set('q', q.q.trim());
  set('status', q.status.join(','));
  set('node', q.node.join(','));
  set('type', q.type);
  set('tag', q.tag.join(','));
  set('sort', q.sort === 'vmid' && !q.desc ? '' : `${q.desc ? '-' : ''}${q.sort}`);
  return out;
}

export function isFiltered(q: GuestQuery): boolean {
  return !!(q.q.trim() || q.status.length || q.node.length || q.type || q.tag.length);
}

function matchesStatus(g: Guest, wanted: readonly StatusFilter[]): boolean {
  const state = guestState(g);
  return wanted.some((w) => (w === 'locked' ? !!g.lock : w === 'template' ? g.template : !g.template && state === w));
}

/** Search terms (all must match) against name, vmid, node, tags and pool; "tag:x", "node:x" narrow. */
export function searchTerms(q: string): { field?: 'tag' | 'node' | 'name' | 'vmid'; text: string }[] {
  return q
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .map((t) => {
      const m = /^(tag|node|name|vmid):(.+)$/.exec(t);
      return m ? { field: m[1] as 'tag' | 'node' | 'name' | 'vmid', text: m[2]! } : { text: t };
    });
}

function matchesSearch(g: Guest, terms: ReturnType<typeof searchTerms>): boolean {
  for (const t of terms) {
    const name = g.name.toLowerCase();
    const ok =
      t.field === 'tag'
        ? g.tags.some((x) => x.toLowerCase().includes(t.text))
        : t.field === 'node'
          ? g.node.toLowerCase().includes(t.text)
          : t.field === 'name'
            ? name.includes(t.text)
            : t.field === 'vmid'
              ? String(g.vmid).startsWith(t.text)
              : name.includes(t.text) ||
                String(g.vmid).startsWith(t.text) ||
                g.node.toLowerCase().includes(t.text) ||
                g.tags.some((x) => x.toLowerCase().includes(t.text)) ||
                (g.pool ?? '').toLowerCase().includes(t.text);
    if (!ok) return false;
  }
  return true;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
const STATE_ORDER = { running: 0, paused: 1, unknown: 2, stopped: 3 } as const;

/**
 * Collation is slow (a 5,000-name sort takes ~10 ms), names rarely change: rank each distinct
 * text once, and sort by rank. Re-ranked only when a text not seen before shows up.
 */
class Ranks {
  #rank = new Map<string, number>();
  prepare(texts: Iterable<string>): void {
    let missing = false;
    for (const t of texts) if (!this.#rank.has(t)) missing = true;
    if (!missing) return;
    const all = new Set<string>(this.#rank.keys());
    for (const t of texts) all.add(t);
    // Bounded: forget texts no longer present when the cache grows well past the list.
    const sorted = [...(all.size > 4 * this.#rank.size + 1000 ? new Set(texts) : all)].sort(collator.compare);
    this.#rank = new Map(sorted.map((t, i) => [t, i]));
  }
  of(t: string): number {
    return this.#rank.get(t) ?? 0;
  }
}
const nameRanks = new Ranks();
const nodeRanks = new Ranks();

function compareBy(key: SortKey, rows: readonly Guest[]): (a: Guest, b: Guest) => number {
  switch (key) {
    case 'name':
      nameRanks.prepare(rows.map((g) => g.name));
      return (a, b) => nameRanks.of(a.name) - nameRanks.of(b.name);
    case 'node':
      nodeRanks.prepare(rows.map((g) => g.node));
      return (a, b) => nodeRanks.of(a.node) - nodeRanks.of(b.node);
    case 'type':
      return (a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0);
    case 'status':
      return (a, b) => STATE_ORDER[guestState(a)] - STATE_ORDER[guestState(b)] || Number(!!a.lock) - Number(!!b.lock);
    case 'cpu':
      return (a, b) => a.cpu - b.cpu;
    case 'mem':
      return (a, b) => a.mem - b.mem;
    case 'uptime':
      return (a, b) => a.uptime - b.uptime;
    case 'vmid':
      return (a, b) => a.vmid - b.vmid;
  }
}

/**
 * The rows to show: filtered, searched and sorted (ties by vmid, so the order is stable).
 * `guests` must be in vmid order (the store keeps it so): the default sort is then free, and
 * with no filter either the answer is `guests` itself (at 15,000 guests, a copy per frame costs).
 */
export function applyQuery(guests: readonly Guest[], q: GuestQuery): readonly Guest[] {
  // Read the query once: this runs for every guest, every frame with updates.
  const { type, sort, desc } = q;
  if (sort === 'vmid' && !desc && !isFiltered(q)) return guests;
  const status = q.status.length ? [...q.status] : undefined;
  const tags = q.tag.length ? [...q.tag] : undefined;
  const terms = searchTerms(q.q);
  const nodes = q.node.length ? new Set(q.node) : undefined;
  const out: Guest[] = [];
  for (const g of guests) {
    if (type && g.type !== type) continue;
    if (nodes && !nodes.has(g.node)) continue;
    if (tags && !tags.every((t) => g.tags.includes(t))) continue;
    if (status && !matchesStatus(g, status)) continue;
    if (terms.length && !matchesSearch(g, terms)) continue;
    out.push(g);
  }
  if (sort === 'vmid') return desc ? out.reverse() : out;
  const by = compareBy(sort, out);
  const dir = desc ? -1 : 1;
  out.sort((a, b) => dir * (by(a, b) || a.vmid - b.vmid));
  return out;
}

/** Sorts on values that change all the time: re-ordering the rows at 60 Hz helps nobody. */
export const LIVE_SORT_KEYS: ReadonlySet<SortKey> = new Set(['cpu', 'mem', 'uptime']);

/**
 * The rows of the table, steadied: with a sort on a live value (CPU, memory, uptime) the order
 * and membership are recomputed at most every `everyMs` — and at once when the query or the
 * number of guests changes. In between, the answer is the array of the last sort, whose objects
 * hold the values they were sorted on: the table shows each row in view by its latest value
 * (`latestOf`), so a frame costs the rows in view, not a pass over every guest.
 */
export class SteadyRows {
  #rows: readonly Guest[] = [];
  #query: GuestQuery | undefined;
  #count = -1;
  #at = -Infinity;

  constructor(readonly everyMs = 1000) {}

  rows(guests: readonly Guest[], q: GuestQuery, now: number): readonly Guest[] {
    const due = !LIVE_SORT_KEYS.has(q.sort) || q !== this.#query || guests.length !== this.#count || now - this.#at >= this.everyMs;
    if (due) {
      this.#rows = applyQuery(guests, q);
      this.#query = q;
      this.#count = guests.length;
      this.#at = now;
    }
    return this.#rows;
  }
}

/**
 * A row's latest value: by the store's index when there is one, else from `guests` (indexed on
 * first use, so a frame that shows no row builds nothing).
 */
export function latestOf(guests: readonly Guest[], lookup?: (vmid: number) => Guest | undefined): (g: Guest) => Guest {
  if (lookup) return (g) => lookup(g.vmid) ?? g;
  let index: Map<number, Guest> | undefined;
  return (g) => (index ??= new Map(guests.map((x) => [x.vmid, x]))).get(g.vmid) ?? g;
}

/** Whether a guest change can change the facets (a new node or tag list). */
export function facetsChanged(before: Guest | undefined, after: Guest): boolean {
  return !before || before.node !== after.node || before.tags.length !== after.tags.length || before.tags.some((t, i) => t !== after.tags[i]);
}

export interface Facets {
  tags: string[];
  nodes: string[];
}

/** Distinct tags and nodes in the guest list, for the filter menus. */
export function facets(guests: readonly Guest[]): Facets {
  const tags = new Set<string>();
  const nodes = new Set<string>();
  for (const g of guests) {
    nodes.add(g.node);
    for (const t of g.tags) tags.add(t);
  }
  return { tags: [...tags].sort(collator.compare), nodes: [...nodes].sort(collator.compare) };
}
