import type { Identity } from './auth.js';
import type { ClusterModel, Guest, GuestType } from './cluster-model.js';
import { paramError, serverError } from './errors.js';
import type { Params } from './params.js';
import type { TaskRecord, TaskRegistry, WorkerOutcome, WorkerSpec } from './tasks.js';

/**
 * Guest power actions with the semantics of qemu-server `API2/Qemu.pm` + `QemuServer.pm` and
 * pve-container `API2/LXC/Status.pm` + `LXC.pm`: which checks answer synchronously (HTTP 500, no
 * task), which only fail inside the worker task, the worker types (`qmstart`, `vzshutdown`,
 * `hastart`, …), their log lines and the state they leave behind.
 */
export type PowerAction = 'start' | 'stop' | 'shutdown' | 'reboot' | 'reset' | 'suspend' | 'resume';
export const QEMU_ACTIONS: readonly PowerAction[] = ['start', 'stop', 'shutdown', 'reboot', 'reset', 'suspend', 'resume'];
export const LXC_ACTIONS: readonly PowerAction[] = ['start', 'stop', 'shutdown', 'reboot', 'suspend', 'resume'];

/** Milliseconds each kind of task takes. */
export interface TaskDurations {
  start: number;
  stop: number;
  shutdown: number;
  reboot: number;
  reset: number;
  suspend: number;
  resume: number;
  /** An `hastart`/`hastop` task, which only hands the request to the HA manager. */
  ha: number;
  /** From an HA request to the HA stack's own start/stop task on the node. */
  haManager: number;
  /** qmsnapshot / vzsnapshot. */
  snapshot: number;
  /** qmrollback / vzrollback. */
  rollback: number;
  /** qmdelsnapshot / vzdelsnapshot. */
  delsnapshot: number;
}

/** Close to a small real cluster, so the demo feels right. */
export const DEFAULT_TASK_DURATIONS: TaskDurations = {
  start: 1500,
  stop: 500,
  shutdown: 3000,
  reboot: 3000,
  reset: 300,
  suspend: 800,
  resume: 500,
  ha: 300,
  haManager: 1500,
  snapshot: 2000,
  rollback: 2500,
  delsnapshot: 1500,
};

/** A scripted outcome for the next matching task (failure injection). */
export interface ScriptedOutcome {
  /** `OK`, `WARNINGS: n`, or an error text. */
  exitstatus: string;
  durationMs?: number;
}

export interface PowerDeps {
  model: ClusterModel;
  tasks: TaskRegistry;
  durations: () => TaskDurations;
  /** Consumes a scripted outcome for this guest and action, if one is queued. */
  takeScripted: (vmid: number, action: PowerAction) => ScriptedOutcome | undefined;
}

export interface PowerRequest {
  node: string;
  type: GuestType;
  vmid: number;
  action: PowerAction;
  params: Params;
  identity: Identity;
}

const label = (type: GuestType) => (type === 'qemu' ? 'VM' : 'CT');
const configPath = (type: GuestType, node: string, vmid: number) =>
  `nodes/${node}/${type === 'qemu' ? 'qemu-server' : 'lxc'}/${vmid}.conf`;
const lockFile = (type: GuestType, vmid: number) =>
  type === 'qemu' ? `/var/lock/qemu-server/lock-${vmid}.conf` : `/run/lock/lxc/pve-config-${vmid}.lock`;

class WorkerError extends Error {}
const die = (message: string): never => {
  throw new WorkerError(message);
};

export class PowerActions {
  readonly #haTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly deps: PowerDeps) {}

  /** Runs a POST …/status/{action}; returns the UPID or throws a PveError (sync failure). */
  request(req: PowerRequest): string {
    return req.type === 'qemu' ? this.#qemu(req) : this.#lxc(req);
  }

