import type { Identity } from './auth.js';
import type { ClusterModel, Guest, GuestType, Snapshot } from './cluster-model.js';
import { serverError } from './errors.js';
import { configForSnapshot, snapshotConfig } from './guest-config.js';
import { applyScript, type ScriptedOutcome, type TaskDurations } from './power.js';
import type { TaskRecord, TaskRegistry, WorkerOutcome } from './tasks.js';
import type { PveRelease } from './version.js';

/**
 * Snapshots as qemu-server (`API2/Qemu.pm` snapshot_list/snapshot/rollback/delsnapshot),
 * pve-container (`API2/LXC/Snapshot.pm`) and pve-guest-common (`AbstractConfig.pm`
 * snapshot_create/snapshot_rollback/snapshot_delete) run them:
 *
 * - the list has every snapshot (`name, snaptime, description`, qemu also `vmstate` 0/1,
 *   `parent` and `snapstate` when set) and a last entry `current` ("You are here!", `running`,
 *   `digest`, `parent`: the snapshot the guest descends from);
 * - create, rollback and delete answer a UPID at once (`qmsnapshot`, `qmrollback`,
 *   `qmdelsnapshot`; `vzsnapshot`, `vzrollback`, `vzdelsnapshot`); only the reserved names are
 *   refused synchronously, everything else fails inside the task;
 * - while a task works the guest carries the config lock `snapshot`, `rollback` or
 *   `snapshot-delete` (other actions fail with "VM is locked (snapshot)"), and a snapshot being
 *   taken or removed is listed with `snapstate` `prepare` or `delete`;
 * - a rollback first stops a running guest (hard, `vm_stop` with a 5 s timeout), and a snapshot
 *   with RAM (`vmstate`) starts the VM again from that state, so it ends running; without RAM the
 *   guest stays stopped unless `start=1` (which needs VM.PowerMgmt too).
 */
export type SnapshotTaskAction = 'snapshot' | 'rollback' | 'delsnapshot';

export interface SnapshotDeps {
  model: ClusterModel;
  tasks: TaskRegistry;
  release: PveRelease;
  durations: () => TaskDurations;
  takeScripted: (vmid: number, action: SnapshotTaskAction) => ScriptedOutcome | undefined;
}

export interface SnapshotRequest {
  node: string;
  type: GuestType;
  vmid: number;
  snapname: string;
  identity: Identity;
}

const label = (type: GuestType) => (type === 'qemu' ? 'VM' : 'CT');
const configPath = (type: GuestType, node: string, vmid: number) =>
  `nodes/${node}/${type === 'qemu' ? 'qemu-server' : 'lxc'}/${vmid}.conf`;

export class SnapshotActions {
  constructor(private readonly deps: SnapshotDeps) {}

  /** GET …/snapshot. */
  list(node: string, type: GuestType, vmid: number, digest: string): Record<string, unknown>[] {
    const g = this.#config(node, type, vmid);
    const res: Record<string, unknown>[] = [];
    for (const s of g.snapshots.values()) {
      const item: Record<string, unknown> = { name: s.name, snaptime: s.snaptime || 0, description: s.description || '' };
      if (type === 'qemu') item.vmstate = s.vmstate ? 1 : 0;
      if (s.parent) item.parent = s.parent;
      if (s.snapstate) item.snapstate = s.snapstate;
      res.push(item);
    }
    const current: Record<string, unknown> = { name: 'current', digest, running: g.running ? 1 : 0, description: 'You are here!' };
    if (g.parent) current.parent = g.parent;
    res.push(current);
    return res;
  }

  /** GET …/snapshot/{snapname}/config. */
  config(node: string, type: GuestType, vmid: number, snapname: string): Record<string, unknown> {
    const g = this.#config(node, type, vmid);
    const s = g.snapshots.get(snapname);
    if (!s) throw serverError(`snapshot '${snapname}' does not exist`);
    return snapshotConfig(this.deps.model, g, s, this.deps.release);
  }

