import { uptimeAt, type ClusterModel, type Guest, type GuestChangeLog } from './cluster-model.js';
import { GONE, LayeredMap, type Change } from './layered-map.js';
import type { NodeMetrics } from './node-metrics.js';

/**
 * The cluster-wide status that pvestatd broadcasts through pmxcfs ("rrd" data) and that
 * /cluster/resources, /nodes and /cluster/status read. Two real properties matter to clients:
 *
 * - it lags: each node broadcasts every 10 s (`intervalMs`; 0 = always current), while the
 *   node-local endpoints (/nodes/{n}/qemu, …/status/current) are live;
 * - it outlives a node: when a node goes offline its last broadcast is still served, frozen,
 *   until pmxcfs expires it after 5 minutes (`expireMs`); then its guests read `status:"unknown"`
 *   and lose their figures, and the node row loses its figures too.
 */
export interface VmStats {
  /** When and from which node this entry was broadcast. */
  time: number;
  node: string;
  uptime: number;
  name: string;
  /** pvestatd writes the QMP status when there is one: a paused VM reads `paused` here. */
  status: string;
  template: 0 | 1;
  maxcpu: number;
  cpu: number;
  maxmem: number;
  mem: number;
  maxdisk: number;
  disk: number;
  netin: number;
  netout: number;
  diskread: number;
  diskwrite: number;
  memhost: number;
}

export interface NodeStats {
  time: number;
  node: string;
  uptime: number;
  level: string;
  maxcpu: number;
  cpu: number;
  maxmem: number;
  mem: number;
  maxdisk: number;
  disk: number;
}

export interface StorageStats {
  time: number;
  node: string;
  maxdisk: number;
  disk: number;
}

/** The guests' part of a dump: each guest's figures as last broadcast. */
export interface VmsDump {
  readonly size: number;
  get(vmid: number): VmStats | undefined;
  has(vmid: number): boolean;
  keys(): IterableIterator<number>;
}

export interface Dump {
  vms: VmsDump;
  nodes: ReadonlyMap<string, NodeStats>;
  storage: ReadonlyMap<string, StorageStats>;
}

export interface RrdOptions {
  intervalMs: number;
  expireMs: number;
}

export class Rrd {
  // Replaced, never changed in place: a dump handed out stays as it was (an answer written in
  // slices reads the dump of its start, as `rrd_dump` gives a request its own copy).
  #vms = LayeredMap.empty<number, VmEntry>();
  #nodes = new Map<string, NodeStats>();
  #storage = new Map<string, StorageStats>();
  /** The vmids that have an entry, by the entry's node: what expiry looks at when a node is silent. */
  readonly #vmidsOn = new Map<string, Set<number>>();
  /** When the last broadcast was made: the time of every entry that is not frozen. */
  #time = 0;
  /** Whether each node took part in the last broadcast. */
  readonly #online = new Map<string, boolean>();
  /** Each node's cpu and mem as last computed: they change only when one of its guests does. */
  readonly #nodeLoad = new Map<string, { cpu: number; mem: number }>();
  readonly #changes: GuestChangeLog;
  #dump: Dump | undefined;
  #timer: NodeJS.Timeout | undefined;
  #liveStamp = '';
  #broadcasts = 0;

  constructor(
    private readonly model: ClusterModel,
    private readonly metrics: NodeMetrics,
    private readonly opts: RrdOptions,
  ) {
    this.#changes = model.guestChanges();
    this.broadcast();
  }

