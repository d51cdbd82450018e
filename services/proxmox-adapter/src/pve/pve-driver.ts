import {
  GUEST_ACTIONS,
  GUEST_RRD_COLUMNS,
  NODE_RRD_COLUMNS,
  type Capability,
  type ClusterNode,
  type Guest,
  type GuestAddresses,
  type GuestConfig,
  type GuestSnapshots,
  type HaStatus,
  type Node,
  type PowerActionName,
  type ProxmoxTask,
  type Storage,
  type TaskLog,
} from '@molten/contracts';
import { sleep } from '@molten/kit';
import type { ClusterDriver, ClusterRead, GuestRef, TaskOutcome } from '../driver.js';
import { workerTypes, type Cf, type GuestOp, type GuestPageDriver, type GuestTaskFilter, type RrdSeries, type Timeframe } from '../guest-driver.js';
import { UpstreamError } from '../upstream-error.js';
import {
  agentUnavailable,
  guestConfigSummary,
  haStatusOf,
  interfacesOf,
  observedStep,
  rrdStep,
  snapshotsOf,
  taskOf,
} from './guest-reads.js';
import { PveClient, type PveClientOptions } from './pve-client.js';
import { pveHttpError } from './pve-errors.js';
import { splitTags, type GuestCurrent, type RrdPointOf } from './pve-schemas.js';
import { ResourceRows, type ResourceRow } from './resource-rows.js';
import { TaskReadBudget } from './task-read-budget.js';
import { WORKER_TYPES, exitStatusOk, parseUpid } from './upid.js';

/**
 * A task's status is read at once when following starts (right after the call that started it,
 * see PowerHandler); one still running is read again after 2 ms and 10 ms (a short task ends
 * within milliseconds of its call's answer), then every 25 ms for its first 5 s, then less and
 * less often (up to 1 s).
 */
const TASK_FOLLOW_FIRST_MS = [2, 10] as const;
const TASK_FOLLOW_MS = 25;
const TASK_FOLLOW_FAST_FOR_MS = 5_000;

/** The wait before a running task's next status read: after `reads` reads, `elapsedMs` into the task (see above). */
export function taskFollowDelay(reads: number, elapsedMs: number, previousMs: number): number {
  if (elapsedMs > TASK_FOLLOW_FAST_FOR_MS) return Math.min(Math.max(previousMs, TASK_FOLLOW_MS) * 1.3, 1_000);
  return TASK_FOLLOW_FIRST_MS[reads - 1] ?? TASK_FOLLOW_MS;
}
/** Task status reads per node and second, shared by every task this driver follows on that node. */
const TASK_READS_PER_NODE_S = 80;

/** Every action the driver runs, and the privilege Proxmox names when it refuses it. */
const ACTION_PRIVILEGES: readonly [string, string][] = Object.entries(GUEST_ACTIONS).map(([token, a]) => [token, a.privileges[0]]);

