import type { Rng } from './rng.js';

/**
 * The simulated cluster's state: nodes, guests and storage, what pmxcfs, qemu-server and
 * pve-container would know on a real cluster. HTTP shapes live in views.ts and rrd.ts; this
 * module holds facts and announces every change.
 */
export type GuestType = 'qemu' | 'lxc';
/** `paused` is a running VM whose QMP status is paused (qemu only). */
export type GuestPowerState = 'running' | 'stopped' | 'paused';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

export interface GuestSpec {
  vmid: number;
  type: GuestType;
  node: string;
  /** `name` (qemu) or `hostname` (lxc); PVE falls back to `VM <vmid>` / `CT<vmid>`. */
  name?: string;
  status?: GuestPowerState;
  /** vCPUs (qemu sockets × cores, lxc cores). */
  cpus?: number;
  /** Memory in MiB, as in the guest config. */
  memory?: number;
  /** Boot disk / rootfs size in GiB. */
  diskSize?: number;
  /** Swap in MiB (lxc). */
  swap?: number;
  tags?: readonly string[];
  template?: boolean;
  /** A config lock such as `backup`, `snapshot`, `migrate`, `suspended`. */
  lock?: string;
  /** Managed by the HA stack: power requests become `hastart`/`hastop` tasks. */
  ha?: boolean;
  /**
   * QEMU guest agent in the config: `true` (`agent: 1`), `false` (`agent: 0`, configured but
   * disabled) or absent (no `agent` key: "No QEMU guest agent configured").
   */
  agent?: boolean;
  /** The agent answers inside the guest (default: whenever it is enabled). */
  agentRunning?: boolean;
  /** Primary IPv4 address, as the guest agent or the container's `ip a` reports it. */
  ip?: string;
  /** Extra or overriding keys of the guest's config file (`/config`). */
  config?: Readonly<Record<string, string | number>>;
  /** Snapshots the guest already has, oldest first (each the parent of the next). */
  snapshots?: readonly SnapshotSpec[];
  pool?: string;
  /** The guest OS ignores ACPI shutdown requests (a shutdown times out unless forceStop). */
  ignoresShutdown?: boolean;
  /** Seconds the guest has been up, if running. */
  uptime?: number;
  /** Typical CPU use (0..1 of its vCPUs) and memory use (0..1 of its memory) while running. */
  load?: { cpu?: number; mem?: number };
}

export interface SnapshotSpec {
  name: string;
  description?: string;
  /** RAM included (qemu only). */
  vmstate?: boolean;
  /** Hours ago. */
  ageHours: number;
}

/** A snapshot as the guest's config holds it (`[snapname]` sections). */
export interface Snapshot {
  name: string;
  description: string;
  /** Unix seconds. */
  snaptime: number;
  /** The state volume, when RAM was saved (qemu). */
  vmstate: string | undefined;
  parent: string | undefined;
  /** `prepare` while being taken, `delete` while being removed. */
  snapstate: 'prepare' | 'delete' | undefined;
  /** The config as it was (dynamic keys included). */
  config: Record<string, string | number>;
}

/** How a guest was, from a moment on (its power history, for rrddata's gaps). */
export interface PowerEntry {
  at: number;
  state: 'running' | 'paused' | 'stopped';
}

export interface NodeSpec {
  name: string;
  ip?: string;
  sockets?: number;
  /** Physical cores per socket. */
  cores?: number;
  /** Hardware threads (what PVE calls cpus / maxcpu). */
  threads?: number;
  memoryGiB?: number;
  rootfsGiB?: number;
  cpuModel?: string;
  /** Seconds since boot. */
  uptime?: number;
}

export interface StorageSpec {
  storage: string;
  /** Plugin type: dir, lvmthin, nfs, zfspool, pbs, cifs, … */
  type: string;
  content: readonly string[];
  shared?: boolean;
  sizeGiB: number;
  usedFraction?: number;
  /** Further storage.cfg keys shown by GET /storage (path, thinpool, server, export, …). */
  config?: Readonly<Record<string, string | number>>;
}

