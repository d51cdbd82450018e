import type { ClusterModel, Guest } from './cluster-model.js';
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

export interface RrdOptions {
  intervalMs: number;
  expireMs: number;
}

export class Rrd {
  // Replaced, never changed in place: a dump handed out stays as it was (an answer written in
  // slices reads the dump of its start, as `rrd_dump` gives a request its own copy).
  #vms = new Map<number, VmStats>();
  #nodes = new Map<string, NodeStats>();
  #storage = new Map<string, StorageStats>();
  #timer: NodeJS.Timeout | undefined;
  #liveStamp = '';
  #broadcasts = 0;

  constructor(
    private readonly model: ClusterModel,
    private readonly metrics: NodeMetrics,
    private readonly opts: RrdOptions,
  ) {
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

  /** Every online node publishes its own, its guests' and its storages' current figures. */
  broadcast(now = Date.now()): void {
    this.#broadcasts++;
    const [vms, nodes, storage] = [new Map(this.#vms), new Map(this.#nodes), new Map(this.#storage)];
    for (const node of this.model.nodes()) {
      if (!node.online) continue;
      nodes.set(node.name, this.metrics.nodeStats(node, now));
      for (const g of this.model.guestsOn(node.name)) vms.set(g.vmid, vmStats(this.model, g, now));
      for (const s of this.model.storages) {
        const usage = this.metrics.storageUsage(s.storage, node.name);
        storage.set(`${node.name}/${s.storage}`, { time: now, node: node.name, maxdisk: usage.total, disk: usage.used });
      }
    }
    [this.#vms, this.#nodes, this.#storage] = [vms, nodes, storage];
  }

  /**
   * Changes whenever what the cluster-wide endpoints derive from the dump (and from the live
   * config) may have changed: on every model change, broadcast and second.
   */
  stamp(now = Date.now()): string {
    return `${this.model.version}:${this.#broadcasts}:${Math.floor(now / 1000)}`;
  }

  /** The current dump, as `PVE::Cluster::rrd_dump` returns it (expired entries removed). */
  dump(now = Date.now()): { vms: ReadonlyMap<number, VmStats>; nodes: ReadonlyMap<string, NodeStats>; storage: ReadonlyMap<string, StorageStats> } {
    if (this.opts.intervalMs === 0) {
      // Live mode: rebroadcast when the model changed, at most once per second for uptimes.
      const stamp = `${this.model.version}:${Math.floor(now / 1000)}`;
      if (stamp !== this.#liveStamp) {
        this.broadcast(now);
        this.#liveStamp = stamp;
      }
    }
    // Online nodes keep refreshing their entries; only a silent node's entries age out.
    const oldest = now - this.opts.expireMs;
    const expired = (e: { time: number; node: string }) => e.time <= oldest && !this.model.node(e.node)?.online;
    this.#vms = withoutExpired(this.#vms, expired);
    this.#nodes = withoutExpired(this.#nodes, expired);
    this.#storage = withoutExpired(this.#storage, expired);
    return { vms: this.#vms, nodes: this.#nodes, storage: this.#storage };
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

function vmStats(model: ClusterModel, g: Guest, now: number): VmStats {
  const running = g.running;
  return {
    time: now,
    node: g.node,
    uptime: model.uptimeOf(g, now),
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
  };
}
