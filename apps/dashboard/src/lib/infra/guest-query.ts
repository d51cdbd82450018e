import type { Guest } from '$lib/api/types';
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
  type: '' | 'qemu' | 'lxc';
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

function matchesStatus(g: Guest, wanted: StatusFilter[]): boolean {
  if (wanted.length === 0) return true;
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

function compareBy(key: SortKey): (a: Guest, b: Guest) => number {
  switch (key) {
    case 'name':
      return (a, b) => collator.compare(a.name, b.name);
    case 'node':
      return (a, b) => collator.compare(a.node, b.node);
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
      return () => 0;
  }
}

/** The rows to show: filtered, searched and sorted (ties by vmid, so the order is stable). */
export function applyQuery(guests: readonly Guest[], q: GuestQuery): Guest[] {
  const terms = searchTerms(q.q);
  const nodes = q.node.length ? new Set(q.node) : undefined;
  const out: Guest[] = [];
  for (const g of guests) {
    if (q.type && g.type !== q.type) continue;
    if (nodes && !nodes.has(g.node)) continue;
    if (q.tag.length && !q.tag.every((t) => g.tags.includes(t))) continue;
    if (!matchesStatus(g, q.status)) continue;
    if (terms.length && !matchesSearch(g, terms)) continue;
    out.push(g);
  }
  const by = compareBy(q.sort);
  const dir = q.desc ? -1 : 1;
  out.sort((a, b) => dir * (by(a, b) || a.vmid - b.vmid));
  return out;
}

/** Distinct tags and nodes in the guest list, for the filter menus. */
export function facets(guests: readonly Guest[]): { tags: string[]; nodes: string[] } {
  const tags = new Set<string>();
  const nodes = new Set<string>();
  for (const g of guests) {
    nodes.add(g.node);
    for (const t of g.tags) tags.add(t);
  }
  return { tags: [...tags].sort(collator.compare), nodes: [...nodes].sort(collator.compare) };
}