export interface ClusterSpec {
  /** Undefined for a standalone node (no `type:"cluster"` entry in /cluster/status). */
  clusterName: string | undefined;
  nodes: readonly NodeSpec[];
  guests: readonly GuestSpec[];
  storages: readonly StorageSpec[];
}

export interface NodeState {
  readonly name: string;
  readonly nodeid: number;
  readonly ip: string;
  online: boolean;
  /** When it went offline (ms); its RRD has no figures from then on. */
  offlineSince: number | undefined;
  /** How requests proxied to this node fail while it is offline. */
  unreachable: { reason: string; delayMs: number };
  readonly sockets: number;
  readonly cores: number;
  readonly maxcpu: number;
  readonly cpuModel: string;
  readonly maxmem: number;
  readonly rootfsTotal: number;
  rootfsUsed: number;
  readonly swapTotal: number;
  readonly bootedAt: number;
  readonly baseCpu: number;
  readonly baseMem: number;
  lastPid: number;
}

export interface Guest {
  readonly vmid: number;
  readonly type: GuestType;
  node: string;
  name: string;
  cpus: number;
  maxmem: number;
  maxdisk: number;
  maxswap: number;
  tags: string[];
  template: boolean;
  lock: string | undefined;
  /** HA resource with its requested state; undefined when not HA-managed. */
  ha: { state: 'started' | 'stopped' | 'error' } | undefined;
  /** `agent` config key: true (1), false (0), undefined (absent). */
  agent: boolean | undefined;
  agentRunning: boolean;
  readonly mac: string;
  readonly ipv4: string;
  /** Static config keys; the live ones (name, cores, memory, lock, tags, …) are derived. */
  readonly config: Record<string, string | number>;
  readonly snapshots: Map<string, Snapshot>;
  /** The snapshot the current state descends from. */
  parent: string | undefined;
  /** When the guest was created (ms); its RRD history starts here. */
  readonly createdAt: number;
  /** Power transitions, oldest first (bounded). */
  readonly powerLog: PowerEntry[];
  pool: string | undefined;
  ignoresShutdown: boolean;
  running: boolean;
  /** QMP status `paused` (qemu only; implies running). */
  paused: boolean;
  /** A CRIU checkpoint from `lxc suspend` exists (lxc only). */
  checkpointed: boolean;
  pid: number | undefined;
  startedAt: number | undefined;
  cpu: number;
  mem: number;
  readonly cpuBase: number;
  readonly memBase: number;
  netin: number;
  netout: number;
  diskread: number;
  diskwrite: number;
  /** Bytes used inside the container's rootfs (lxc reports it while running). */
  readonly diskUsed: number;
}

/** A read-only snapshot of a guest for tests and the control API. */
export interface GuestView {
  vmid: number;
  type: GuestType;
  node: string;
  name: string;
  status: 'running' | 'stopped';
  /** qemu only: QMP status (`running`, `paused`) or `stopped`. */
  qmpstatus?: 'running' | 'paused' | 'stopped';
  lock?: string;
  tags: string[];
  template: boolean;
  /** HA requested state, when HA-managed. */
  hastate?: 'started' | 'stopped' | 'error';
  pool?: string;
  cpus: number;
  maxmem: number;
  maxdisk: number;
  cpu: number;
  mem: number;
  /** Seconds. */
  uptime: number;
  pid?: number;
  netin: number;
  netout: number;
  diskread: number;
  diskwrite: number;
}

export type GuestChange = 'status' | 'load' | 'lock' | 'ha' | 'added' | 'removed';

/** Emitted synchronously whenever the simulated cluster changes; `at` is Date.now(). */
export type PveSimEvent =
  | {
      kind: 'guest';
      change: GuestChange;
      at: number;
      vmid: number;
      type: GuestType;
      node: string;
      status: 'running' | 'stopped';
      qmpstatus?: 'running' | 'paused' | 'stopped';
      lock?: string;
      cpu: number;
      mem: number;
    }
  | { kind: 'node'; change: 'online' | 'offline'; at: number; node: string }
  | {
      kind: 'task';
      change: 'started' | 'finished';
      at: number;
      upid: string;
      node: string;
      type: string;
      id: string;
      user: string;
      exitstatus?: string;
    };

