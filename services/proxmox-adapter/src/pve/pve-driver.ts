import type { Capability, ClusterNode, Guest, Node, Storage } from '@molten/contracts';
import { sleep } from '@molten/kit';
import type { ClusterDriver, ClusterRead, GuestRef, PowerAction, TaskOutcome } from '../driver.js';
import { UpstreamError } from '../upstream-error.js';
import { PveClient, type PveClientOptions } from './pve-client.js';
import { pveHttpError } from './pve-errors.js';
import { splitTags, type GuestCurrent, type ResourceRow } from './pve-schemas.js';
import { WORKER_TYPES, exitStatusOk, parseUpid } from './upid.js';

const POWER_PRIVILEGE = 'VM.PowerMgmt';

/** The proxmox-adapter's driver for the Proxmox VE REST API. */
export class PveDriver implements ClusterDriver {
  readonly kind = 'proxmox-ve' as const;
  readonly transport = 'https';
  readonly completeReads = true;
  readonly client: PveClient;
  /** Set when Proxmox said the token lacks a privilege; cleared by a success. */
  #missingPowerPrivilege = '';

  constructor(
    private readonly cluster: string,
    opts: PveClientOptions,
  ) {
    this.client = new PveClient(opts);
  }

  get endpoint(): string {
    return this.client.endpoint;
  }

  async version(): Promise<string> {
    const v = await this.client.version();
    return `pve-manager/${v.version}`;
  }

  async readResources(): Promise<ClusterRead> {
    const rows = await this.client.clusterResources();
    const out: ClusterRead = { guests: [], nodes: [], storage: [] };
    for (const row of rows) {
      if (row.type === 'qemu' || row.type === 'lxc') out.guests.push(guestFromRow(this.cluster, row));
      else if (row.type === 'node') out.nodes.push(nodeFromRow(this.cluster, row));
      else if (row.type === 'storage') out.storage.push(storageFromRow(this.cluster, row));
    }
    return out;
  }

  async readClusterStatus() {
    const rows = await this.client.clusterStatus();
    const cluster = rows.find((r) => r.type === 'cluster');
    const nodes: ClusterNode[] = rows
      .filter((r) => r.type === 'node')
      .map((r) => ({
        name: r.name,
        nodeid: r.nodeid ?? 0,
        ip: r.ip ?? '',
        online: r.online ?? false,
        local: r.local ?? false,
        level: r.level ?? '',
      }));
    return {
      // A standalone node has no "cluster" entry: its name stands in for the cluster's.
      name: cluster?.name ?? nodes[0]?.name ?? this.cluster,
      standalone: !cluster,
      quorate: cluster ? (cluster.quorate ?? false) : true,
      version: cluster?.version ?? 0,
      nodes,
    };
  }

  async readNodeDetails(node: string): Promise<Partial<Node>> {
    const s = await this.client.nodeStatus(node);
    return { pveversion: s.pveversion, cpuModel: s.cpuinfo?.model, loadavg: s.loadavg ?? [] };
  }

  async readGuest(ref: GuestRef): Promise<Guest | undefined> {
    try {
      const cur = await this.client.guestStatus(ref.node, ref.type, ref.vmid);
      return guestFromCurrent(this.cluster, ref, cur);
    } catch (err) {
      if (err instanceof UpstreamError && err.code === 'not_found') return undefined;
      throw err;
    }
  }

  capabilities(): Capability[] {
    const reason = this.#missingPowerPrivilege ? `the API token lacks ${this.#missingPowerPrivilege}` : '';
    return (['start', 'stop', 'shutdown', 'reboot'] as const).map((a) => ({
      action: `vm-${a}`,
      available: !reason,
      reason,
      privilege: POWER_PRIVILEGE,
    }));
  }

  onCapabilitiesChange: (() => void) | undefined;

  async startPower(ref: GuestRef, action: PowerAction): Promise<string> {
    try {
      const upid = await this.client.power(ref.node, ref.type, ref.vmid, action);
      this.#setMissing('');
      return upid;
    } catch (err) {
      if (err instanceof UpstreamError && err.code === 'forbidden' && err.privilege) this.#setMissing(err.privilege);
      throw err;
    }
  }

  #setMissing(privilege: string): void {
    if (this.#missingPowerPrivilege === privilege) return;
    this.#missingPowerPrivilege = privilege;
    this.onCapabilitiesChange?.();
  }

