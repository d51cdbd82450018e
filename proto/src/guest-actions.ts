/**
 * Guest actions beyond the power actions: their command subject tokens, which payload carries
 * them, whether they destroy state (the api asks for confirmation and classes them so), and the
 * Proxmox privileges they need. One table, read by the api, the adapter and the bus validator.
 */
export const GUEST_ACTIONS = {
  'vm-suspend': {
    payload: 'suspendResume',
    action: 'suspend',
    destructive: false,
    types: ['qemu'],
    // Hibernating (todisk) also needs VM.Config.Disk and Datastore.AllocateSpace on the storage
    // that takes the RAM (qemu-server vm_suspend).
    privileges: ['VM.PowerMgmt'],
  },
  'vm-resume': { payload: 'suspendResume', action: 'resume', destructive: false, types: ['qemu'], privileges: ['VM.PowerMgmt'] },
  'snapshot-create': { payload: 'snapshot', action: 'create', destructive: false, types: ['qemu', 'lxc'], privileges: ['VM.Snapshot'] },
  // Either privilege is enough (Proxmox checks VM.Snapshot | VM.Snapshot.Rollback).
  'snapshot-rollback': { payload: 'snapshot', action: 'rollback', destructive: true, types: ['qemu', 'lxc'], privileges: ['VM.Snapshot.Rollback', 'VM.Snapshot'] },
  'snapshot-delete': { payload: 'snapshot', action: 'delete', destructive: true, types: ['qemu', 'lxc'], privileges: ['VM.Snapshot'] },
} as const;

export type GuestActionToken = keyof typeof GUEST_ACTIONS;
export const GUEST_ACTION_TOKENS = Object.keys(GUEST_ACTIONS) as GuestActionToken[];

export function isGuestActionToken(action: string): action is GuestActionToken {
  return Object.hasOwn(GUEST_ACTIONS, action);
}

/** The command subject token for a payload's action. */
export function snapshotActionToken(action: 'create' | 'rollback' | 'delete'): GuestActionToken {
  return `snapshot-${action}`;
}
export function suspendResumeToken(action: 'suspend' | 'resume'): GuestActionToken {
  return `vm-${action}`;
}

/**
 * Why a snapshot name would be refused, or undefined when Proxmox takes it: pve-common's
 * `pve-configid` (`^[a-z][a-z0-9_-]+$`, case-insensitive), at most 40 characters
 * (`pve-snapshot-name`), and the names qemu-server and pve-container reserve.
 */
export function snapshotNameProblem(name: string, type?: 'qemu' | 'lxc'): string | undefined {
  if (!/^[a-z][a-z0-9_-]+$/i.test(name)) return 'must start with a letter and hold only letters, digits, "-" and "_" (at least 2 characters)';
  if (name.length > 40) return 'may be at most 40 characters long';
  if (name === 'current') return "'current' is reserved by Proxmox (it marks the guest's present state)";
  if (type !== 'lxc' && name.toLowerCase() === 'pending') return "'pending' is reserved by Proxmox for VMs";
  if (type !== 'qemu' && name === 'vzdump') return "'vzdump' is reserved by Proxmox for containers (backup snapshots)";
  return undefined;
}
