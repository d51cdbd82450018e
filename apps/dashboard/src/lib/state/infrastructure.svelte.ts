import type { ClusterStatus, Delta, Guest, PveNode, Snapshot, Storage } from '$lib/api/types';
import { facets, facetsChanged, type Facets } from '$lib/infra/guest-query';
import { guestState } from '$lib/infra/guest-status';
import { nextFrame, type Scheduler } from './scheduler';

export interface GuestCounts {
  total: number;
  running: number;
  stopped: number;
  paused: number;
  locked: number;
  templates: number;
}

/**
 * One Proxmox cluster's last-known state. The maps are the truth; the $state.raw arrays are
 * what components read, replaced once per frame when something changed (never proxied deeply:
 * 5,000 guests must not become 5,000 reactive proxies).
 */
export class ClusterState {
  guests = $state.raw<readonly Guest[]>([]);
  nodes = $state.raw<readonly PveNode[]>([]);
  storage = $state.raw<readonly Storage[]>([]);
  status = $state.raw<ClusterStatus | null>(null);
  /** The nodes and tags the guests have, for the filter menus: rebuilt only when a guest's node or tags change. */
  facets = $state.raw<Facets>({ tags: [], nodes: [] });

  readonly guestMap = new Map<number, Guest>();
  /** Guests in vmid order, and each one's position: an update replaces one slot, no re-sort. */
  #ordered: Guest[] = [];
  readonly #position = new Map<number, number>();
  #reorder = false;
  #refacet = false;
  readonly nodeMap = new Map<string, PveNode>();
  readonly storageMap = new Map<string, Storage>();
  /** When each guest value arrived: uptime grows from there without an event. */
  readonly receivedAt = new WeakMap<Guest, number>();

  readonly counts: GuestCounts = $derived.by(() => {
    const c: GuestCounts = { total: 0, running: 0, stopped: 0, paused: 0, locked: 0, templates: 0 };
    for (const g of this.guests) {
      c.total++;
      if (g.lock) c.locked++;
      if (g.template) {
        c.templates++;
        continue;
      }
      const s = guestState(g);
      if (s === 'running') c.running++;
      else if (s === 'paused') c.paused++;
      else if (s === 'stopped') c.stopped++;
    }
    return c;
  });

  readonly nodesOnline = $derived(this.nodes.filter((n) => n.status === 'online').length);

  readonly id: string;

  constructor(id: string) {
    this.id = id;
  }

  get name(): string {
    return this.status?.name || this.id;
  }

  guest(vmid: number): Guest | undefined {
    return this.guestMap.get(vmid);
  }

