import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLogger, type Logger } from '@molten/kit';
import { Api, splitApiPath, type ApiResponse } from './api.js';
import { TokenStore, tokenHeader, type PveTokenSpec } from './auth.js';
import {
  ClusterModel,
  type ClusterSpec,
  type GuestPowerState,
  type GuestSpec,
  type GuestView,
  type PveSimListener,
} from './cluster-model.js';
import { PveError } from './errors.js';
import { describeRequest, Faults, requestMatches, type RequestMatch, type TaskMatch } from './faults.js';
import { LoadSimulator } from './load.js';
import { DEFAULT_TASK_DURATIONS, PowerActions, type TaskDurations } from './power.js';
import { DEMO_CLUSTER_NAME, DEMO_TOKEN, demoCluster, emptyCluster, generatedCluster, type Preset } from './presets.js';
import { createRng } from './rng.js';
import { ROUTES, type ApiContext } from './routes.js';
import { NodeMetrics } from './node-metrics.js';
import { Rrd } from './rrd.js';
import { SnapshotActions } from './snapshots.js';
import { seedTaskHistory } from './task-history.js';
import { Listener, reasonPhrase, writeResponse } from './server.js';
import { TaskRegistry, type TaskRecord } from './tasks.js';
import { loadTls } from './tls.js';
import { pveRelease, type PveRelease } from './version.js';

export interface PveSimulatorOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. `start()` after `stop()` reuses it. */
  port?: number;
  /** HTTPS with the fixtures in ./tls (default); `false` serves plain HTTP. */
  tls?: boolean;
  /**
   * The cluster to simulate: `demo` (default) is a three-node homelab; `generated` builds
   * `nodes` × `guestsPerNode` from `seed` (the default when either is given); `empty` has nodes
   * and storage but no guests.
   */
  preset?: Preset;
  /** Node count or names (generated/empty; default 3, or 1 when standalone). */
  nodes?: number | readonly string[];
  guestsPerNode?: number;
  /** Extra guests on top of the preset. */
  guests?: readonly GuestSpec[];
  /** Makes generated clusters, pids and load variation repeatable (default 1). */
  seed?: number;
  /** Cluster name (default `homelab`). */
  clusterName?: string;
  /** A single node without a cluster: no `type:"cluster"` entry in /cluster/status. */
  standalone?: boolean;
  /** Accepted API tokens (default: DEMO_TOKEN). */
  tokens?: readonly PveTokenSpec[];
  /** The pve-manager version to impersonate (default 9.0.10); see version.ts for what changes. */
  version?: string;
  /** Milliseconds per task kind; tests pass small values. */
  taskDurations?: Partial<TaskDurations>;
  /** How often running guests' load changes (default 2000 ms; 0 = frozen). */
  loadIntervalMs?: number;
  /** How often nodes broadcast the status /cluster/resources and /nodes serve (PVE: 10 000 ms; default 0 = always current). */
  statsIntervalMs?: number;
  /** How long an offline node's last broadcast is still served (PVE: 300 000 ms, the default). */
  statsExpireMs?: number;
  /** Send container vmids as strings, like pve-container before 8.2 (`true`: all containers; or a list of vmids). */
  legacyStringVmid?: boolean | readonly number[];
  /** `lock_config`'s timeout for tasks waiting on a busy guest (default 10 000 ms). */
  configLockTimeoutMs?: number;
  /** PVE delays 401 answers by 3 s; default 0 to keep tests fast. */
  authFailureDelayMs?: number;
  /** Delay every answer by this much from the start (see setLatency). */
  latencyMs?: number;
  /** How many requests `requests` keeps (default 10 000). */
  requestLogLimit?: number;
  /**
   * Seed each node's task list with recent history (nightly backups, the guests' last starts,
   * snapshots, a failed shutdown, another user's tasks). Default: true for the demo preset.
   */
  taskHistory?: boolean;
  logger?: Logger;
}