  async followTask(upid: string, o: { deadlineMs: number; signal: AbortSignal }): Promise<TaskOutcome> {
    // Fast at first (most power tasks end within a second or two), then backing off.
    let delay = 50;
    let lastError: unknown;
    while (!o.signal.aborted) {
      try {
        const t = await this.client.taskStatus(upid);
        lastError = undefined;
        if (t.status === 'stopped') {
          const exitstatus = t.exitstatus ?? 'unexpected status';
          const handedOver = /^ha/.test(parseUpid(upid)?.type ?? '');
          return { result: exitStatusOk(exitstatus) ? 'ok' : 'failed', exitstatus, handedOver };
        }
      } catch (err) {
        // A passing network failure is not the task's failure: keep reading until the deadline.
        lastError = err;
      }
      if (Date.now() + delay > o.deadlineMs) {
        return lastError
          ? { result: 'lost', exitstatus: (lastError as Error).message }
          : { result: 'deadline', exitstatus: 'task still running at the deadline' };
      }
      await sleep(delay, o.signal);
      delay = Math.min(delay * 1.3, 1_000);
    }
    return { result: 'lost', exitstatus: 'stopped following (shutdown)' };
  }

  async findTask(ref: GuestRef, action: PowerAction, sinceMs: number): Promise<string | undefined> {
    const types = WORKER_TYPES[ref.type][action] ?? [];
    const since = Math.floor(sinceMs / 1000) - 5;
    const rows = await this.client.tasks(ref.node, { vmid: ref.vmid, since, limit: 50, source: 'all' });
    const match = rows
      .filter((r) => types.includes(r.type) && r.starttime >= since)
      .sort((a, b) => a.starttime - b.starttime)[0];
    return match?.upid;
  }

  taskError(exitstatus: string): UpstreamError {
    return pveHttpError(500, exitstatus);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

const GUEST_STATUSES = new Set(['running', 'stopped', 'unknown']);

export function guestFromRow(cluster: string, r: ResourceRow): Guest {
  const type = r.type === 'lxc' ? 'lxc' : 'qemu';
  // pvestatd broadcasts a running VM's QMP status ("paused", "prelaunch", …) as its status:
  // split it back into Proxmox's two fields.
  const raw = r.status ?? 'unknown';
  const qmp = type === 'qemu' && !GUEST_STATUSES.has(raw) ? raw : undefined;
  return {
    cluster,
    vmid: Number(r.vmid ?? Number(r.id.split('/')[1])),
    name: r.name ?? '',
    node: r.node ?? '',
    type,
    status: qmp ? 'running' : raw,
    qmpstatus: type === 'qemu' ? (qmp ?? raw) : undefined,
    ...figures(r),
    maxcpu: r.maxcpu ?? 0,
    hastate: r.hastate || undefined,
    pool: r.pool || undefined,
  };
}

export function guestFromCurrent(cluster: string, ref: GuestRef, c: GuestCurrent): Guest {
  return {
    cluster,
    vmid: ref.vmid,
    name: c.name ?? '',
    node: ref.node,
    type: ref.type,
    status: c.status,
    qmpstatus: ref.type === 'qemu' ? (c.qmpstatus ?? c.status) : undefined,
    ...figures(c),
    maxcpu: c.cpus ?? 0,
    hastate: c.ha?.state || undefined,
    pool: undefined,
  };
}

/** The fields both guest listings carry, with Proxmox's omitted keys as zeros. */
function figures(g: ResourceRow | GuestCurrent) {
  return {
    cpu: g.cpu ?? 0,
    mem: g.mem ?? 0,
    maxmem: g.maxmem ?? 0,
    disk: g.disk ?? 0,
    maxdisk: g.maxdisk ?? 0,
    uptime: g.uptime ?? 0,
    tags: splitTags(g.tags),
    lock: g.lock || undefined,
    template: g.template ?? false,
    netin: g.netin ?? 0,
    netout: g.netout ?? 0,
    diskread: g.diskread ?? 0,
    diskwrite: g.diskwrite ?? 0,
    imprecise: [] as string[],
  };
}

export function nodeFromRow(cluster: string, r: ResourceRow): Node {
  return {
    cluster,
    node: r.node ?? r.id.replace(/^node\//, ''),
    status: r.status ?? 'unknown',
    cpu: r.cpu ?? 0,
    maxcpu: r.maxcpu ?? 0,
    mem: r.mem ?? 0,
    maxmem: r.maxmem ?? 0,
    disk: r.disk ?? 0,
    maxdisk: r.maxdisk ?? 0,
    uptime: r.uptime ?? 0,
    level: r.level ?? '',
    loadavg: [],
    imprecise: [],
  };
}

export function storageFromRow(cluster: string, r: ResourceRow): Storage {
  const node = r.node ?? '';
  const storage = r.storage ?? r.id.split('/').pop() ?? '';
  return {
    cluster,
    id: `${node}/${storage}`,
    storage,
    node,
    type: r.plugintype ?? '',
    content: (r.content ?? '').split(',').filter(Boolean),
    status: r.status ?? 'unknown',
    shared: r.shared ?? false,
    used: r.disk ?? 0,
    total: r.maxdisk ?? 0,
    imprecise: [],
  };
}

export { parseUpid };
