import { createHash } from 'node:crypto';
import type { Identity } from './auth.js';
import type { ClusterModel, NodeState, StorageSpec } from './cluster-model.js';
import type { Json } from './guest-views.js';
import type { NodeMetrics } from './node-metrics.js';
import type { Dump, Rrd } from './rrd.js';
import type { PveRelease } from './version.js';

/**
 * Cluster-wide JSON (pve-manager `API2/Cluster.pm`, `API2/Nodes.pm`, `API2Tools.pm`, pve-storage
 * `API2/Storage/*.pm`), built from the broadcast status in rrd.ts. List endpoints filter silently
 * by privilege, as PVE does.
 */
export interface ClusterViewContext {
  model: ClusterModel;
  rrd: Rrd;
  metrics: NodeMetrics;
  release: PveRelease;
  /** SHA-256 fingerprint of each node's certificate (all nodes share one here). */
  fingerprint: string;
  stringVmid: (vmid: number) => boolean;
}

/** pve-storage `content_hash_to_string`. */
const content = (s: StorageSpec) => s.content.join(',');

/** `PVE::API2Tools::extract_node_stats`. */
function nodeEntry(c: ClusterViewContext, node: NodeState, excludeStats: boolean, dump: Dump): Json {
  const e: Json = { id: `node/${node.name}`, node: node.name, type: 'node', status: 'unknown' };
  const d = dump.nodes.get(node.name);
  if (d) {
    if (node.online) {
      if (!excludeStats) {
        e.uptime = d.uptime;
        e.cpu = d.cpu;
        e.mem = d.mem;
        e.disk = d.disk;
      }
      e.status = 'online';
    }
    e.level = d.level;
    if (!excludeStats) {
      e.maxcpu = d.maxcpu;
      e.maxmem = d.maxmem;
      e.maxdisk = d.maxdisk;
    }
  }
  if (c.model.clusterName !== undefined && !node.online) e.status = 'offline';
  return e;
}

const RESOURCE_TYPES = ['vm', 'storage', 'node', 'sdn'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];
export { RESOURCE_TYPES };

/**
 * GET /cluster/resources' rows, one at a time (the route writes them in slices, see SlicedList):
 * guests (sorted by vmid as strings, like Perl's `sort keys`), nodes, storage, sdn. The status
 * dump is read once, at the start, as `rrd_dump` is; each guest's config properties are read as
 * its row is made.
 */
export function* clusterResourceRows(c: ClusterViewContext, who: Identity, type: ResourceType | undefined, now = Date.now()): Generator<Json> {
  const { model } = c;
  const dump = c.rrd.dump(now);
  if (!type || type === 'vm') {
    for (const g of model.guestsInPerlOrder()) {
      if (!who.can(`/vms/${g.vmid}`, ['VM.Audit'])) continue;
      const e: Json = {
        id: `${g.type}/${g.vmid}`,
        vmid: g.type === 'lxc' && c.stringVmid(g.vmid) ? String(g.vmid) : g.vmid,
        node: g.node,
        type: g.type,
        status: 'unknown',
      };
      const d = dump.vms.get(g.vmid);
      if (d) {
        e.uptime = d.uptime;
        e.name = d.name;
        e.status = d.status;
        e.template = d.template;
        e.maxcpu = d.maxcpu;
        e.cpu = d.cpu;
        e.maxmem = d.maxmem;
        e.mem = d.mem;
        e.maxdisk = d.maxdisk;
        e.disk = d.disk;
        e.netin = d.netin;
        e.netout = d.netout;
        e.diskread = d.diskread;
        e.diskwrite = d.diskwrite;
        if (c.release.pve9Metrics) e.memhost = d.memhost;
      }
      if (g.pool) e.pool = g.pool;
      // Config properties come live from pmxcfs, not from the (possibly stale) broadcast.
      if (g.lock) e.lock = g.lock;
      if (g.tags.length) e.tags = g.tags.join(';');
      if (g.ha) e.hastate = g.ha.state;
      yield e;
    }
  }
  if (!type || type === 'node') {
    for (const node of model.nodes()) {
      const e = nodeEntry(c, node, !who.can(`/nodes/${node.name}`, ['Sys.Audit']), dump);
      e['cgroup-mode'] = 2;
      yield e;
    }
  }
  if (!type || type === 'storage') {
    for (const s of model.storages) {
      if (!who.can(`/storage/${s.storage}`, ['Datastore.Audit'])) continue;
      for (const node of model.nodes()) {
        const e: Json = {
          id: `storage/${node.name}/${s.storage}`,
          storage: s.storage,
          node: node.name,
          type: 'storage',
          plugintype: s.type,
          status: 'unknown',
          shared: s.shared ? 1 : 0,
          content: content(s),
        };
        const d = dump.storage.get(`${node.name}/${s.storage}`);
        if (d) {
          e.maxdisk = d.maxdisk;
          e.disk = d.disk;
          e.status = 'available';
        }
        yield e;
      }
    }
  }
  if ((!type || type === 'sdn') && who.can('/sdn/zones/localnetwork', ['SDN.Audit'])) {
    for (const node of model.nodes()) {
      if (!dump.nodes.has(node.name)) continue;
      yield { id: `sdn/${node.name}/localnetwork`, sdn: 'localnetwork', node: node.name, type: 'sdn', status: 'ok' };
    }
  }
}