export interface RequestRecord {
  /** Date.now() when the request arrived. */
  at: number;
  method: string;
  /** Path below /api2/json (or the raw path when outside it). */
  path: string;
  query: string;
  /** HTTP status answered; 0 while pending or when the connection was dropped. */
  status: number;
  reason: string;
  /** The token, once authenticated. */
  userid?: string;
  node?: string;
  vmid?: number;
  action?: string;
}

/** A snapshot as the simulator sees it. */
export interface SnapshotView {
  name: string;
  description: string;
  snaptime: number;
  vmstate: boolean;
  parent?: string;
  snapstate?: 'prepare' | 'delete';
}

/** A task as the simulator sees it (a copy). */
export interface TaskView {
  upid: string;
  node: string;
  type: string;
  id: string;
  user: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
  starttime: number;
  endtime?: number;
  log: string[];
}

export interface PveSimulator {
  /** `https://127.0.0.1:PORT` (or http:// with `tls: false`). */
  readonly url: string;
  /** `url` + `/api2/json`. */
  readonly apiUrl: string;
  readonly port: number;
  /** The CA that signed the server certificate (undefined with `tls: false`). */
  readonly caFile: string | undefined;
  readonly ca: string | undefined;
  /** SHA-256 of the server certificate, `AA:BB:…` (also each node's `ssl_fingerprint`). */
  readonly fingerprint: string;
  readonly clusterName: string | undefined;
  readonly nodes: readonly string[];
  readonly tokens: readonly PveTokenSpec[];
  readonly release: PveRelease;
  /** Whether the API port is open (false between stop() and start()). */
  readonly running: boolean;
  /** `PVEAPIToken=…` for a configured token (default: the first). */
  authHeader(tokenId?: string): string;

  guest(vmid: number): GuestView | undefined;
  guests(filter?: { node?: string; type?: 'qemu' | 'lxc' }): GuestView[];
  task(upid: string): TaskView | undefined;
  tasks(filter?: { node?: string; vmid?: number; running?: boolean }): TaskView[];
  /** Requests received, oldest first (capped by requestLogLimit). */
  readonly requests: readonly RequestRecord[];
  countRequests(match?: RequestMatch): number;
  clearRequests(): void;
  /** Listens to every change: guest status/load/lock/HA, nodes going on/offline, tasks. */
  onChange(listener: PveSimListener): () => void;

  /** Changes a guest's power state out of band (as if someone used the GUI or the guest crashed). */
  setStatus(vmid: number, status: GuestPowerState): void;
  /** Sets or clears (undefined) a config lock such as `backup`. */
  lock(vmid: number, lock: string | undefined): void;
  /** Whether the QEMU guest agent answers inside a VM (its `agent` config key is unchanged). */
  setAgentRunning(vmid: number, running: boolean): void;
  /** A guest's snapshots, oldest first, and the one its current state descends from. */
  snapshots(vmid: number): { parent?: string; list: SnapshotView[] };
  /** Sets a running guest's load: cpu as 0..1, mem in bytes. */
  setLoad(vmid: number, load: { cpu?: number; mem?: number }): void;
  /** Takes a node off the network; requests proxied to it fail with 595 `reason` after `delayMs`. */
  setNodeOnline(node: string, online: boolean, opts?: { reason?: string; delayMs?: number }): void;
  addGuest(spec: GuestSpec): GuestView;
  removeGuest(vmid: number): boolean;
  addToken(token: PveTokenSpec): void;
  removeToken(id: string): boolean;
  setTaskDurations(durations: Partial<TaskDurations>): void;
  /** Every answer is delayed by `ms` (after the request took effect), or only answers matching `match`. */
  setLatency(ms: number, match?: RequestMatch): void;
  /** The next power task for this guest (and action) ends with `exitstatus` (`OK`, `WARNINGS: 2`, or an error text). */
  failNextTask(match: TaskMatch, exitstatus: string, opts?: { durationMs?: number }): void;
  /** The next matching request(s) get `status` with `reason` instead of being handled. */
  failNextRequest(match: RequestMatch, status: number, reason: string, opts?: { times?: number }): void;
  /**
   * The next matching request(s) get no answer: the connection is destroyed, before handling or,
   * with `afterProcessing`, after the request took effect (the "did my POST happen?" case).
   */
  dropNextRequest(match: RequestMatch, opts?: { afterProcessing?: boolean; times?: number }): void;
  /** Removes every scripted failure and the latency. */
  clearFaults(): void;

