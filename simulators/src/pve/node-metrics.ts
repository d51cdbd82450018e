import type { ClusterModel, NodeState } from './cluster-model.js';
import type { NodeStats } from './rrd.js';

/** Node-level figures derived from the node and its guests. */
export class NodeMetrics {
  constructor(private readonly model: ClusterModel) {}

  cpu(node: NodeState): number {
    let used = 0;
    for (const g of this.model.guestsOn(node.name)) if (g.running) used += g.cpu * g.cpus;
    return Math.min(1, node.baseCpu + used / node.maxcpu);
  }

  mem(node: NodeState): number {
    let used = node.baseMem;
    for (const g of this.model.guestsOn(node.name)) if (g.running) used += g.mem;
    return Math.min(Math.round(node.maxmem * 0.97), used);
  }

  uptime(node: NodeState, now = Date.now()): number {
    return Math.floor((now - node.bootedAt) / 1000);
  }

  /** `load`: the node's cpu and mem when the caller already has them. */
  nodeStats(node: NodeState, now: number, load = { cpu: this.cpu(node), mem: this.mem(node) }): NodeStats {
    return {
      time: now,
      node: node.name,
      uptime: this.uptime(node, now),
      level: '',
      maxcpu: node.maxcpu,
      cpu: load.cpu,
      maxmem: node.maxmem,
      mem: load.mem,
      maxdisk: node.rootfsTotal,
      disk: node.rootfsUsed,
    };
  }

  /** Storage usage as a node sees it: shared stores read the same everywhere. */
  storageUsage(storage: string, node: string): { total: number; used: number } {
    const s = this.model.storages.find((x) => x.storage === storage);
    if (!s) return { total: 0, used: 0 };
    const total = Math.round(s.sizeGiB * 1024 ** 3);
    // Local stores fill up a little differently on each node; a shared one is one volume.
    const skew = s.shared ? 0 : (hash(`${node}/${storage}`) % 1000) / 10_000;
    return { total, used: Math.round(total * Math.min(0.99, (s.usedFraction ?? 0.3) + skew)) };
  }
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) >>> 0;
  return h;
}