  close(): void {
    for (const t of this.#haTimers) clearTimeout(t);
    this.#haTimers.clear();
  }

  // ---- qemu-server ----

  #qemu(req: PowerRequest): string {
    const { model } = this.deps;
    const { node, vmid, params } = req;
    const g = model.guestOn(node, 'qemu', vmid);
    const d = this.deps.durations();
    const skiplock = params.skiplock === true;

    switch (req.action) {
      case 'start': {
        rootOnly(req, ['stateuri', 'skiplock', 'migratedfrom', 'migration_type', 'migration_network', 'targetstorage', 'force-cpu', 'with-conntrack-state', 'nets-host-mtu']);
        if (!model.quorate()) throw serverError('cluster not ready - no quorum?');
        if (g?.ha && !params.stateuri) return this.#haRequest(req, g, 'started');
        return this.#spawn(req, 'qmstart', true, () => this.#qemuStart(req, skiplock, false));
      }
      case 'stop': {
        rootOnly(req, ['skiplock', 'keepActive', 'migratedfrom']);
        const overrule = params['overrule-shutdown'] === true;
        if (g?.ha) {
          if (overrule) throw paramError({ 'overrule-shutdown': 'Not applicable for HA resources.' });
          return this.#haRequest(req, g, 'stopped', 0);
        }
        return this.#spawn(req, 'qmstop', true, () => this.#qemuStop(req, skiplock, { shutdown: false }), overrule ? 'qmshutdown' : undefined);
      }
      case 'reset': {
        rootOnly(req, ['skiplock']);
        this.#qemuCheckRunning(req, g);
        return this.#spawn(req, 'qmreset', true, () => {
          const cur = this.#qemuConfig(req);
          if (cur.lock && !skiplock) die(`VM is locked (${cur.lock})`);
          return { durationMs: d.reset };
        });
      }
      case 'shutdown': {
        rootOnly(req, ['skiplock', 'keepActive']);
        let shutdown = true;
        // qemu-server checks the QMP status before anything else: a paused guest never sees ACPI.
        if (g?.running && g.paused) {
          if (params.forceStop === true) shutdown = false;
          else throw serverError('VM is paused - cannot shutdown');
        }
        if (g?.ha) return this.#haRequest(req, g, 'stopped', typeof params.timeout === 'number' ? params.timeout : 60);
        return this.#spawn(req, 'qmshutdown', true, () =>
          this.#qemuStop(req, skiplock, { shutdown, forceStop: params.forceStop === true }),
        );
      }
      case 'reboot': {
        if (g?.running && g.paused) throw serverError('VM is paused - cannot shutdown');
        this.#qemuCheckRunning(req, g);
        return this.#spawn(req, 'qmreboot', true, () => {
          const cur = this.#qemuMissing(req);
          if (!cur.running) return { durationMs: 0 };
          if (cur.lock) die(`VM is locked (${cur.lock})`);
          if (cur.ignoresShutdown) return { durationMs: d.reboot, error: 'VM quit/powerdown failed - got timeout' };
          return { durationMs: d.reboot, apply: () => this.#ifPresent(cur, () => model.restart(cur)) };
        });
      }
      case 'suspend': {
        rootOnly(req, ['skiplock']);
        const running = this.#qemuCheckRunning(req, g);
        const todisk = params.todisk === true;
        if (todisk && running.ha) throw serverError('Cannot suspend HA managed VM to disk');
        if (todisk) {
          req.identity.check(`/vms/${vmid}`, ['VM.Config.Disk']);
          req.identity.check(`/storage/${typeof params.statestorage === 'string' ? params.statestorage : 'local-lvm'}`, ['Datastore.AllocateSpace']);
        }
        return this.#spawn(req, todisk ? 'qmsuspend' : 'qmpause', true, () => {
          const cur = this.#qemuConfig(req);
          const backingUp = cur.lock === 'backup';
          if (cur.lock && !skiplock && !backingUp) die(`VM is locked (${cur.lock})`);
          if (todisk && backingUp) die('cannot suspend to disk during backup');
          if (!cur.running) die(`VM ${vmid} not running`);
          if (todisk) {
            model.setLock(cur, 'suspending');
            return {
              durationMs: d.suspend,
              log: [`suspend VM ${vmid} to disk`],
              apply: () =>
                this.#ifPresent(cur, () => {
                  model.powerOff(cur);
                  model.setLock(cur, 'suspended');
                }),
            };
          }
          return { durationMs: d.suspend, apply: () => this.#ifPresent(cur, () => cur.running && model.setPaused(cur, true)) };
        });
      }
      case 'resume': {
        rootOnly(req, ['skiplock', 'nocheck']);
        const toDiskSuspended = g?.lock === 'suspended';
        if (!toDiskSuspended) this.#qemuCheckRunning(req, g);
        return this.#spawn(req, 'qmresume', true, () => {
          if (toDiskSuspended) return this.#qemuStart(req, skiplock, true);
          const cur = this.#qemuConfig(req);
          if (cur.template) die(`VM ${vmid} is a template and cannot be resumed!`);
          if (!cur.paused) return { durationMs: 0 }; // QMP says running: job done
          if (cur.lock && !skiplock && cur.lock !== 'backup') die(`VM is locked (${cur.lock})`);
          return { durationMs: d.resume, apply: () => this.#ifPresent(cur, () => cur.running && model.setPaused(cur, false)) };
        });
      }
      default:
        throw new Error(`unsupported qemu action ${req.action}`);
    }
  }

  /** `PVE::QemuServer::vm_start` inside its worker. */
  #qemuStart(req: PowerRequest, skiplock: boolean, resumeFromDisk: boolean): WorkerOutcome {
    const { model } = this.deps;
    const d = this.deps.durations();
    const cur = this.#qemuConfig(req);
    if (cur.template) die("you can't start a vm if it's a template");
    const suspendedLock = cur.lock === 'suspended';
    if (cur.lock === 'backup' && cur.running) {
      // A backup is running: PVE "starts" the guest by resuming the existing QEMU instance.
      return { durationMs: d.resume, apply: () => this.#ifPresent(cur, () => cur.paused && model.setPaused(cur, false)) };
    }
    if (cur.lock && !skiplock && !suspendedLock) die(`VM is locked (${cur.lock})`);
    if (cur.running) die(`VM ${req.vmid} already running`);
    return {
      durationMs: d.start,
      log: suspendedLock || resumeFromDisk ? [`resuming VM ${req.vmid} from suspended state`] : [],
      apply: () =>
        this.#ifPresent(cur, () => {
          if (cur.running) throw new Error(`VM ${req.vmid} already running`);
          if (suspendedLock) model.setLock(cur, undefined);
          model.powerOn(cur);
        }),
    };
  }

  /** `PVE::QemuServer::vm_stop` / `_do_vm_stop` inside a qmstop or qmshutdown worker. */
  #qemuStop(req: PowerRequest, skiplock: boolean, how: { shutdown: boolean; forceStop?: boolean }): WorkerOutcome {
    const { model } = this.deps;
    const d = this.deps.durations();
    const cur = this.#qemuMissing(req);
    if (!cur.running) return { durationMs: 0 };
    if (cur.lock && !skiplock) die(`VM is locked (${cur.lock})`);
    const powerOff = () => this.#ifPresent(cur, () => cur.running && model.powerOff(cur));
    if (!how.shutdown) return { durationMs: d.stop, apply: powerOff };
    if (cur.ignoresShutdown) {
      return how.forceStop
        ? { durationMs: d.shutdown, warnings: ['VM still running - terminating now with SIGTERM'], apply: powerOff }
        : { durationMs: d.shutdown, error: 'VM quit/powerdown failed - got timeout' };
    }
    return { durationMs: d.shutdown, apply: powerOff };
  }

  /** `check_running`: sync, so a missing config fails with its own text. */
  #qemuCheckRunning(req: PowerRequest, g: Guest | undefined): Guest {
    if (!g) throw serverError(`unable to find configuration file for VM ${req.vmid} on node '${req.node}'`);
    if (!g.running) throw serverError(`VM ${req.vmid} not running`);
    return g;
  }

  /** `load_config` inside a worker. */
  #qemuConfig(req: PowerRequest): Guest {
    return this.deps.model.guestOn(req.node, 'qemu', req.vmid) ?? die(`Configuration file '${configPath('qemu', req.node, req.vmid)}' does not exist`);
  }

  /** `check_running` inside a worker. */
  #qemuMissing(req: PowerRequest): Guest {
    return (
      this.deps.model.guestOn(req.node, 'qemu', req.vmid) ??
      die(`unable to find configuration file for VM ${req.vmid} on node '${req.node}'`)
    );
  }

  // ---- pve-container ----

  #lxc(req: PowerRequest): string {
    const { model } = this.deps;
    const { node, vmid, params } = req;
    const g = model.guestOn(node, 'lxc', vmid);
    const running = g?.running === true;
    const d = this.deps.durations();
    const skiplock = params.skiplock === true;
    const config = () =>
      model.guestOn(node, 'lxc', vmid) ?? die(`Configuration file '${configPath('lxc', node, vmid)}' does not exist`);

    switch (req.action) {
      case 'start': {
        rootOnly(req, ['skiplock']);
        if (running) throw serverError(`CT ${vmid} already running`);
        if (!model.quorate()) throw serverError('cluster not ready - no quorum?');
        if (g?.ha) return this.#haRequest(req, g, 'started');
        return this.#spawn(req, 'vzstart', true, () => this.#lxcStart(req, skiplock));
      }
      case 'stop': {
        rootOnly(req, ['skiplock']);
        const overrule = params['overrule-shutdown'] === true;
        if (!running) throw serverError(`CT ${vmid} not running`);
        if (g?.ha) {
          if (overrule) throw paramError({ 'overrule-shutdown': 'Not applicable for HA resources.' });
          return this.#haRequest(req, g, 'stopped', 0);
        }
        return this.#spawn(req, 'vzstop', true, () => this.#lxcStop(req, skiplock, { kill: true }), overrule ? 'vzshutdown' : undefined);
      }
      case 'shutdown': {
        const timeout = typeof params.timeout === 'number' ? params.timeout : 60;
        if (!running) throw serverError(`CT ${vmid} not running`);
        if (g?.ha) return this.#haRequest(req, g, 'stopped', timeout);
        return this.#spawn(req, 'vzshutdown', true, () =>
          this.#lxcStop(req, false, { kill: false, timeout, forceStop: params.forceStop === true }),
        );
      }
      case 'reboot': {
        // pve-container really says "VM" here.
        if (!running) throw serverError(`VM ${vmid} not running`);
        return this.#spawn(req, 'vzreboot', true, () => {
          const cur = config();
          if (!cur.running) return { durationMs: 0 };
          return { durationMs: d.reboot, apply: () => this.#ifPresent(cur, () => model.restart(cur)) };
        });
      }
      case 'suspend': {
        if (!running) throw serverError(`CT ${vmid} not running`);
        return this.#spawn(req, 'vzsuspend', true, () => {
          const cur = config();
          if (cur.lock) die(`CT is locked (${cur.lock})`);
          return {
            durationMs: d.suspend,
            apply: () =>
              this.#ifPresent(cur, () => {
                model.powerOff(cur);
                model.setCheckpointed(cur, true);
              }),
          };
        });
      }
      case 'resume': {
        if (running) throw serverError(`CT ${vmid} already running`);
        // The resume worker runs lxc-checkpoint without taking the config lock.
        return this.#spawn(req, 'vzresume', false, () => {
          const cur = model.guestOn(node, 'lxc', vmid);
          if (!cur?.checkpointed) {
            return {
              durationMs: d.resume,
              error: `command 'lxc-checkpoint -n ${vmid} -r --foreground -D /var/lib/vz/dump' failed: exit code 1`,
            };
          }
          return { durationMs: d.resume, apply: () => this.#ifPresent(cur, () => model.powerOn(cur)) };
        });
      }
      default:
        throw new Error(`unsupported lxc action ${req.action}`);
    }
  }

  #lxcStart(req: PowerRequest, skiplock: boolean): WorkerOutcome {
    const { model } = this.deps;
    const cur =
      model.guestOn(req.node, 'lxc', req.vmid) ?? die(`Configuration file '${configPath('lxc', req.node, req.vmid)}' does not exist`);
    if (cur.template) die("you can't start a CT if it's a template");
    if (!skiplock && cur.lock && cur.lock !== 'mounted') die(`CT is locked (${cur.lock})`);
    if (cur.running) die(`CT ${req.vmid} already running`);
    return {
      durationMs: this.deps.durations().start,
      apply: () =>
        this.#ifPresent(cur, () => {
          if (cur.running) throw new Error(`CT ${req.vmid} already running`);
          model.powerOn(cur);
        }),
    };
  }

  #lxcStop(req: PowerRequest, skiplock: boolean, how: { kill: boolean; timeout?: number; forceStop?: boolean }): WorkerOutcome {
    const { model } = this.deps;
    const d = this.deps.durations();
    const cur =
      model.guestOn(req.node, 'lxc', req.vmid) ?? die(`Configuration file '${configPath('lxc', req.node, req.vmid)}' does not exist`);
    // vzstop skips the lock check for skiplock and for a `mounted` lock; vzshutdown never does.
    if (cur.lock && (how.kill ? !skiplock && cur.lock !== 'mounted' : true)) die(`CT is locked (${cur.lock})`);
    if (!cur.running) return { durationMs: 0 };
    const powerOff = () => this.#ifPresent(cur, () => cur.running && model.powerOff(cur));
    if (how.kill) return { durationMs: d.stop, apply: powerOff };
    if (cur.ignoresShutdown && !how.forceStop) {
      return {
        durationMs: d.shutdown,
        log: [`command 'lxc-stop -n ${req.vmid} --nokill --timeout ${how.timeout ?? 60}' failed: exit code 1`],
        error: 'container did not stop',
      };
    }
    return { durationMs: d.shutdown, apply: powerOff };
  }

  // ---- HA ----

  /**
   * An HA-managed guest: the API only asks the HA stack (`ha-manager set vm:100 --state started`
   * or `crm-command stop vm:100 <timeout>`), in an `hastart`/`hastop` task. The HA stack then runs
   * its own start or stop task on the node as `root@pam`, a little later.
   */
  #haRequest(req: PowerRequest, g: Guest, state: 'started' | 'stopped', stopTimeout = 0): string {
    const type = state === 'started' ? 'hastart' : 'hastop';
    const text = state === 'started' ? 'Requesting HA start' : 'Requesting HA stop';
    return this.#spawn(req, type, false, () => ({
      durationMs: this.deps.durations().ha,
      log: [`${text} for ${label(req.type)} ${req.vmid}`],
      apply: () =>
        this.#ifPresent(g, () => {
          this.deps.model.setHaState(g, state);
          this.#scheduleHaManager(g, req, stopTimeout);
        }),
    }));
  }

  #scheduleHaManager(g: Guest, req: PowerRequest, stopTimeout: number): void {
    const timer = setTimeout(() => {
      this.#haTimers.delete(timer);
      const { model, tasks } = this.deps;
      const cur = model.guest(g.vmid);
      if (cur !== g || !g.ha) return;
      const lrm: PowerRequest = { ...req, node: g.node, params: {} };
      const wantRunning = g.ha.state === 'started';
      if (wantRunning === g.running) return;
      let type: string;
      let work: () => WorkerOutcome;
      if (wantRunning) {
        type = g.type === 'qemu' ? 'qmstart' : 'vzstart';
        work = () => (g.type === 'qemu' ? this.#qemuStart(lrm, false, false) : this.#lxcStart(lrm, false));
      } else {
        const kill = stopTimeout === 0;
        type = g.type === 'qemu' ? (kill ? 'qmstop' : 'qmshutdown') : kill ? 'vzstop' : 'vzshutdown';
        work = () =>
          g.type === 'qemu'
            ? this.#qemuStop(lrm, false, { shutdown: !kill, forceStop: true })
            : this.#lxcStop(lrm, false, { kill, timeout: stopTimeout, forceStop: true });
      }
      tasks.spawn({
        node: g.node,
        type,
        id: String(g.vmid),
        user: 'root@pam',
        configLock: { key: `${g.type}/${g.vmid}`, file: lockFile(g.type, g.vmid) },
        work: () => this.#guarded(work),
        after: (task) => {
          if (task.exitstatus !== 'OK' && !task.exitstatus?.startsWith('WARNINGS')) this.#ifPresent(g, () => model.setHaState(g, 'error'));
        },
      });
    }, this.deps.durations().haManager);
    timer.unref();
    this.#haTimers.add(timer);
  }

  // ---- plumbing ----

  #spawn(req: PowerRequest, type: string, configLock: boolean, work: () => WorkerOutcome, overrules?: string): string {
    const { tasks } = this.deps;
    const scripted = this.deps.takeScripted(req.vmid, req.action);
    const spec: WorkerSpec = {
      node: req.node,
      type,
      id: String(req.vmid),
      user: req.identity.userid,
      work: () => applyScript(this.#guarded(work), scripted),
    };
    if (configLock) spec.configLock = { key: `${req.type}/${req.vmid}`, file: lockFile(req.type, req.vmid) };
    if (overrules) {
      // `overrule-shutdown`: abort this guest's running shutdown tasks before waiting for the lock.
      spec.beforeLock = (task: TaskRecord) => {
        const aborted = tasks
          .running((t) => t.type === overrules && t.id === String(req.vmid) && t.node === req.node)
          .map((t) => t.upid);
        for (const upid of aborted) tasks.abort(upid);
        if (aborted.length) task.log.push(`overruled ${overrules} tasks: ${aborted.join(', ')}`);
      };
    }
    return tasks.spawn(spec).upid;
  }

  /** Runs a worker's decision; a WorkerError (the worker's `die`) becomes a quick task failure. */
  #guarded(work: () => WorkerOutcome): WorkerOutcome {
    try {
      return work();
    } catch (err) {
      if (err instanceof WorkerError) return { durationMs: this.deps.tasks.failFastMs, error: err.message };
      throw err;
    }
  }

  /** Effects only land if the guest still exists (it may have been removed meanwhile). */
  #ifPresent(g: Guest, effect: () => unknown): void {
    if (this.deps.model.guest(g.vmid) === g) effect();
  }
}