  /** @internal (the store's) */
  putGuest(g: Guest): void {
    const at = this.#position.get(g.vmid);
    if (!this.#refacet && facetsChanged(this.guestMap.get(g.vmid), g)) this.#refacet = true;
    this.guestMap.set(g.vmid, g);
    if (at === undefined) this.#reorder = true;
    else this.#ordered[at] = g;
  }

  /** @internal */
  deleteGuest(vmid: number): void {
    if (this.guestMap.delete(vmid)) this.#reorder = this.#refacet = true;
  }

  /** @internal */
  clearGuests(): void {
    this.guestMap.clear();
    this.#reorder = this.#refacet = true;
  }

  /** @internal Publishes the guest list (kept in vmid order: the table's default needs no sort). */
  publishGuests(): void {
    if (this.#reorder) {
      this.#ordered = [...this.guestMap.values()].sort((a, b) => a.vmid - b.vmid);
      this.#position.clear();
      this.#ordered.forEach((g, i) => this.#position.set(g.vmid, i));
      this.#reorder = false;
    }
    this.guests = this.#ordered.slice();
    if (this.#refacet) {
      this.facets = facets(this.#ordered);
      this.#refacet = false;
    }
  }
}

type InfraEvent = 'guest' | 'node' | 'storage' | 'cluster';
type GuestObserver = (cluster: string, guest: Guest) => void;

const byName = new Intl.Collator(undefined, { numeric: true }).compare;

/**
 * Every Proxmox cluster, fed by the SSE snapshot and then by deltas. Deltas are queued and applied
 * once per animation frame: 500 updates a second become ~8 per frame and one re-render.
 */
export class Infrastructure {
  clusters = $state.raw<readonly ClusterState[]>([]);
  defaultCluster = $state('homelab');
  demo = $state(false);
  /** Set once the first snapshot has arrived (before that, the page shows placeholders). */
  loaded = $state(false);

  readonly #byId = new Map<string, ClusterState>();
  #queue: { event: InfraEvent; d: Delta }[] = [];
  #cancel: (() => void) | undefined;
  readonly #schedule: Scheduler;
  readonly #now: () => number;
  readonly #observers = new Set<GuestObserver>();

  constructor(o: { schedule?: Scheduler; now?: () => number } = {}) {
    this.#schedule = o.schedule ?? nextFrame;
    this.#now = o.now ?? (() => Date.now());
  }

  /** The cluster asked for, else the default one, else the first. */
  cluster(id?: string | null): ClusterState | undefined {
    return (id ? this.#byId.get(id) : undefined) ?? this.#byId.get(this.defaultCluster) ?? this.clusters[0];
  }

  /** Called for each guest value applied (the optimistic layer watches for real state). */
  observeGuests(fn: GuestObserver): () => void {
    this.#observers.add(fn);
    return () => this.#observers.delete(fn);
  }

  applySnapshot(s: Snapshot): void {
    // Anything queued came before this snapshot: it is already in it, or superseded.
    this.#cancel?.();
    this.#cancel = undefined;
    this.#queue = [];
    const now = this.#now();
    const seen = new Set<string>();
    for (const c of s.clusters) {
      seen.add(c.id);
      const st = this.#ensure(c.id);
      st.clearGuests();
      for (const g of c.guests) {
        st.putGuest(g);
        st.receivedAt.set(g, now);
      }
      st.nodeMap.clear();
      for (const n of c.nodes) st.nodeMap.set(n.node, n);
      st.storageMap.clear();
      for (const x of c.storage) st.storageMap.set(x.id, x);
      st.status = c.status;
      this.#publish(st, true, true, true);
      for (const g of c.guests) this.#notify(c.id, g);
    }
    for (const id of [...this.#byId.keys()]) if (!seen.has(id)) this.#byId.delete(id);
    this.defaultCluster = s.defaultCluster;
    this.demo = s.demo;
    this.#publishClusters();
    this.loaded = true;
  }

  /** Queues a delta for the next frame. */
  queue(event: InfraEvent, d: Delta): void {
    if (d.domain !== 'proxmox') return;
    this.#queue.push({ event, d });
    this.#cancel ??= this.#schedule(() => this.flush());
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Applies every queued delta now, publishing each changed list once. */
  flush(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    const now = this.#now();
    const dirty = new Map<ClusterState, { guests: boolean; nodes: boolean; storage: boolean }>();
    let newCluster = false;
    for (const { event, d } of queue) {
      let st = this.#byId.get(d.scope);
      if (!st) {
        if (d.op === 'del') continue;
        st = this.#ensure(d.scope);
        newCluster = true;
      }
      let flags = dirty.get(st);
      if (!flags) dirty.set(st, (flags = { guests: false, nodes: false, storage: false }));
      switch (event) {
        case 'guest': {
          if (d.op === 'put') {
            const g = d.value as Guest;
            st.putGuest(g);
            st.receivedAt.set(g, now);
            this.#notify(d.scope, g);
          } else st.deleteGuest(Number(d.id));
          flags.guests = true;
          break;
        }
        case 'node':
          if (d.op === 'put') st.nodeMap.set((d.value as PveNode).node, d.value as PveNode);
          else st.nodeMap.delete(d.id);
          flags.nodes = true;
          break;
        case 'storage':
          if (d.op === 'put') st.storageMap.set((d.value as Storage).id, d.value as Storage);
          else st.storageMap.delete(d.id);
          flags.storage = true;
          break;
        case 'cluster':
          st.status = d.op === 'put' ? (d.value as ClusterStatus) : null;
          break;
      }
    }
    for (const [st, f] of dirty) this.#publish(st, f.guests, f.nodes, f.storage);
    if (newCluster) this.#publishClusters();
  }

  #ensure(id: string): ClusterState {
    let st = this.#byId.get(id);
    if (!st) this.#byId.set(id, (st = new ClusterState(id)));
    return st;
  }

  #publish(st: ClusterState, guests: boolean, nodes: boolean, storage: boolean): void {
    if (guests) st.publishGuests();
    if (nodes) st.nodes = [...st.nodeMap.values()].sort((a, b) => byName(a.node, b.node));
    if (storage) st.storage = [...st.storageMap.values()].sort((a, b) => byName(a.id, b.id));
  }

  #publishClusters(): void {
    this.clusters = [...this.#byId.values()].sort((a, b) => byName(a.id, b.id));
  }

  #notify(cluster: string, g: Guest): void {
    for (const fn of this.#observers) fn(cluster, g);
  }
}