  /** Closes the API port and cuts every connection; the cluster keeps running (tasks finish). */
  stop(): Promise<void>;
  /** Opens the API port again, on the same port. */
  start(): Promise<void>;
  /** Stops everything for good. */
  close(): Promise<void>;
}

const DEFAULT_LOAD_INTERVAL_MS = 2_000;

function nonNegative(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new Error(`${name} must be a number >= 0, got ${v}`);
}

function presetFor(o: PveSimulatorOptions): Preset {
  return o.preset ?? (o.nodes !== undefined || o.guestsPerNode !== undefined ? 'generated' : 'demo');
}

function clusterSpecFor(o: PveSimulatorOptions): ClusterSpec {
  const preset = presetFor(o);
  const clusterName = o.standalone ? undefined : (o.clusterName ?? DEMO_CLUSTER_NAME);
  const nodes = o.nodes ?? (o.standalone ? 1 : 3);
  const seed = o.seed ?? 1;
  let spec: ClusterSpec;
  if (preset === 'demo') {
    if (o.standalone) throw new Error("the demo preset is a 3-node cluster; use preset 'generated' or 'empty' with standalone");
    spec = { ...demoCluster(), clusterName };
  } else if (preset === 'generated') {
    spec = generatedCluster({ nodes, guestsPerNode: o.guestsPerNode ?? 10, seed, clusterName });
  } else if (preset === 'empty') {
    spec = emptyCluster({ nodes, seed, clusterName });
  } else {
    throw new Error(`unknown preset '${String(preset)}' (demo, generated or empty)`);
  }
  return o.guests ? { ...spec, guests: [...spec.guests, ...o.guests] } : spec;
}

