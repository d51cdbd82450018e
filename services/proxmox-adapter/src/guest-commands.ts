import { GUEST_ACTIONS, isGuestActionToken, snapshotNameProblem, type Command, type Guest, type GuestActionToken } from '@molten/contracts';
import type { GuestRef } from './driver.js';
import type { GuestCapableDriver, GuestOp } from './guest-driver.js';
import { UpstreamError } from './upstream-error.js';

/**
 * The guest actions that are one Proxmox task each — snapshot-create, snapshot-rollback,
 * snapshot-delete, vm-suspend (pause, or hibernate with todisk), vm-resume — turned from a
 * command into the operation to run, with the state rules checked first against a fresh read of
 * the guest: suspend only a running VM, resume only a paused or hibernated one. Proxmox's own
 * refusals (locks, a missing snapshot, a name already used) come back from its task.
 *
 * HA: Proxmox pauses, resumes and snapshots an HA-managed VM directly (no HA request, unlike
 * start and stop), and refuses to hibernate one ("Cannot suspend HA managed VM to disk"): that
 * is refused here before asking.
 */
export interface PlannedGuestOp {
  token: GuestActionToken;
  op: GuestOp;
  /** "snapshot 'x' of VM 101 on pve1", "pause of VM 101 on pve1". */
  what: string;
}

const label = (ref: GuestRef) => `${ref.type === 'lxc' ? 'CT' : 'VM'} ${ref.vmid} on ${ref.node}`;

/** Whether a guest can be resumed: paused (QMP) or hibernated (stopped, lock `suspended`). */
export const isPaused = (g: Pick<Guest, 'status' | 'qmpstatus'>) => g.status === 'running' && !!g.qmpstatus && g.qmpstatus !== 'running';
export const isHibernated = (g: Pick<Guest, 'status' | 'lock'>) => g.status === 'stopped' && g.lock === 'suspended';

function conflict(message: string, remedy = ''): UpstreamError {
  return new UpstreamError({ code: 'conflict', message, remedy });
}

/** The command's payload as an operation; the token and the payload must agree. */
export function guestOpOf(command: Command): { token: GuestActionToken; op: GuestOp; vmid: number; node: string; type: string } | UpstreamError {
  const p = command.payload;
  const token = command.action;
  if (!isGuestActionToken(token)) return new UpstreamError({ code: 'invalid', message: `"${token}" is not a guest action` });
  const spec = GUEST_ACTIONS[token];
  if (p?.$case !== spec.payload || p.value.action !== spec.action) {
    return new UpstreamError({ code: 'invalid', message: `a ${token} command needs a ${spec.payload} payload with action "${spec.action}"` });
  }
  // Power actions have their own plan (power-handler.ts); this one is for the other guest actions.
  if (p.$case === 'power') return new UpstreamError({ code: 'invalid', message: `${token} is a power action, not a snapshot, pause or resume` });
  if (p.$case === 'snapshot') {
    const v = p.value;
    const type = v.type === 'qemu' || v.type === 'lxc' ? v.type : undefined;
    const problem = snapshotNameProblem(v.name, type);
    if (problem) return new UpstreamError({ code: 'invalid', message: `snapshot name ${JSON.stringify(v.name)} ${problem}`, fields: { name: problem } });
    const op: GuestOp =
      v.action === 'create'
        ? { kind: 'snapshot-create', name: v.name, description: v.description, vmstate: v.vmstate }
        : v.action === 'rollback'
          ? { kind: 'snapshot-rollback', name: v.name }
          : { kind: 'snapshot-delete', name: v.name };
    return { token, op, vmid: v.vmid, node: v.node, type: v.type };
  }
  const v = p.value;
  const op: GuestOp = v.action === 'suspend' ? { kind: 'vm-suspend', todisk: v.todisk } : { kind: 'vm-resume' };
  return { token, op, vmid: v.vmid, node: v.node, type: v.type };
}

/** Checks the state rules against the guest as it is now; undefined when the action may go. */
export function stateProblem(ref: GuestRef, op: GuestOp, g: Guest | undefined): UpstreamError | undefined {
  if (op.kind === 'vm-suspend' || op.kind === 'vm-resume') {
    if (ref.type !== 'qemu') {
      return new UpstreamError({
        code: 'unsupported',
        message: `${label(ref)} is a container: Proxmox's container suspend is experimental (CRIU), so Molten pauses and resumes VMs only`,
        remedy: 'Shut the container down and start it again instead.',
      });
    }
  }
  if (!g) return undefined; // unknown now: Proxmox decides
  if (op.kind === 'vm-suspend') {
    if (isHibernated(g)) return conflict(`${label(ref)} is hibernated already`, 'Resume it (or start it) to bring it back.');
    if (g.status !== 'running') return conflict(`${label(ref)} is ${g.status}: only a running VM can be ${op.todisk ? 'hibernated' : 'paused'}`);
    if (isPaused(g)) return conflict(`${label(ref)} is ${g.qmpstatus} already`, 'Resume it first.');
    if (op.todisk && g.hastate) {
      return conflict(`${label(ref)} is managed by HA, and Proxmox cannot hibernate an HA-managed VM (Cannot suspend HA managed VM to disk)`, 'Pause it instead, or remove it from HA first (ha-manager remove vm:' + ref.vmid + ').');
    }
  }
  if (op.kind === 'vm-resume' && !isPaused(g) && !isHibernated(g)) {
    return conflict(`${label(ref)} is ${g.status === 'running' ? 'running' : g.status}, not paused or hibernated: there is nothing to resume`, g.status === 'stopped' ? 'Start it instead.' : '');
  }
  if (op.kind === 'snapshot-create' && g.template) return conflict(`${label(ref)} is a template: Proxmox takes no snapshots of templates`, 'Clone it and snapshot the clone.');
  if (op.kind === 'snapshot-create' && op.vmstate && ref.type === 'lxc') {
    return new UpstreamError({ code: 'invalid', message: 'containers have no RAM snapshots (vmstate is for VMs)', fields: { vmstate: 'VMs only' } });
  }
  return undefined;
}

export function describeOp(ref: GuestRef, op: GuestOp): string {
  switch (op.kind) {
    case 'snapshot-create':
      return `snapshot '${op.name}'${op.vmstate ? ' (with RAM)' : ''} of ${label(ref)}`;
    case 'snapshot-rollback':
      return `rollback of ${label(ref)} to snapshot '${op.name}'`;
    case 'snapshot-delete':
      return `deletion of snapshot '${op.name}' of ${label(ref)}`;
    case 'vm-suspend':
      return `${op.todisk ? 'hibernation' : 'pause'} of ${label(ref)}`;
    case 'vm-resume':
      return `resume of ${label(ref)}`;
  }
}

/**
 * With no task found for a call whose answer was lost: whether the action visibly happened
 * (true), visibly did not yet (false), or cannot be told from state (undefined: a rollback).
 */
export async function reconcileOp(driver: GuestCapableDriver, ref: GuestRef, op: GuestOp, g: Guest | undefined): Promise<boolean | undefined> {
  switch (op.kind) {
    case 'snapshot-create':
    case 'snapshot-delete': {
      const list = await driver.guestSnapshots(ref);
      const s = list.snapshots.find((x) => x.name === op.name);
      return op.kind === 'snapshot-create' ? !!s && !s.snapstate : !s;
    }
    case 'vm-suspend':
      return g ? (op.todisk ? isHibernated(g) : isPaused(g)) : undefined;
    case 'vm-resume':
      return g ? g.status === 'running' && (g.qmpstatus ?? 'running') === 'running' : undefined;
    case 'snapshot-rollback':
      return undefined;
  }
}
