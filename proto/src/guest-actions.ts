/**
 * The guest actions: the one table every part reads (the api's routes and validation, the bus
 * validator, the adapter's handlers and capabilities, the dashboard's types). Each row is one
 * command subject token (`molten.cmd.proxmox.<cluster>.<token>`), the `Command` payload that
 * carries it and the action that payload names, the guest types it applies to, the Proxmox
 * privileges it needs (the first is the one Proxmox names when it refuses; any one is enough),
 * and its safety class:
 *
 * - `change`: adds or starts something and takes nothing away (start, resume, a new snapshot);
 * - `destructive`: stops a running guest, loses its unsaved state or removes data (stop,
 *   shutdown, reboot, suspend, rollback, delete). A person confirms these; an agent's call waits
 *   for an operator's approval.
 *
 * Imports nothing, so a types-only import of it (the REST types) carries no code.
 */

export type GuestType = 'qemu' | 'lxc';
export const GUEST_TYPES = ['qemu', 'lxc'] as const satisfies readonly GuestType[];

export type SafetyClass = 'change' | 'destructive';

/** The `Command.payload` cases that carry a guest action. */
export type GuestActionPayload = 'power' | 'suspendResume' | 'snapshot';

export interface GuestActionSpec {
  payload: GuestActionPayload;
  /** The payload's `action` field. */
  action: string;
  safety: SafetyClass;
  types: readonly GuestType[];
  privileges: readonly string[];
}

const BOTH = ['qemu', 'lxc'] as const;

export const GUEST_ACTIONS = {
  'vm-start': { payload: 'power', action: 'start', safety: 'change', types: BOTH, privileges: ['VM.PowerMgmt'] },
  'vm-stop': { payload: 'power', action: 'stop', safety: 'destructive', types: BOTH, privileges: ['VM.PowerMgmt'] },
  'vm-shutdown': { payload: 'power', action: 'shutdown', safety: 'destructive', types: BOTH, privileges: ['VM.PowerMgmt'] },
  'vm-reboot': { payload: 'power', action: 'reboot', safety: 'destructive', types: BOTH, privileges: ['VM.PowerMgmt'] },
  // Pause (or hibernate with todisk). Hibernating also needs VM.Config.Disk and
  // Datastore.AllocateSpace on the storage that takes the RAM (qemu-server vm_suspend).
  'vm-suspend': { payload: 'suspendResume', action: 'suspend', safety: 'destructive', types: ['qemu'], privileges: ['VM.PowerMgmt'] },
  'vm-resume': { payload: 'suspendResume', action: 'resume', safety: 'change', types: ['qemu'], privileges: ['VM.PowerMgmt'] },
  'snapshot-create': { payload: 'snapshot', action: 'create', safety: 'change', types: BOTH, privileges: ['VM.Snapshot'] },
  // Either privilege is enough (Proxmox checks VM.Snapshot | VM.Snapshot.Rollback).
  'snapshot-rollback': { payload: 'snapshot', action: 'rollback', safety: 'destructive', types: BOTH, privileges: ['VM.Snapshot.Rollback', 'VM.Snapshot'] },
  'snapshot-delete': { payload: 'snapshot', action: 'delete', safety: 'destructive', types: BOTH, privileges: ['VM.Snapshot'] },
} as const satisfies Record<string, GuestActionSpec>;

type Actions = typeof GUEST_ACTIONS;
export type GuestActionToken = keyof Actions;
export const GUEST_ACTION_TOKENS = Object.keys(GUEST_ACTIONS) as GuestActionToken[];

/** The tokens whose payload is `p`, and the action names that payload carries. */
export type GuestActionTokenOf<P extends GuestActionPayload> = { [T in GuestActionToken]: Actions[T]['payload'] extends P ? T : never }[GuestActionToken];
export type GuestActionNameOf<P extends GuestActionPayload> = Actions[GuestActionTokenOf<P>]['action'];

/** The action names one payload carries, in the table's order. */
function actionsOf<P extends GuestActionPayload>(payload: P): readonly GuestActionNameOf<P>[] {
  return Object.values(GUEST_ACTIONS)
    .filter((a) => a.payload === payload)
    .map((a) => a.action as GuestActionNameOf<P>);
}

/** The power actions (payload `power`), as the REST routes and the `PowerAction` message name them. */
export type PowerActionName = GuestActionNameOf<'power'>;
export const POWER_ACTIONS = actionsOf('power');
export type SnapshotActionName = GuestActionNameOf<'snapshot'>;
export const SNAPSHOT_ACTIONS = actionsOf('snapshot');
export type SuspendResumeActionName = GuestActionNameOf<'suspendResume'>;
export const SUSPEND_RESUME_ACTIONS = actionsOf('suspendResume');

/** The commands that are not guest actions. Their safety depends on what they call (a tool's annotations, an agent's run). */
export const OTHER_ACTIONS = {
  'tool-call': { payload: 'toolCall' },
  'agent-run': { payload: 'agentRun' },
} as const;

/** Every command subject token Molten sends. */
export type ActionToken = GuestActionToken | keyof typeof OTHER_ACTIONS;

export function isGuestActionToken(action: string): action is GuestActionToken {
  return Object.hasOwn(GUEST_ACTIONS, action);
}

/** The command subject token of each payload's action. */
export const powerActionToken = (action: PowerActionName) => `vm-${action}` as const;
export function snapshotActionToken(action: SnapshotActionName): GuestActionTokenOf<'snapshot'> {
  return `snapshot-${action}`;
}
export function suspendResumeToken(action: SuspendResumeActionName): GuestActionTokenOf<'suspendResume'> {
  return `vm-${action}`;
}

/**
 * Why a snapshot name would be refused, or undefined when Proxmox takes it: pve-common's
 * `pve-configid` (`^[a-z][a-z0-9_-]+$`, case-insensitive), at most 40 characters
 * (`pve-snapshot-name`), and the names qemu-server and pve-container reserve.
 */
export function snapshotNameProblem(name: string, type?: GuestType): string | undefined {
  if (!/^[a-z][a-z0-9_-]+$/i.test(name)) return 'must start with a letter and hold only letters, digits, "-" and "_" (at least 2 characters)';
  if (name.length > 40) return 'may be at most 40 characters long';
  if (name === 'current') return "'current' is reserved by Proxmox (it marks the guest's present state)";
  if (type !== 'lxc' && name.toLowerCase() === 'pending') return "'pending' is reserved by Proxmox for VMs";
  if (type !== 'qemu' && name === 'vzdump') return "'vzdump' is reserved by Proxmox for containers (backup snapshots)";
  return undefined;
}
