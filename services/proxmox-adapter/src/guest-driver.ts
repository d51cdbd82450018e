import type { GuestAddresses, GuestConfig, GuestSnapshots, GuestType, HaStatus, ProxmoxTask, TaskLog } from '@molten/contracts';
import type { GuestRrdPoint, NodeRrdPoint } from '@molten/contracts';
import type { ClusterDriver, GuestRef } from './driver.js';

/**
 * What a driver offers for a guest's page beyond the ClusterDriver: reads answered on request
 * (history, config, addresses, tasks, snapshots, HA) and the guest actions that are Proxmox
 * tasks (snapshots, pause/hibernate/resume). The pve driver has them; a driver without them
 * (ProxmoxMCP-Plus) answers those queries and commands "unsupported".
 */
export type Timeframe = 'hour' | 'day' | 'week' | 'month' | 'year' | 'decade';
export type Cf = 'AVERAGE' | 'MAX';

export type GuestOp =
  | { kind: 'snapshot-create'; name: string; description: string; vmstate: boolean }
  | { kind: 'snapshot-rollback'; name: string }
  | { kind: 'snapshot-delete'; name: string }
  | { kind: 'vm-suspend'; todisk: boolean }
  | { kind: 'vm-resume' };

export interface RrdSeries<P> {
  /** Seconds between points (Proxmox's step for the timeframe). */
  stepS: number;
  points: P[];
}

export interface GuestTaskFilter {
  limit: number;
  since?: number;
  errorsOnly?: boolean;
  typefilter?: string;
}

export interface GuestPageDriver {
  guestRrd(ref: GuestRef, timeframe: Timeframe, cf: Cf): Promise<RrdSeries<GuestRrdPoint>>;
  nodeRrd(node: string, timeframe: Timeframe, cf: Cf): Promise<RrdSeries<NodeRrdPoint>>;
  /** Proxmox's step for a timeframe, for cache lifetimes before any answer showed it. */
  rrdStep(timeframe: Timeframe): number;
  guestConfig(ref: GuestRef): Promise<GuestConfig>;
  /** The guest's addresses, or why there are none (agent not running, guest stopped). */
  guestAddresses(ref: GuestRef): Promise<GuestAddresses>;
  guestTasks(ref: GuestRef, filter: GuestTaskFilter): Promise<{ tasks: ProxmoxTask[]; total: number }>;
  taskLog(upid: string, start: number, limit: number): Promise<TaskLog>;
  guestSnapshots(ref: GuestRef): Promise<GuestSnapshots>;
  haStatus(vmid: number): Promise<HaStatus>;
  /** The one mutating call of a guest action: returns the upstream's task id. Never retried. */
  startGuestOp(ref: GuestRef, op: GuestOp): Promise<string>;
  /** Looks for a task this action may have started since sinceMs (to reconcile a lost answer). */
  findGuestOpTask(ref: GuestRef, op: GuestOp, sinceMs: number): Promise<string | undefined>;
}

export type GuestCapableDriver = ClusterDriver & GuestPageDriver;

export function hasGuestPage(d: ClusterDriver): d is GuestCapableDriver {
  return typeof (d as Partial<GuestPageDriver>).startGuestOp === 'function' && typeof (d as Partial<GuestPageDriver>).guestRrd === 'function';
}

/** The worker types each guest action produces (qemu-server, pve-container). */
export const GUEST_OP_WORKERS: Record<GuestType, Record<GuestOp['kind'] | 'vm-pause', string[]>> = {
  qemu: {
    'snapshot-create': ['qmsnapshot'],
    'snapshot-rollback': ['qmrollback'],
    'snapshot-delete': ['qmdelsnapshot'],
    'vm-suspend': ['qmsuspend'],
    'vm-pause': ['qmpause'],
    'vm-resume': ['qmresume'],
  },
  lxc: {
    'snapshot-create': ['vzsnapshot'],
    'snapshot-rollback': ['vzrollback'],
    'snapshot-delete': ['vzdelsnapshot'],
    'vm-suspend': ['vzsuspend'],
    'vm-pause': ['vzsuspend'],
    'vm-resume': ['vzresume'],
  },
};

export function workerTypes(type: GuestType, op: GuestOp): string[] {
  if (op.kind === 'vm-suspend' && !op.todisk) return GUEST_OP_WORKERS[type]['vm-pause'];
  return GUEST_OP_WORKERS[type][op.kind];
}
