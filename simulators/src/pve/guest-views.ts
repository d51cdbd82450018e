import type { ClusterModel, Guest } from './cluster-model.js';
import type { PveRelease } from './version.js';

/**
 * Guest JSON exactly as the node-local endpoints build it (qemu-server `vmstatus`, pve-container
 * `vmstatus`): integers for vmid and bytes, booleans as 0/1, optional keys omitted rather than
 * null, `tags` as one `;`-separated string, `qmpstatus` only for qemu and only in `full` reads.
 */
export type Json = Record<string, unknown>;

export interface GuestViewOptions {
  release: PveRelease;
  /** Containers whose vmid is sent as a string, like pve-container before 2024-04 (PVE < 8.2). */
  stringVmid: (vmid: number) => boolean;
  now: number;
}

const tags = (g: Guest) => (g.tags.length ? g.tags.join(';') : undefined);

function pressure(g: Guest): Json {
  // cgroup PSI averages: low, and loosely tied to how busy the guest is.
  const p = (f: number) => Math.round(g.cpu * f * 100) / 100;
  return {
    pressurecpusome: p(4),
    pressurecpufull: p(1.5),
    pressureiosome: p(0.8),
    pressureiofull: p(0.5),
    pressurememorysome: 0,
    pressurememoryfull: 0,
  };
}

/** An entry of GET /nodes/{node}/qemu (`full` as with `?full=1` and in status/current). */
export function qemuRow(model: ClusterModel, g: Guest, full: boolean, o: GuestViewOptions): Json {
  const running = g.running;
  const row: Json = {
    vmid: g.vmid,
    status: running ? 'running' : 'stopped',
    name: g.name,
    cpus: g.cpus,
    maxmem: g.maxmem,
    maxdisk: g.maxdisk,
    disk: 0, // qemu-server has no usage figure for VM disks
    uptime: model.uptimeOf(g, o.now),
    cpu: running ? g.cpu : 0,
    mem: running ? g.mem : 0,
    netin: running ? g.netin : 0,
    netout: running ? g.netout : 0,
  };
  if (o.release.pve9Metrics) row.memhost = running ? g.mem : 0;
  if (running) row.pid = g.pid;
  if (g.template) row.template = 1;
  if (g.lock) row.lock = g.lock;
  const t = tags(g);
  if (t !== undefined) row.tags = t;
  if (running && o.release.pve9Metrics) Object.assign(row, pressure(g));
  if (!full) return row;

  if (running) {
    row.qmpstatus = g.paused ? 'paused' : 'running';
    row.diskread = g.diskread;
    row.diskwrite = g.diskwrite;
    row['running-machine'] = 'pc-i440fx-9.2+pve1';
    row['running-qemu'] = '10.0.2';
    row.nics = { [`tap${g.vmid}i0`]: { netin: g.netin, netout: g.netout } };
    row.balloon = g.maxmem;
    if (g.agent) row.freemem = Math.max(0, g.maxmem - g.mem);
    row['proxmox-support'] = {
      'backup-fleecing': true,
      'backup-max-workers': true,
      'pbs-dirty-bitmap': true,
      'pbs-dirty-bitmap-migration': true,
      'pbs-dirty-bitmap-savevm': true,
      'pbs-library-version': '1.5.2 (UNKNOWN)',
      'pbs-masterkey': true,
      'query-bitmap-info': true,
    };
  } else {
    row.qmpstatus = 'stopped';
  }
  return row;
}

/** GET /nodes/{node}/qemu/{vmid}/status/current. */
export function qemuStatus(model: ClusterModel, g: Guest, o: GuestViewOptions): Json {
  const s = qemuRow(model, g, true, o);
  s.ha = g.ha ? { managed: 1, state: g.ha.state } : { managed: 0 };
  if (g.agent) s.agent = 1;
  return s;
}

/** An entry of GET /nodes/{node}/lxc, and (with `ha`) GET …/lxc/{vmid}/status/current. */
export function lxcRow(model: ClusterModel, g: Guest, o: GuestViewOptions): Json {
  const running = g.running;
  const row: Json = {
    vmid: o.stringVmid(g.vmid) ? String(g.vmid) : g.vmid,
    type: 'lxc',
    status: running ? 'running' : 'stopped',
    name: g.name,
    cpus: g.cpus,
    maxmem: g.maxmem,
    maxswap: g.maxswap,
    maxdisk: g.maxdisk,
    disk: running ? g.diskUsed : 0,
    mem: running ? g.mem : 0,
    swap: running ? Math.round(g.maxswap * 0.02) : 0,
    uptime: model.uptimeOf(g, o.now),
    cpu: running ? g.cpu : 0,
    netin: running ? g.netin : 0,
    netout: running ? g.netout : 0,
    diskread: running ? g.diskread : 0,
    diskwrite: running ? g.diskwrite : 0,
  };
  if (running) row.pid = g.pid;
  const t = tags(g);
  if (t !== undefined) row.tags = t;
  if (g.template) row.template = 1;
  if (g.lock) row.lock = g.lock;
  if (running && o.release.pve9Metrics) Object.assign(row, pressure(g));
  return row;
}

export function lxcStatus(model: ClusterModel, g: Guest, o: GuestViewOptions): Json {
  const s = lxcRow(model, g, o);
  s.ha = g.ha ? { managed: 1, state: g.ha.state } : { managed: 0 };
  return s;
}