/** The proxmox-adapter's driver for the Proxmox VE REST API. */
export class PveDriver implements ClusterDriver, GuestPageDriver {
  readonly kind = 'proxmox-ve' as const;
  readonly transport = 'https';
  readonly completeReads = true;
  readonly client: PveClient;
  /**
   * Actions Proxmox refused for a missing privilege (action → the privilege), cleared by the
   * action's next success. A hint for the UI's pre-flight: actions are still sent, Proxmox decides.
   */
  readonly #missing = new Map<string, string>();
  /** pve-manager's major version (0 until read), for RRD steps. */
  #major = 0;
  readonly #taskReads = new TaskReadBudget(TASK_READS_PER_NODE_S);
  readonly #resources = new ResourceRows<Guest | Node | Storage>((row) =>
    row.type === 'qemu' || row.type === 'lxc'
      ? guestFromRow(this.cluster, row)
      : row.type === 'node'
        ? nodeFromRow(this.cluster, row)
        : row.type === 'storage'
          ? storageFromRow(this.cluster, row)
          : undefined,
  );

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
    this.#major = Number(/^(\d+)/.exec(v.version)?.[1] ?? 0);
    return `pve-manager/${v.version}`;
  }

  /**
   * One /cluster/resources read. Rows whose bytes did not change since the previous read give
   * the very objects they gave then (see ResourceRows), so the poll's diff skips them with one
   * lookup; so do guests whose counters alone moved while their object is still the one
   * published. Only the other changed rows are parsed, checked and built.
   */
  async readResources(o: { stillPublished?(guest: Guest): boolean } = {}): Promise<ClusterRead> {
    const { stillPublished } = o;
    const reuse = stillPublished && ((item: Guest | Node | Storage, type: string) => (type === 'qemu' || type === 'lxc') && stillPublished(item as Guest));
    const asked = performance.now();
    const body = await this.client.clusterResourcesBody(this.#resources.sink());
    const answerMs = performance.now() - asked;
    const read = await this.#resources.read(body, reuse);
    const out: ClusterRead = { guests: [], nodes: [], storage: [], answerMs };
    for (let k = 0; k < read.count; k++) {
      const item = read.items[k];
      if (item === undefined) continue;
      const type = read.types[k];
      if (type === 'qemu' || type === 'lxc') out.guests.push(item as Guest);
      else if (type === 'node') out.nodes.push(item as Node);
      else out.storage.push(item as Storage);
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
    return ACTION_PRIVILEGES.map(([action, privilege]) => {
      const missing = this.#missing.get(action);
      return { action, available: !missing, reason: missing ? `the API token lacks ${missing}` : '', privilege };
    });
  }

  onCapabilitiesChange: (() => void) | undefined;

  startPower(ref: GuestRef, action: PowerActionName): Promise<string> {
    return this.#mutate(`vm-${action}`, () => this.client.power(ref.node, ref.type, ref.vmid, action));
  }

  startGuestOp(ref: GuestRef, op: GuestOp): Promise<string> {
    const c = this.client;
    const { node, type, vmid } = ref;
    return this.#mutate(op.kind, () => {
      switch (op.kind) {
        case 'snapshot-create':
          return c.snapshotCreate(node, type, vmid, { snapname: op.name, description: op.description, vmstate: op.vmstate });
        case 'snapshot-rollback':
          return c.snapshotRollback(node, type, vmid, op.name);
        case 'snapshot-delete':
          return c.snapshotDelete(node, type, vmid, op.name);
        case 'vm-suspend':
          return c.power(node, type, vmid, 'suspend', op.todisk ? { todisk: 1 } : {});
        case 'vm-resume':
          return c.power(node, type, vmid, 'resume');
      }
    });
  }

  async findGuestOpTask(ref: GuestRef, op: GuestOp, sinceMs: number): Promise<string | undefined> {
    return this.#findTask(ref, workerTypes(ref.type, op), sinceMs);
  }

  /** The one mutating call of an action; a 403 marks the action's capability, a success clears it. */
  async #mutate(action: string, call: () => Promise<string>): Promise<string> {
    try {
      const upid = await call();
      this.#setMissing(action, undefined);
      return upid;
    } catch (err) {
      if (err instanceof UpstreamError && err.code === 'forbidden' && err.privilege) this.#setMissing(action, err.privilege);
      throw err;
    }
  }

  #setMissing(action: string, privilege: string | undefined): void {
    if (privilege === undefined) {
      // A success proves the privilege it needs: every action marked for lacking that privilege
      // has it too (a 403 on shutdown marked all power actions; a later start clears them all).
      const needed = ACTION_PRIVILEGES.find(([a]) => a === action)?.[1];
      const cleared = [...this.#missing].filter(([a, p]) => a === action || (needed !== undefined && p === needed));
      if (cleared.length === 0) return;
      for (const [a] of cleared) this.#missing.delete(a);
      this.onCapabilitiesChange?.();
      return;
    }
    if (this.#missing.get(action) === privilege) return;
    {
      // One privilege covers several actions (VM.PowerMgmt: all power actions): mark them all.
      const covered = ACTION_PRIVILEGES.filter(([a, p]) => a === action || (p === privilege && action.startsWith('vm-') === a.startsWith('vm-'))).map(([a]) => a);
      for (const a of covered) this.#missing.set(a, privilege);
    }
    this.onCapabilitiesChange?.();
  }

  // ---- the guest page's reads ----

  rrdStep(timeframe: Timeframe): number {
    return rrdStep(timeframe, this.#major || 9);
  }

  async guestRrd(ref: GuestRef, timeframe: Timeframe, cf: Cf): Promise<RrdSeries<RrdPointOf<(typeof GUEST_RRD_COLUMNS)[number]>>> {
    const points = await this.client.guestRrd(ref.node, ref, timeframe, cf);
    return { stepS: observedStep(points, timeframe, this.#major || 9), points };
  }

  async nodeRrd(node: string, timeframe: Timeframe, cf: Cf): Promise<RrdSeries<RrdPointOf<(typeof NODE_RRD_COLUMNS)[number]>>> {
    const points = await this.client.nodeRrd(node, timeframe, cf);
    return { stepS: observedStep(points, timeframe, this.#major || 9), points };
  }

  async guestConfig(ref: GuestRef): Promise<GuestConfig> {
    return guestConfigSummary(ref, await this.client.guestConfig(ref.node, ref.type, ref.vmid));
  }

  async guestAddresses(ref: GuestRef): Promise<GuestAddresses> {
    const base = { vmid: ref.vmid, source: ref.type === 'qemu' ? 'qemu-agent' : 'lxc', unavailable: '', message: '', interfaces: [] };
    if (ref.type === 'lxc') {
      const list = await this.client.lxcInterfaces(ref.node, ref.vmid);
      if (list === null) return { ...base, unavailable: 'guest_stopped', message: `CT ${ref.vmid} is not running: it has no addresses while it is stopped.` };
      return { ...base, interfaces: interfacesOf(list) };
    }
    try {
      return { ...base, interfaces: interfacesOf((await this.client.agentNetworkInterfaces(ref.node, ref.vmid)).result) };
    } catch (err) {
      // qemu-server refuses with a 500 whose reason says why: an answer, not a failure.
      const why = err instanceof UpstreamError && err.status === 500 ? agentUnavailable(ref.vmid, err.message) : undefined;
      if (why) return { ...base, ...why };
      throw err;
    }
  }

  async guestTasks(ref: GuestRef, f: GuestTaskFilter): Promise<{ tasks: ProxmoxTask[]; total: number }> {
    const page = await this.client.taskPage(ref.node, {
      vmid: ref.vmid,
      limit: f.limit,
      since: f.since || undefined,
      errors: f.errorsOnly || undefined,
      typefilter: f.typefilter || undefined,
      source: 'all',
    });
    return { tasks: page.rows.map((r) => taskOf(r as Parameters<typeof taskOf>[0])), total: page.total };
  }

  async taskLog(upid: string, start: number, limit: number): Promise<TaskLog> {
    const [log, status] = await Promise.all([this.client.taskLog(upid, limit, start), this.client.taskStatus(upid)]);
    const running = status.status === 'running';
    return {
      upid,
      lines: log.lines.map((l) => ({ n: Math.trunc(l.n), text: l.t })),
      total: log.total,
      running,
      exitstatus: running ? '' : (status.exitstatus ?? ''),
    };
  }

  async guestSnapshots(ref: GuestRef): Promise<GuestSnapshots> {
    return snapshotsOf(ref.vmid, await this.client.snapshots(ref.node, ref.type, ref.vmid));
  }

  async haStatus(vmid: number): Promise<HaStatus> {
    return haStatusOf(await this.client.haStatus(), vmid);
  }

  async followTask(upid: string, o: { deadlineMs: number; signal: AbortSignal }): Promise<TaskOutcome> {
    // Read at once, again soon, then at a short fixed interval while the task is young (most
    // power tasks end within a second or two, and the command ends when the task does), then
    // backing off for long tasks (a backup, a migration). Every read after the first is under
    // the node's budget (see TaskReadBudget).
    const node = parseUpid(upid)?.node ?? '';
    const started = Date.now();
    let delay = 0;
    let reads = 0;
    let lastError: unknown;
    while (!o.signal.aborted) {
      reads++;
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
      delay = taskFollowDelay(reads, Date.now() - started, delay);
      const wait = delay + this.#taskReads.reserve(node, performance.now() + delay);
      if (Date.now() + wait > o.deadlineMs) {
        return lastError
          ? { result: 'lost', exitstatus: (lastError as Error).message }
          : { result: 'deadline', exitstatus: 'task still running at the deadline' };
      }
      await sleep(wait, o.signal);
    }
    return { result: 'lost', exitstatus: 'stopped following (shutdown)' };
  }

  async findTask(ref: GuestRef, action: PowerActionName, sinceMs: number): Promise<string | undefined> {
    return this.#findTask(ref, WORKER_TYPES[ref.type][action] ?? [], sinceMs);
  }

  async #findTask(ref: GuestRef, types: readonly string[], sinceMs: number): Promise<string | undefined> {
    const since = Math.floor(sinceMs / 1000) - 5;
    const rows = await this.client.tasks(ref.node, { vmid: ref.vmid, since, limit: 50, source: 'all' });
    const candidates = rows.filter((r) => types.includes(r.type) && r.starttime >= since).sort((a, b) => a.starttime - b.starttime);
    // Ours first: the list names a token's tasks as user + tokenid.
    const mine = candidates.find((r) => taskOf(r as Parameters<typeof taskOf>[0]).user === this.client.tokenId);
    return (mine ?? candidates[0])?.upid;
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
  // Built field by field (no spread of a shared helper's object): thousands a poll when a
  // broadcast changes every running guest's figures.
  return {
    cluster,
    vmid: Number(r.vmid ?? Number(r.id.split('/')[1])),
    name: r.name ?? '',
    node: r.node ?? '',
    type,
    status: qmp ? 'running' : raw,
    qmpstatus: type === 'qemu' ? (qmp ?? raw) : undefined,
    cpu: r.cpu ?? 0,
    mem: r.mem ?? 0,
    maxmem: r.maxmem ?? 0,
    disk: r.disk ?? 0,
    maxdisk: r.maxdisk ?? 0,
    uptime: r.uptime ?? 0,
    tags: splitTags(r.tags),
    lock: r.lock || undefined,
    template: r.template ?? false,
    netin: r.netin ?? 0,
    netout: r.netout ?? 0,
    diskread: r.diskread ?? 0,
    diskwrite: r.diskwrite ?? 0,
    imprecise: [],
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

/** The figures of a guest's status/current, with Proxmox's omitted keys as zeros. */
function figures(g: GuestCurrent) {
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