export type PveSimListener = (event: PveSimEvent) => void;

/**
 * The vmids of guests that were added, removed or changed in any way since the last `take()`:
 * what lets rrd.ts rebroadcast only those. Counters (`addTraffic`) count as changes too.
 */
export interface GuestChangeLog {
  /** The vmids touched since the last call (each once), and a fresh log from here on. */
  take(): ReadonlySet<number>;
}

/** Seconds since `startedAt` at `now`; 0 for a guest that is not running (`startedAt` undefined). */
export function uptimeAt(startedAt: number | undefined, now: number): number {
  return startedAt !== undefined ? Math.max(0, Math.floor((now - startedAt) / 1000)) : 0;
}

const VMID_MIN = 100;
const VMID_MAX = 999_999_999;

export class ClusterModel {
  readonly clusterName: string | undefined;
  readonly #nodes = new Map<string, NodeState>();
  readonly #guests = new Map<number, Guest>();
  readonly #byNode = new Map<string, Set<Guest>>();
  #perlOrder: Guest[] | undefined;
  readonly storages: readonly StorageSpec[];
  readonly #listeners = new Set<PveSimListener>();
  /** Each change log's pending vmids (one set per `guestChanges()` caller). */
  readonly #changeLogs: { pending: Set<number> }[] = [];
  readonly #rng: Rng;
  /** Bumped on every change; caches key on it. */
  version = 0;
  #lastIp = 99;
  readonly #usedIps = new Set<string>();
  /** onChange listener failures, reported instead of breaking the simulation. */
  onListenerError: (err: unknown) => void = () => {};