  start(): void {
    if (this.opts.intervalMs > 0 && !this.#timer) {
      this.#timer = setInterval(() => this.broadcast(), this.opts.intervalMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Every online node publishes its own, its guests' and its storages' current figures. What a
   * guest publishes moves with the clock only in its uptime (and the entry's time), which a dump
   * derives when read; so only the guests changed since the last broadcast (the model's change
   * log) and those of nodes that came back are rebuilt, and the entries of guests that went away
   * or whose node went silent keep the last broadcast's time. The dump reads exactly as if every
   * online node had rebroadcast everything (rrd.test.ts compares the two after random changes).
   */
  broadcast(now = Date.now()): void {
    this.#broadcasts++;
    const { model } = this;
    const last = this.#time;
    const changed = new Map<number, VmEntry>();
    const loadChanged = new Set<string>();
    const entry = (vmid: number) => changed.get(vmid) ?? this.#vms.get(vmid);
    const refresh = (g: Guest) => {
      const old = entry(g.vmid);
      if (old) {
        loadChanged.add(old.node);
        if (old.node !== g.node) this.#vmidsOn.get(old.node)?.delete(g.vmid);
      }
      changed.set(g.vmid, entryOf(g));
      this.#index(g.node).add(g.vmid);
      loadChanged.add(g.node);
    };
    const freeze = (vmid: number) => {
      const e = entry(vmid);
      if (!e) return;
      loadChanged.add(e.node);
      if (e.frozenAt === undefined) changed.set(vmid, { ...e, frozenAt: last });
    };
    for (const vmid of this.#changes.take()) {
      const g = model.guest(vmid);
      // A guest whose node is silent (or that went away) keeps what it last published.
      if (g && model.node(g.node)?.online) refresh(g);
      else freeze(vmid);
    }
    for (const node of model.nodes()) {
      const was = this.#online.get(node.name) ?? false;
      if (node.online && !was) {
        for (const g of model.guestsOn(node.name)) refresh(g);
        loadChanged.add(node.name);
      }
      if (!node.online && was) for (const vmid of this.#vmidsOn.get(node.name) ?? []) freeze(vmid);
      this.#online.set(node.name, node.online);
    }

    const [nodes, storage] = [new Map(this.#nodes), new Map(this.#storage)];
    for (const node of model.nodes()) {
      if (!node.online) continue;
      let load = this.#nodeLoad.get(node.name);
      if (!load || loadChanged.has(node.name)) {
        load = { cpu: this.metrics.cpu(node), mem: this.metrics.mem(node) };
        this.#nodeLoad.set(node.name, load);
      }
      nodes.set(node.name, this.metrics.nodeStats(node, now, load));
      for (const s of model.storages) {
        const usage = this.metrics.storageUsage(s.storage, node.name);
        storage.set(`${node.name}/${s.storage}`, { time: now, node: node.name, maxdisk: usage.total, disk: usage.used });
      }
    }
    this.#vms = this.#vms.with(changed);
    [this.#nodes, this.#storage] = [nodes, storage];
    this.#time = now;
    this.#dump = undefined;
  }

  /**
   * Changes whenever what the cluster-wide endpoints derive from the dump (and from the live
   * config) may have changed: on every model change, broadcast and second.
   */
  stamp(now = Date.now()): string {
    return `${this.model.version}:${this.#broadcasts}:${Math.floor(now / 1000)}`;
  }

  /** The current dump, as `PVE::Cluster::rrd_dump` returns it (expired entries removed). */
  dump(now = Date.now()): Dump {
    if (this.opts.intervalMs === 0) {
      // Live mode: rebroadcast when the model changed, at most once per second for uptimes.
      const stamp = `${this.model.version}:${Math.floor(now / 1000)}`;
      if (stamp !== this.#liveStamp) {
        this.broadcast(now);
        this.#liveStamp = stamp;
      }
    }
    this.#expire(now);
    this.#dump ??= { vms: new VmsAt(this.#vms, this.#time), nodes: this.#nodes, storage: this.#storage };
    return this.#dump;
  }

  /** Online nodes keep refreshing their entries; only a silent node's entries age out. */
  #expire(now: number): void {
    const oldest = now - this.opts.expireMs;
    const silent = (node: string) => !this.model.node(node)?.online;
    const expired = (e: { time: number; node: string }) => e.time <= oldest && silent(e.node);
    const [nodes, storage] = [withoutExpired(this.#nodes, expired), withoutExpired(this.#storage, expired)];
    let gone: Map<number, Change<VmEntry>> | undefined;
    for (const [node, vmids] of this.#vmidsOn) {
      if (!silent(node)) continue;
      for (const vmid of vmids) {
        const { frozenAt } = this.#vms.get(vmid)!;
        if ((frozenAt ?? this.#time) > oldest) continue;
        (gone ??= new Map()).set(vmid, GONE);
        vmids.delete(vmid);
        // Its guests lost the entries the next broadcast would refresh: it rebuilds them all.
        if (frozenAt === undefined) this.#online.set(node, false);
      }
    }
    if (gone) this.#vms = this.#vms.with(gone);
    if (gone || nodes !== this.#nodes || storage !== this.#storage) this.#dump = undefined;
    [this.#nodes, this.#storage] = [nodes, storage];
  }

  #index(node: string): Set<number> {
    let vmids = this.#vmidsOn.get(node);
    if (!vmids) this.#vmidsOn.set(node, (vmids = new Set()));
    return vmids;
  }
}

/**
 * A guest's broadcast figures without the two that move with the clock (its uptime and the
 * entry's time), which are derived when the entry is read.
 */
interface VmEntry extends Omit<VmStats, 'time' | 'uptime'> {
  /** When the guest was started, if it is running. */
  startedAt: number | undefined;
  /** Set once the guest is no longer broadcast (gone, or its node silent): the last broadcast's time. */
  frozenAt: number | undefined;
}

/** The guests' entries of one dump, each read as VmStats at the broadcast's time. */
class VmsAt implements VmsDump {
  constructor(
    private readonly entries: LayeredMap<number, VmEntry>,
    private readonly time: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(vmid: number): VmStats | undefined {
    const e = this.entries.get(vmid);
    return e && statsAt(e, e.frozenAt ?? this.time);
  }

  has(vmid: number): boolean {
    return this.entries.has(vmid);
  }

  keys(): IterableIterator<number> {
    return this.entries.keys();
  }
}

/** The map itself when nothing in it expired, else a copy without the expired entries. */
function withoutExpired<K, V>(m: Map<K, V>, expired: (v: V) => boolean): Map<K, V> {
  let copy: Map<K, V> | undefined;
  for (const [k, v] of m) {
    if (!expired(v)) continue;
    copy ??= new Map(m);
    copy.delete(k);
  }
  return copy ?? m;
}

function entryOf(g: Guest): VmEntry {
  const running = g.running;
  return {
    node: g.node,
    name: g.name,
    status: !running ? 'stopped' : g.type === 'qemu' && g.paused ? 'paused' : 'running',
    template: g.template ? 1 : 0,
    maxcpu: g.cpus,
    cpu: running ? g.cpu : 0,
    maxmem: g.maxmem,
    mem: running ? g.mem : 0,
    maxdisk: g.maxdisk,
    disk: g.type === 'lxc' && running ? g.diskUsed : 0,
    netin: g.netin,
    netout: g.netout,
    diskread: g.diskread,
    diskwrite: g.diskwrite,
    memhost: running ? g.mem : 0,
    startedAt: running ? g.startedAt : undefined,
    frozenAt: undefined,
  };
}

function statsAt(e: VmEntry, time: number): VmStats {
  return {
    time,
    node: e.node,
    uptime: uptimeAt(e.startedAt, time),
    name: e.name,
    status: e.status,
    template: e.template,
    maxcpu: e.maxcpu,
    cpu: e.cpu,
    maxmem: e.maxmem,
    mem: e.mem,
    maxdisk: e.maxdisk,
    disk: e.disk,
    netin: e.netin,
    netout: e.netout,
    diskread: e.diskread,
    diskwrite: e.diskwrite,
    memhost: e.memhost,
  };
}