  /** POST …/snapshot. */
  create(req: SnapshotRequest & { vmstate?: boolean; description?: string }): string {
    const { type, vmid, snapname } = req;
    if (snapname === 'current') throw serverError("unable to use snapshot name 'current' (reserved name)");
    if (type === 'qemu' && snapname.toLowerCase() === 'pending') throw serverError("unable to use snapshot name 'pending' (reserved name)");
    if (type === 'lxc' && snapname === 'vzdump') throw serverError("unable to use snapshot name 'vzdump' (reserved name)");
    this.#config(req.node, type, vmid); // qemu-server loads the config before forking
    const { model, release } = this.deps;
    let snap: Snapshot | undefined;
    let guest: Guest | undefined;
    return this.#spawn(req, type === 'qemu' ? 'qmsnapshot' : 'vzsnapshot', 'snapshot', () => {
      const g = this.#config(req.node, type, vmid);
      if (g.template) throw new Error("you can't take a snapshot if it's a template");
      if (g.lock) throw new Error(`${label(type)} is locked (${g.lock})`);
      if (g.snapshots.has(snapname)) throw new Error(`snapshot name '${snapname}' already used`);
      const withState = type === 'qemu' && req.vmstate === true && g.running;
      guest = g;
      snap = {
        name: snapname,
        description: req.description ?? '',
        snaptime: Math.floor(Date.now() / 1000),
        vmstate: withState ? `local-lvm:vm-${vmid}-state-${snapname}` : undefined,
        parent: g.parent,
        snapstate: 'prepare',
        config: configForSnapshot(model, g, release),
      };
      g.snapshots.set(snapname, snap);
      model.setLock(g, 'snapshot');
      const log: string[] = [];
      if (withState) {
        log.push("saving VM state and RAM using storage 'local-lvm'");
        log.push(`completed saving the VM state in 2s, saved ${(g.mem / 1024 ** 3).toFixed(2)} GiB`);
      }
      log.push(
        type === 'qemu' ? `snapshotting 'drive-scsi0' (local-lvm:vm-${vmid}-disk-0)` : `snapshotting 'rootfs' (local-lvm:vm-${vmid}-disk-0)`,
        `  Logical volume "snap_vm-${vmid}-disk-0_${snapname}" created.`,
      );
      return {
        durationMs: this.deps.durations().snapshot,
        log,
        apply: () => {
          snap!.snapstate = undefined;
          g.parent = snapname;
          model.setLock(g, undefined);
        },
      };
    }, (task) => {
      // A failed or interrupted snapshot is cleaned up: "snapshot create failed: starting cleanup".
      if (!snap || !guest || succeeded(task)) return;
      task.log.splice(task.log.length - 1, 0, 'snapshot create failed: starting cleanup');
      guest.snapshots.delete(snapname);
      if (guest.lock === 'snapshot') model.setLock(guest, undefined);
      model.touchConfig();
    });
  }

  /** DELETE …/snapshot/{snapname}. */
  remove(req: SnapshotRequest & { force?: boolean }): string {
    const { type, vmid, snapname } = req;
    const { model } = this.deps;
    let guest: Guest | undefined;
    let snap: Snapshot | undefined;
    return this.#spawn(req, type === 'qemu' ? 'qmdelsnapshot' : 'vzdelsnapshot', 'delsnapshot', () => {
      const g = this.#config(req.node, type, vmid, true);
      const s = g.snapshots.get(snapname);
      if (!s) throw new Error(`snapshot '${snapname}' does not exist`);
      if (g.lock) throw new Error(`${label(type)} is locked (${g.lock})`);
      if (g.template) throw new Error("you can't delete a snapshot if vm is a template");
      guest = g;
      snap = s;
      model.setLock(g, 'snapshot-delete');
      s.snapstate = 'delete';
      model.touchConfig();
      return {
        durationMs: this.deps.durations().delsnapshot,
        log: [`  Logical volume "snap_vm-${vmid}-disk-0_${snapname}" successfully removed.`],
        apply: () => {
          // Children now descend from the removed snapshot's parent.
          for (const other of g.snapshots.values()) if (other.parent === snapname) other.parent = s.parent;
          if (g.parent === snapname) g.parent = s.parent;
          g.snapshots.delete(snapname);
          model.setLock(g, undefined);
        },
      };
    }, (task) => {
      // A failed delete leaves the lock and the `delete` state for a retry with force.
      if (!guest || !snap || succeeded(task)) return;
      model.touchConfig();
    });
  }

  /** POST …/snapshot/{snapname}/rollback. */
  rollback(req: SnapshotRequest & { start?: boolean }): string {
    const { type, vmid, snapname } = req;
    const { model } = this.deps;
    if (req.start && type === 'qemu') req.identity.check(`/vms/${vmid}`, ['VM.PowerMgmt']);
    return this.#spawn(req, type === 'qemu' ? 'qmrollback' : 'vzrollback', 'rollback', () => {
      const g = this.#config(req.node, type, vmid);
      if (g.template) throw new Error("you can't rollback if vm is a template");
      const s = g.snapshots.get(snapname);
      if (!s) throw new Error(`snapshot '${snapname}' does not exist`);
      if (s.snapstate) throw new Error(`unable to rollback to incomplete snapshot (snapstate = ${s.snapstate})`);
      if (g.lock) throw new Error(`${label(type)} is locked (${g.lock})`);
      const log: string[] = [];
      if (g.running) model.powerOff(g); // __snapshot_rollback_vm_stop: a hard stop, no ACPI
      model.setLock(g, 'rollback');
      log.push(`  Logical volume "vm-${vmid}-disk-0" successfully removed.`, `  Logical volume "vm-${vmid}-disk-0" created.`);
      if (s.vmstate) log.push(`start VM ${vmid}: loading the VM state from '${s.vmstate}'`);
      return {
        durationMs: this.deps.durations().rollback,
        log,
        apply: () => {
          if (model.guest(vmid) !== g) return;
          g.parent = snapname;
          model.setLock(g, undefined);
          // The RAM state brings the VM back running; `start` starts one without.
          if ((s.vmstate || req.start) && !g.running) model.powerOn(g);
        },
      };
    }, (task) => {
      const g = model.guest(vmid);
      if (!g || succeeded(task)) return;
      if (g.lock === 'rollback') model.setLock(g, undefined);
    });
  }

  /** `load_config`: the guest must be on this node with this type. */
  #config(node: string, type: GuestType, vmid: number, inWorker = false): Guest {
    const g = this.deps.model.guestOn(node, type, vmid);
    if (!g) {
      const msg = `Configuration file '${configPath(type, node, vmid)}' does not exist`;
      if (inWorker) throw new Error(msg);
      throw serverError(msg);
    }
    return g;
  }

  #spawn(req: SnapshotRequest, type: string, action: SnapshotTaskAction, work: () => WorkerOutcome, after: (task: TaskRecord) => void): string {
    const scripted = this.deps.takeScripted(req.vmid, action);
    return this.deps.tasks.spawn({
      node: req.node,
      type,
      id: String(req.vmid),
      user: req.identity.userid,
      // The flock is only held for moments; the `lock` property in the config guards the guest.
      work: () => applyScript(work(), scripted),
      after,
    }).upid;
  }
}

function succeeded(task: TaskRecord): boolean {
  return task.exitstatus === 'OK' || /^WARNINGS: \d+$/.test(task.exitstatus ?? '');
}