  constructor(spec: ClusterSpec, rng: Rng, now = Date.now()) {
    if (spec.nodes.length === 0) throw new Error('a cluster needs at least one node');
    if (spec.clusterName === undefined && spec.nodes.length > 1) {
      throw new Error(`a standalone node cannot have ${spec.nodes.length} nodes; give the cluster a name`);
    }
    this.clusterName = spec.clusterName;
    this.#rng = rng;
    spec.nodes.forEach((n, i) => {
      if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(n.name)) throw new Error(`'${n.name}' is not a valid node name`);
      if (this.#nodes.has(n.name)) throw new Error(`node '${n.name}' is listed twice`);
      const sockets = n.sockets ?? 1;
      const cores = n.cores ?? 8;
      this.#nodes.set(n.name, {
        name: n.name,
        nodeid: spec.clusterName === undefined ? 0 : i + 1,
        ip: n.ip ?? `192.168.1.${11 + i}`,
        online: true,
        offlineSince: undefined,
        unreachable: { reason: 'No route to host', delayMs: 0 },
        sockets,
        cores,
        maxcpu: n.threads ?? sockets * cores * 2,
        cpuModel: n.cpuModel ?? 'AMD Ryzen 7 5700G with Radeon Graphics',
        maxmem: Math.round((n.memoryGiB ?? 64) * GiB),
        rootfsTotal: Math.round((n.rootfsGiB ?? 94) * GiB),
        rootfsUsed: Math.round((n.rootfsGiB ?? 94) * GiB * rng.between(0.08, 0.3)),
        swapTotal: 8 * GiB,
        bootedAt: now - (n.uptime ?? rng.int(3, 60) * 86_400 + rng.int(0, 86_399)) * 1000,
        baseCpu: rng.between(0.01, 0.04),
        baseMem: Math.round(rng.between(2.5, 4.5) * GiB),
        lastPid: rng.int(2_000, 900_000),
      });
      this.#byNode.set(n.name, new Set());
    });
    this.storages = spec.storages;
    for (const g of spec.guests) this.#insert(g, now);
  }

  get nodeNames(): string[] {
    return [...this.#nodes.keys()];
  }

  /** The node the API is served from (`local: 1` in /cluster/status). */
  get localNode(): string {
    return this.#nodes.keys().next().value!;
  }

  node(name: string): NodeState | undefined {
    return this.#nodes.get(name);
  }

  nodes(): IterableIterator<NodeState> {
    return this.#nodes.values();
  }

  guest(vmid: number): Guest | undefined {
    return this.#guests.get(vmid);
  }

  guests(): IterableIterator<Guest> {
    return this.#guests.values();
  }

  /** Guests sorted by vmid as strings, the order of Perl's `sort keys` in /cluster/resources. */
  guestsInPerlOrder(): readonly Guest[] {
    this.#perlOrder ??= [...this.#guests.values()].sort((a, b) => {
      const x = String(a.vmid);
      const y = String(b.vmid);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    return this.#perlOrder;
  }

  get guestCount(): number {
    return this.#guests.size;
  }

  guestsOn(node: string): ReadonlySet<Guest> {
    return this.#byNode.get(node) ?? new Set();
  }

  /** The guest as the node-local config would show it: same vmid, type and node. */
  guestOn(node: string, type: GuestType, vmid: number): Guest | undefined {
    const g = this.#guests.get(vmid);
    return g && g.node === node && g.type === type ? g : undefined;
  }

  quorate(): boolean {
    if (this.clusterName === undefined) return true;
    let online = 0;
    for (const n of this.#nodes.values()) if (n.online) online++;
    return online * 2 > this.#nodes.size;
  }

  /** A fresh process id on a node (guest processes and task workers share the pid space). */
  nextPid(node: NodeState): number {
    node.lastPid += this.#rng.int(1, 400);
    if (node.lastPid > 4_000_000) node.lastPid = this.#rng.int(2_000, 50_000);
    return node.lastPid;
  }

  uptimeOf(g: Guest, now = Date.now()): number {
    return uptimeAt(g.running ? g.startedAt : undefined, now);
  }

  /** A log of the guests changed from now on, for one reader (see GuestChangeLog). */
  guestChanges(): GuestChangeLog {
    const log = { pending: new Set<number>() };
    this.#changeLogs.push(log);
    return {
      take: () => {
        const taken = log.pending;
        log.pending = new Set();
        return taken;
      },
    };
  }

  view(g: Guest, now = Date.now()): GuestView {
    const v: GuestView = {
      vmid: g.vmid,
      type: g.type,
      node: g.node,
      name: g.name,
      status: g.running ? 'running' : 'stopped',
      tags: [...g.tags],
      template: g.template,
      cpus: g.cpus,
      maxmem: g.maxmem,
      maxdisk: g.maxdisk,
      cpu: g.cpu,
      mem: g.mem,
      uptime: this.uptimeOf(g, now),
      netin: g.netin,
      netout: g.netout,
      diskread: g.diskread,
      diskwrite: g.diskwrite,
    };
    if (g.type === 'qemu') v.qmpstatus = !g.running ? 'stopped' : g.paused ? 'paused' : 'running';
    if (g.lock) v.lock = g.lock;
    if (g.ha) v.hastate = g.ha.state;
    if (g.pool) v.pool = g.pool;
    if (g.pid !== undefined) v.pid = g.pid;
    return v;
  }

  addGuest(spec: GuestSpec): Guest {
    const g = this.#insert(spec, Date.now());
    this.#emitGuest(g, 'added');
    return g;
  }

  removeGuest(vmid: number): boolean {
    const g = this.#guests.get(vmid);
    if (!g) return false;
    this.#guests.delete(vmid);
    this.#usedIps.delete(g.ipv4);
    this.#byNode.get(g.node)?.delete(g);
    this.#perlOrder = undefined;
    this.#emitGuest(g, 'removed');
    return true;
  }

  setNodeOnline(name: string, online: boolean, unreachable?: Partial<NodeState['unreachable']>): void {
    const n = this.#requireNode(name);
    if (unreachable) n.unreachable = { ...n.unreachable, ...unreachable };
    if (n.online === online) return;
    n.online = online;
    n.offlineSince = online ? undefined : Date.now();
    this.#emit({ kind: 'node', change: online ? 'online' : 'offline', at: Date.now(), node: name });
  }

  // State transitions. Each announces itself; callers decide when they happen.

  powerOn(g: Guest, now = Date.now()): void {
    const node = this.#requireNode(g.node);
    g.running = true;
    g.paused = false;
    g.checkpointed = false;
    g.pid = this.nextPid(node);
    g.startedAt = now;
    g.cpu = g.cpuBase;
    g.mem = Math.round(g.maxmem * g.memBase);
    g.netin = g.netout = g.diskread = g.diskwrite = 0;
    logPower(g, 'running', now);
    this.#emitGuest(g, 'status');
  }

  powerOff(g: Guest): void {
    g.running = false;
    g.paused = false;
    g.pid = undefined;
    g.startedAt = undefined;
    g.cpu = 0;
    g.mem = 0;
    g.netin = g.netout = g.diskread = g.diskwrite = 0;
    logPower(g, 'stopped', Date.now());
    this.#emitGuest(g, 'status');
  }

  /** Reboot: a new process, uptime from zero, still running. */
  restart(g: Guest, now = Date.now()): void {
    this.powerOn(g, now);
  }

  setPaused(g: Guest, paused: boolean): void {
    if (g.type !== 'qemu') throw new Error(`only VMs can be paused; ${g.vmid} is a container`);
    if (!g.running) throw new Error(`VM ${g.vmid} is not running, so it cannot be ${paused ? 'paused' : 'resumed'}`);
    if (g.paused === paused) return;
    g.paused = paused;
    g.cpu = paused ? 0 : g.cpuBase;
    logPower(g, paused ? 'paused' : 'running', Date.now());
    this.#emitGuest(g, 'status');
  }

  setCheckpointed(g: Guest, checkpointed: boolean): void {
    g.checkpointed = checkpointed;
    this.#touch(g);
  }

  setLock(g: Guest, lock: string | undefined): void {
    if (g.lock === lock) return;
    g.lock = lock;
    this.#emitGuest(g, 'lock');
  }

  setAgentRunning(g: Guest, running: boolean): void {
    g.agentRunning = running;
    this.#touch(g);
    this.version++;
  }

  /** Snapshot bookkeeping changes the config (and its digest) but no figure a listener follows. */
  touchConfig(): void {
    this.version++;
  }

  setHaState(g: Guest, state: 'started' | 'stopped' | 'error'): void {
    if (!g.ha || g.ha.state === state) return;
    g.ha.state = state;
    this.#emitGuest(g, 'ha');
  }

  /** New load figures for a running guest (cpu 0..1, mem in bytes). */
  setLoad(g: Guest, cpu: number, mem: number): void {
    if (!g.running) return;
    const c = Math.min(1, Math.max(0, cpu));
    const m = Math.round(Math.min(g.maxmem, Math.max(0, mem)));
    if (c === g.cpu && m === g.mem) return;
    g.cpu = c;
    g.mem = m;
    this.#emitGuest(g, 'load');
  }

  /** Counters only grow; they change on every poll and are not announced. */
  addTraffic(g: Guest, d: { netin: number; netout: number; diskread: number; diskwrite: number }): void {
    g.netin += Math.round(d.netin);
    g.netout += Math.round(d.netout);
    g.diskread += Math.round(d.diskread);
    g.diskwrite += Math.round(d.diskwrite);
    this.#touch(g);
    this.version++;
  }

  /** Task lifecycle events are announced through the model so listeners see one stream. */
  announce(event: PveSimEvent): void {
    this.#emit(event);
  }

  onChange(listener: PveSimListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #requireNode(name: string): NodeState {
    const n = this.#nodes.get(name);
    if (!n) throw new Error(`no node '${name}' in this cluster (nodes: ${this.nodeNames.join(', ')})`);
    return n;
  }

  #insert(spec: GuestSpec, now: number): Guest {
    const { vmid } = spec;
    if (!Number.isInteger(vmid) || vmid < VMID_MIN || vmid > VMID_MAX) {
      throw new Error(`vmid ${vmid} is out of range (${VMID_MIN}..${VMID_MAX})`);
    }
    if (this.#guests.has(vmid)) throw new Error(`vmid ${vmid} is already used by ${this.#guests.get(vmid)!.name}`);
    const node = this.#requireNode(spec.node);
    const status = spec.status ?? 'stopped';
    if (status === 'paused' && spec.type !== 'qemu') throw new Error(`container ${vmid} cannot be paused (only VMs can)`);
    if (spec.template && status !== 'stopped') throw new Error(`template ${vmid} cannot be ${status}`);
    const rng = this.#rng;
    const memBase = spec.load?.mem ?? (spec.type === 'lxc' ? rng.between(0.1, 0.5) : rng.between(0.3, 0.85));
    const maxdisk = Math.round((spec.diskSize ?? (spec.type === 'lxc' ? 8 : 32)) * GiB);
    const g: Guest = {
      vmid,
      type: spec.type,
      node: node.name,
      name: spec.name ?? (spec.type === 'qemu' ? `VM ${vmid}` : `CT${vmid}`),
      cpus: spec.cpus ?? (spec.type === 'lxc' ? 1 : 2),
      maxmem: Math.round((spec.memory ?? (spec.type === 'lxc' ? 512 : 2048)) * MiB),
      maxdisk,
      maxswap: Math.round((spec.swap ?? (spec.type === 'lxc' ? 512 : 0)) * MiB),
      tags: [...(spec.tags ?? [])],
      template: spec.template ?? false,
      lock: spec.lock,
      ha: spec.ha ? { state: status === 'stopped' ? 'stopped' : 'started' } : undefined,
      agent: spec.agent,
      agentRunning: spec.agentRunning ?? spec.agent === true,
      mac: macFor(vmid),
      ipv4: this.#claimIp(spec.ip),
      config: { ...spec.config },
      snapshots: new Map(),
      parent: undefined,
      // From the vmid, not the shared rng, so seeded clusters keep their figures.
      createdAt: now - (20 + (mix(vmid, 1) % 680)) * 86_400_000 - (mix(vmid, 2) % 86_400_000),
      powerLog: [],
      pool: spec.pool,
      ignoresShutdown: spec.ignoresShutdown ?? false,
      running: false,
      paused: false,
      checkpointed: false,
      pid: undefined,
      startedAt: undefined,
      cpu: 0,
      mem: 0,
      cpuBase: spec.load?.cpu ?? rng.between(0.005, 0.25),
      memBase,
      netin: 0,
      netout: 0,
      diskread: 0,
      diskwrite: 0,
      diskUsed: Math.round(maxdisk * rng.between(0.15, 0.7)),
    };
    let uptime = 0;
    if (status !== 'stopped') {
      uptime = spec.uptime ?? rng.int(600, 40 * 86_400);
      g.running = true;
      g.paused = status === 'paused';
      g.pid = this.nextPid(node);
      g.startedAt = now - uptime * 1000;
      g.cpu = g.paused ? 0 : g.cpuBase;
      g.mem = Math.round(g.maxmem * memBase);
      // Counters as if the guest had been moving a little data all this time.
      g.netin = Math.round(uptime * rng.between(2_000, 200_000));
      g.netout = Math.round(uptime * rng.between(1_000, 80_000));
      g.diskread = Math.round(uptime * rng.between(1_000, 60_000));
      g.diskwrite = Math.round(uptime * rng.between(2_000, 120_000));
    }
    seedPowerLog(g, status, uptime, now, spec.template === true);
    seedSnapshots(g, spec.snapshots ?? [], now);
    this.#guests.set(vmid, g);
    this.#byNode.get(node.name)!.add(g);
    this.#perlOrder = undefined;
    this.version++;
    return g;
  }

  /**
   * The guest's own address, or the next free one: 192.168.1.100–249, then 10.x.y.z, in creation
   * order. Spec'd guests are inserted in order, so a later explicit address may still be taken.
   */
  #claimIp(wanted: string | undefined): string {
    let ip = wanted;
    while (ip === undefined || (wanted === undefined && this.#usedIps.has(ip))) {
      const n = ++this.#lastIp;
      const m = n - 250;
      ip = n < 250 ? `192.168.1.${n}` : `10.${20 + Math.floor(m / 65_024)}.${Math.floor(m / 254) % 256}.${(m % 254) + 1}`;
    }
    this.#usedIps.add(ip);
    return ip;
  }

  #touch(g: Guest): void {
    for (const log of this.#changeLogs) log.pending.add(g.vmid);
  }

  #emitGuest(g: Guest, change: GuestChange): void {
    this.#touch(g);
    const e: PveSimEvent = {
      kind: 'guest',
      change,
      at: Date.now(),
      vmid: g.vmid,
      type: g.type,
      node: g.node,
      status: g.running ? 'running' : 'stopped',
      cpu: g.cpu,
      mem: g.mem,
    };
    if (g.type === 'qemu') e.qmpstatus = !g.running ? 'stopped' : g.paused ? 'paused' : 'running';
    if (g.lock) e.lock = g.lock;
    this.#emit(e);
  }

  #emit(e: PveSimEvent): void {
    this.version++;
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}