/** GET /cluster/status. */
export function clusterStatus(c: ClusterViewContext): Json[] {
  const { model } = c;
  const dump = c.rrd.dump();
  const res: Json[] = [];
  if (model.clusterName !== undefined) {
    res.push({
      type: 'cluster',
      id: 'cluster',
      name: model.clusterName,
      nodes: model.nodeNames.length,
      quorate: model.quorate() ? 1 : 0,
      version: model.nodeNames.length + 2, // corosync config version: bumped per join, plus setup
    });
  }
  for (const node of model.nodes()) {
    res.push({
      type: 'node',
      id: `node/${node.name}`,
      name: node.name,
      nodeid: node.nodeid,
      local: node.name === model.localNode ? 1 : 0,
      online: node.online ? 1 : 0,
      ip: node.ip,
      level: dump.nodes.get(node.name)?.level ?? '',
    });
  }
  return res;
}

/** GET /nodes. */
export function nodeList(c: ClusterViewContext, who: Identity): Json[] {
  const dump = c.rrd.dump();
  return [...c.model.nodes()].map((node) => ({
    ...nodeEntry(c, node, !who.can(`/nodes/${node.name}`, ['Sys.Audit']), dump),
    ssl_fingerprint: c.fingerprint,
  }));
}

/** GET /nodes/{node}/status (live, from the node itself). */
export function nodeStatus(c: ClusterViewContext, node: NodeState, now = Date.now()): Json {
  const cpu = c.metrics.cpu(node);
  const used = c.metrics.mem(node);
  const load = (f: number) => (cpu * node.maxcpu * f).toFixed(2);
  const kernel = '6.14.11-2-pve';
  const kbuild = '#1 SMP PREEMPT_DYNAMIC PMX 6.14.11-2 (2025-09-12T09:46Z)';
  const available = node.maxmem - used;
  return {
    uptime: c.metrics.uptime(node, now),
    idle: 0,
    loadavg: [load(1), load(0.93), load(0.88)],
    kversion: `Linux ${kernel} ${kbuild}`,
    'current-kernel': { sysname: 'Linux', release: kernel, version: kbuild, machine: 'x86_64' },
    'boot-info': { mode: 'efi', secureboot: 0 },
    cpuinfo: {
      model: node.cpuModel,
      sockets: node.sockets,
      cores: node.cores,
      cpus: node.maxcpu,
      mhz: '3800.000',
      hvm: '1',
      user_hz: 100,
      flags: 'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx lm constant_tsc rep_good nopl xtopology cpuid pni ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm svm vmx avx2',
    },
    cpu,
    wait: Math.round(cpu * 0.02 * 10_000) / 10_000,
    memory: { total: node.maxmem, used, free: Math.round(available * 0.35), available },
    ksm: { shared: 0 },
    swap: { total: node.swapTotal, used: 0, free: node.swapTotal },
    pveversion: `pve-manager/${c.release.version}/${c.release.repoid}`,
    rootfs: { total: node.rootfsTotal, used: node.rootfsUsed, avail: node.rootfsTotal - node.rootfsUsed, free: node.rootfsTotal - node.rootfsUsed },
  };
}

function storageInfo(c: ClusterViewContext, s: StorageSpec, node: string): Json {
  const u = c.metrics.storageUsage(s.storage, node);
  return {
    type: s.type,
    content: content(s),
    shared: s.shared ? 1 : 0,
    active: 1,
    enabled: 1,
    total: u.total,
    used: u.used,
    avail: u.total - u.used,
  };
}

/** GET /nodes/{node}/storage (pve-storage `storage_info` filtered by privilege and parameters). */
export function nodeStorage(
  c: ClusterViewContext,
  who: Identity,
  node: string,
  q: { content?: string; enabled?: boolean; storage?: string },
): Json[] | { unknownStorage: true } {
  const wanted = q.content?.split(/[,;\s]+/).filter(Boolean);
  const visible = c.model.storages.filter((s) => !wanted || s.content.some((ct) => wanted.includes(ct)));
  if (q.storage && !visible.some((s) => s.storage === q.storage)) return { unknownStorage: true };
  const res: Json[] = [];
  for (const s of visible) {
    if (!who.can(`/storage/${s.storage}`, ['Datastore.Audit', 'Datastore.AllocateSpace'], true)) continue;
    if (q.storage && q.storage !== s.storage) continue;
    const info = storageInfo(c, s, node);
    res.push({ ...info, storage: s.storage, used_fraction: (info.used as number) / (info.total as number) });
  }
  return res;
}

/** GET /nodes/{node}/storage/{storage}/status. */
export function storageStatus(c: ClusterViewContext, node: string, storage: string): Json | undefined {
  const s = c.model.storages.find((x) => x.storage === storage);
  return s ? storageInfo(c, s, node) : undefined;
}

/** GET /storage: the storage.cfg sections, with the config file's digest in every entry. */
export function storageConfig(c: ClusterViewContext, who: Identity, type?: string): Json[] {
  const digest = storageDigest(c.model.storages);
  return c.model.storages
    .filter((s) => who.can(`/storage/${s.storage}`, ['Datastore.Audit', 'Datastore.AllocateSpace'], true))
    .filter((s) => !type || s.type === type)
    .map((s) => {
      const e: Json = { storage: s.storage, type: s.type, content: content(s), digest, ...s.config };
      if (s.shared) e.shared = 1;
      return e;
    });
}

/** PVE puts the SHA-1 of storage.cfg in every entry; this hashes the simulated config. */
function storageDigest(storages: readonly StorageSpec[]): string {
  return createHash('sha1').update(JSON.stringify(storages)).digest('hex');
}