/** A scripted outcome (failure injection) in place of the worker's natural one. */
export function applyScript(natural: WorkerOutcome, scripted: ScriptedOutcome | undefined): WorkerOutcome {
  if (!scripted) return natural;
  const durationMs = scripted.durationMs ?? Math.max(natural.durationMs, 0);
  const { exitstatus } = scripted;
  const warnings = /^WARNINGS: (\d+)$/.exec(exitstatus);
  if (exitstatus === 'OK') return { durationMs, log: natural.log, apply: natural.apply };
  if (warnings) {
    const n = Number(warnings[1]);
    return {
      durationMs,
      log: natural.log,
      apply: natural.apply,
      warnings: Array.from({ length: n }, (_, i) => `simulated warning ${i + 1} of ${n}`),
    };
  }
  return { durationMs, log: natural.log, error: exitstatus };
}

/** qemu-server / pve-container: options only `root@pam` may pass. API tokens never are `root@pam`. */
function rootOnly(req: PowerRequest, names: readonly string[]): void {
  if (req.identity.userid === 'root@pam') return;
  for (const n of names) {
    const v = req.params[n];
    if (v !== undefined && v !== false && v !== 0 && v !== '' && v !== '0') {
      throw paramError({ [n]: 'Only root may use this option.' });
    }
  }
}