/** A stable pseudo-random integer for a vmid (and a salt): history that must not move the rng. */
export function mix(vmid: number, salt: number): number {
  let h = (Math.imul(vmid, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Proxmox's own MAC prefix (BC:24:11, since PVE 8.1), then three bytes from the vmid. */
function macFor(vmid: number): string {
  const h = mix(vmid, 7);
  const b = [0xbc, 0x24, 0x11, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return b.map((x) => x.toString(16).toUpperCase().padStart(2, '0')).join(':');
}

const POWER_LOG_LIMIT = 500;

function logPower(g: Guest, state: PowerEntry['state'], at: number): void {
  const last = g.powerLog.at(-1);
  if (last?.state === state) return;
  g.powerLog.push({ at, state });
  if (g.powerLog.length > POWER_LOG_LIMIT) g.powerLog.splice(0, g.powerLog.length - POWER_LOG_LIMIT);
}

/**
 * A plausible past for the RRD graphs: running guests were last (re)started `uptime` ago after a
 * few minutes down; a paused VM was paused some hours ago; a stopped guest ran until a while ago;
 * a template never ran.
 */
function seedPowerLog(g: Guest, status: GuestPowerState, uptime: number, now: number, template: boolean): void {
  const log = g.powerLog;
  if (template) {
    log.push({ at: g.createdAt, state: 'stopped' });
    return;
  }
  log.push({ at: g.createdAt, state: 'running' });
  if (status === 'stopped') {
    const stoppedFor = (6 + (mix(g.vmid, 3) % 114)) * 3_600_000;
    log.push({ at: Math.max(g.createdAt + 60_000, now - stoppedFor), state: 'stopped' });
    return;
  }
  const startedAt = now - uptime * 1000;
  const downFor = (2 + (mix(g.vmid, 4) % 9)) * 60_000;
  if (startedAt - downFor > g.createdAt) {
    log.push({ at: startedAt - downFor, state: 'stopped' });
    log.push({ at: startedAt, state: 'running' });
  }
  if (status === 'paused') {
    const pausedFor = Math.min(uptime * 1000 - 60_000, (1 + (mix(g.vmid, 5) % 30)) * 3_600_000);
    if (pausedFor > 0) log.push({ at: now - pausedFor, state: 'paused' });
    else log.at(-1)!.state = 'paused';
  }
}

function seedSnapshots(g: Guest, specs: readonly SnapshotSpec[], now: number): void {
  let parent: string | undefined;
  for (const s of specs) {
    g.snapshots.set(s.name, {
      name: s.name,
      description: s.description ?? '',
      snaptime: Math.floor(now / 1000 - s.ageHours * 3600),
      vmstate: s.vmstate && g.type === 'qemu' ? `local-lvm:vm-${g.vmid}-state-${s.name}` : undefined,
      parent,
      snapstate: undefined,
      config: {},
    });
    parent = s.name;
  }
  g.parent = parent;
}