class Simulator implements PveSimulator {
  readonly release: PveRelease;
  readonly #model: ClusterModel;
  readonly #tokens: TokenStore;
  readonly #tasks: TaskRegistry;
  readonly #power: PowerActions;
  readonly #snapshots: SnapshotActions;
  readonly #rrd: Rrd;
  readonly #load: LoadSimulator;
  readonly #faults = new Faults();
  readonly #api: Api;
  readonly #listener: Listener;
  readonly #log: Logger;
  readonly #tls: ReturnType<typeof loadTls>;
  readonly #useTls: boolean;
  readonly #requests: RequestRecord[] = [];
  readonly #requestLogLimit: number;
  #durations: TaskDurations;
  #authFailureDelayMs: number;
  #closed = false;
  /** Answers waiting out a delay; stop() releases them so no timer outlives the port. */
  readonly #delayed = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  constructor(o: PveSimulatorOptions) {
    for (const k of ['port', 'latencyMs', 'loadIntervalMs', 'statsIntervalMs', 'statsExpireMs', 'configLockTimeoutMs', 'authFailureDelayMs', 'requestLogLimit'] as const) {
      nonNegative(k, o[k]);
    }
    for (const [k, v] of Object.entries(o.taskDurations ?? {})) nonNegative(`taskDurations.${k}`, v);
    this.#log = o.logger ?? createLogger('pve-simulator', { level: process.env.LOG_LEVEL ?? 'warn' });
    this.release = pveRelease(o.version);
    const seed = o.seed ?? 1;
    this.#model = new ClusterModel(clusterSpecFor(o), createRng(seed));
    this.#model.onListenerError = (err) => this.#log.warn({ err }, 'an onChange listener threw');
    this.#tokens = new TokenStore(o.tokens ?? [DEMO_TOKEN]);
    this.#durations = { ...DEFAULT_TASK_DURATIONS, ...o.taskDurations };
    this.#authFailureDelayMs = o.authFailureDelayMs ?? 0;
    this.#requestLogLimit = o.requestLogLimit ?? 10_000;
    this.#tasks = new TaskRegistry(this.#model, {
      lockTimeoutMs: o.configLockTimeoutMs ?? 10_000,
      failFastMs: 50,
      historyPerNode: 1_000,
    });
    this.#power = new PowerActions({
      model: this.#model,
      tasks: this.#tasks,
      durations: () => this.#durations,
      takeScripted: (vmid, action) => this.#faults.takeTaskOutcome(vmid, action),
    });
    this.#snapshots = new SnapshotActions({
      model: this.#model,
      tasks: this.#tasks,
      release: this.release,
      durations: () => this.#durations,
      takeScripted: (vmid, action) => this.#faults.takeTaskOutcome(vmid, action),
    });
    if (o.taskHistory ?? presetFor(o) === 'demo') seedTaskHistory(this.#model, this.#tasks);
    const metrics = new NodeMetrics(this.#model);
    this.#rrd = new Rrd(this.#model, metrics, { intervalMs: o.statsIntervalMs ?? 0, expireMs: o.statsExpireMs ?? 300_000 });
    this.#load = new LoadSimulator(this.#model, createRng(seed ^ 0x5eed), o.loadIntervalMs ?? DEFAULT_LOAD_INTERVAL_MS);
    this.#tls = loadTls();
    this.#useTls = o.tls ?? true;
    const legacy = o.legacyStringVmid;
    const legacySet = Array.isArray(legacy) ? new Set(legacy) : undefined;
    const ctx: ApiContext = {
      model: this.#model,
      rrd: this.#rrd,
      metrics,
      release: this.release,
      fingerprint: this.#tls.fingerprint,
      stringVmid: (vmid) => legacy === true || (legacySet?.has(vmid) ?? false),
      tasks: this.#tasks,
      power: this.#power,
      snapshots: this.#snapshots,
    };
    if (o.latencyMs) this.#faults.setLatency(o.latencyMs);
    this.#api = new Api({ ctx, tokens: this.#tokens, routes: ROUTES, authFailureDelayMs: () => this.#authFailureDelayMs });
    this.#listener = new Listener(
      {
        host: '127.0.0.1',
        port: o.port ?? 0,
        tls: this.#useTls ? { key: this.#tls.key, cert: this.#tls.cert } : undefined,
        maxBodyBytes: 64 * 1024,
      },
      (req, res, body) => this.#handle(req, res, body),
      (err) => this.#log.error({ err }, 'request failed inside the simulator'),
    );
  }

  get url(): string {
    return `${this.#useTls ? 'https' : 'http'}://127.0.0.1:${this.#listener.port}`;
  }
  get apiUrl(): string {
    return `${this.url}/api2/json`;
  }
  get port(): number {
    return this.#listener.port;
  }
  get caFile(): string | undefined {
    return this.#useTls ? this.#tls.caFile : undefined;
  }
  get ca(): string | undefined {
    return this.#useTls ? this.#tls.ca : undefined;
  }
  get fingerprint(): string {
    return this.#tls.fingerprint;
  }
  get clusterName(): string | undefined {
    return this.#model.clusterName;
  }
  get nodes(): readonly string[] {
    return this.#model.nodeNames;
  }
  get tokens(): readonly PveTokenSpec[] {
    return this.#tokens.specs;
  }
  get running(): boolean {
    return this.#listener.listening;
  }
  get requests(): readonly RequestRecord[] {
    return this.#requests;
  }

  authHeader(tokenId?: string): string {
    const t = tokenId ? this.tokens.find((x) => x.id === tokenId) : this.tokens[0];
    if (!t) throw new Error(`no token '${tokenId}' configured (have: ${this.tokens.map((x) => x.id).join(', ') || 'none'})`);
    return tokenHeader(t);
  }

  guest(vmid: number): GuestView | undefined {
    const g = this.#model.guest(vmid);
    return g && this.#model.view(g);
  }

  guests(filter: { node?: string; type?: 'qemu' | 'lxc' } = {}): GuestView[] {
    return [...this.#model.guests()]
      .filter((g) => (!filter.node || g.node === filter.node) && (!filter.type || g.type === filter.type))
      .map((g) => this.#model.view(g));
  }

  task(upid: string): TaskView | undefined {
    const t = this.#tasks.get(upid);
    return t && taskView(t);
  }

  tasks(filter: { node?: string; vmid?: number; running?: boolean } = {}): TaskView[] {
    return [...this.#tasks.all()]
      .filter(
        (t) =>
          (!filter.node || t.node === filter.node) &&
          (filter.vmid === undefined || t.id === String(filter.vmid)) &&
          (filter.running === undefined || (t.status === 'running') === filter.running),
      )
      .map(taskView);
  }

  countRequests(match?: RequestMatch): number {
    let n = 0;
    for (const r of this.#requests) if (requestMatches(match, r)) n++;
    return n;
  }

  clearRequests(): void {
    this.#requests.length = 0;
  }

  onChange(listener: PveSimListener): () => void {
    return this.#model.onChange(listener);
  }

  setStatus(vmid: number, status: GuestPowerState): void {
    const g = this.#requireGuest(vmid);
    if (status === 'paused' && g.type !== 'qemu') throw new Error(`container ${vmid} cannot be paused (only VMs can)`);
    if (status === 'stopped') {
      if (g.running) this.#model.powerOff(g);
      return;
    }
    if (g.template) throw new Error(`${vmid} is a template and cannot run`);
    if (!g.running) this.#model.powerOn(g);
    if (g.type === 'qemu') this.#model.setPaused(g, status === 'paused');
  }

  lock(vmid: number, lock: string | undefined): void {
    this.#model.setLock(this.#requireGuest(vmid), lock);
  }

  setAgentRunning(vmid: number, running: boolean): void {
    const g = this.#requireGuest(vmid);
    if (g.type !== 'qemu') throw new Error(`guest ${vmid} is a container; only VMs have a QEMU guest agent`);
    this.#model.setAgentRunning(g, running);
  }

  snapshots(vmid: number): { parent?: string; list: SnapshotView[] } {
    const g = this.#requireGuest(vmid);
    const list = [...g.snapshots.values()]
      .sort((a, b) => a.snaptime - b.snaptime)
      .map((x) => {
        const v: SnapshotView = { name: x.name, description: x.description, snaptime: x.snaptime, vmstate: x.vmstate !== undefined };
        if (x.parent) v.parent = x.parent;
        if (x.snapstate) v.snapstate = x.snapstate;
        return v;
      });
    return g.parent ? { parent: g.parent, list } : { list };
  }

  setLoad(vmid: number, load: { cpu?: number; mem?: number }): void {
    const g = this.#requireGuest(vmid);
    if (!g.running) throw new Error(`guest ${vmid} is not running; only running guests have a load`);
    this.#model.setLoad(g, load.cpu ?? g.cpu, load.mem ?? g.mem);
  }

  setNodeOnline(node: string, online: boolean, opts: { reason?: string; delayMs?: number } = {}): void {
    nonNegative('delayMs', opts.delayMs);
    const unreachable: { reason?: string; delayMs?: number } = {};
    if (opts.reason !== undefined) unreachable.reason = opts.reason;
    if (opts.delayMs !== undefined) unreachable.delayMs = opts.delayMs;
    this.#model.setNodeOnline(node, online, unreachable);
  }

  addGuest(spec: GuestSpec): GuestView {
    return this.#model.view(this.#model.addGuest(spec));
  }

  removeGuest(vmid: number): boolean {
    return this.#model.removeGuest(vmid);
  }

  addToken(token: PveTokenSpec): void {
    this.#tokens.add(token);
    this.#api.invalidate();
  }

  removeToken(id: string): boolean {
    this.#api.invalidate();
    return this.#tokens.remove(id);
  }

  setTaskDurations(durations: Partial<TaskDurations>): void {
    for (const [k, v] of Object.entries(durations)) nonNegative(`taskDurations.${k}`, v);
    this.#durations = { ...this.#durations, ...durations };
  }

  setLatency(ms: number, match?: RequestMatch): void {
    this.#faults.setLatency(ms, match);
  }

  failNextTask(match: TaskMatch, exitstatus: string, opts: { durationMs?: number } = {}): void {
    if (!exitstatus || /[\r\n]/.test(exitstatus)) throw new Error('exitstatus must be one non-empty line (OK, WARNINGS: n, or an error text)');
    nonNegative('durationMs', opts.durationMs);
    this.#faults.addTaskOutcome(match, opts.durationMs === undefined ? { exitstatus } : { exitstatus, durationMs: opts.durationMs });
  }

  failNextRequest(match: RequestMatch, status: number, reason: string, opts: { times?: number } = {}): void {
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new Error(`status must be an HTTP status code, got ${status}`);
    this.#faults.addRequestFault(match, { kind: 'status', status, reason }, opts.times);
  }

  dropNextRequest(match: RequestMatch, opts: { afterProcessing?: boolean; times?: number } = {}): void {
    this.#faults.addRequestFault(match, { kind: 'drop', afterProcessing: opts.afterProcessing ?? false }, opts.times);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  async start(): Promise<void> {
    if (this.#closed) throw new Error('this simulator was closed; start a new one');
    await this.#listener.start();
    this.#rrd.start();
    this.#load.start();
  }

  async stop(): Promise<void> {
    await this.#listener.stop();
    for (const d of this.#delayed) {
      clearTimeout(d.timer);
      d.resolve();
    }
    this.#delayed.clear();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#load.stop();
    this.#rrd.stop();
    this.#power.close();
    this.#tasks.close();
    await this.stop();
  }

  #requireGuest(vmid: number) {
    const g = this.#model.guest(vmid);
    if (!g) throw new Error(`no guest ${vmid} in the simulated cluster`);
    return g;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#delayed.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.#delayed.add(entry);
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const rawPath = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '' : target.slice(q + 1);
    const info = describeRequest(method, splitApiPath(rawPath)?.rel ?? rawPath);
    const record: RequestRecord = { at: Date.now(), ...info, query, status: 0, reason: '' };
    this.#requests.push(record);
    if (this.#requests.length > this.#requestLogLimit) this.#requests.splice(0, this.#requests.length - this.#requestLogLimit);

    const fault = this.#faults.takeRequestFault(info);
    if (fault?.kind === 'drop' && !fault.afterProcessing) {
      record.reason = 'connection dropped before processing';
      req.socket.destroy();
      return;
    }
    let response: ApiResponse;
    if (fault?.kind === 'status') {
      // 401s and the proxy pseudo-statuses (595–599) never pass the JSON formatter: no body.
      const bare = fault.status === 401 || (fault.status >= 595 && fault.status <= 599);
      response = this.#api.errorResponse(new PveError(fault.status, fault.reason, undefined, bare ? 'empty' : 'json'));
    } else {
      response = this.#api.handle({ method, rawPath, query, headers: req.headers, body });
    }
    if (response.userid) record.userid = response.userid;
    if (fault?.kind === 'drop') {
      record.reason = 'connection dropped after processing';
      req.socket.destroy();
      return;
    }
    if (response.bodyReady) response = { ...response, body: await response.bodyReady };
    const delay = response.delayMs + this.#faults.latencyFor(info);
    if (delay > 0) await this.#sleep(delay);
    record.status = response.status;
    record.reason = reasonPhrase(response.message);
    writeResponse(res, response, req.headers['accept-encoding']);
  }
}

function taskView(t: TaskRecord): TaskView {
  const v: TaskView = {
    upid: t.upid,
    node: t.node,
    type: t.type,
    id: t.id,
    user: t.user,
    status: t.status,
    starttime: t.starttime,
    log: [...t.log],
  };
  if (t.exitstatus !== undefined) v.exitstatus = t.exitstatus;
  if (t.endtime !== undefined) v.endtime = t.endtime;
  return v;
}

/** Starts a simulated Proxmox VE API on 127.0.0.1 and resolves once it listens. */
export async function startPveSimulator(options: PveSimulatorOptions = {}): Promise<PveSimulator> {
  const sim = new Simulator(options);
  await sim.start();
  return sim;
}
