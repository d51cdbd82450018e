import type { GuestType } from '@molten/contracts';

/**
 * Proxmox task ids (pve-common Tools.pm upid_encode/upid_decode):
 * UPID:{node}:{pid %08X}:{pstart %08X}:{starttime %08X}:{type}:{id}:{user}:
 */
const UPID =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

export interface Upid {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  /** Unix seconds. */
  starttime: number;
  /** Worker type: qmstart, vzstop, hastart, ... */
  type: string;
  /** The object the task works on, e.g. the vmid. */
  id: string;
  /** user@realm, with !tokenid for token calls. */
  user: string;
}

export function parseUpid(upid: string): Upid | undefined {
  const m = UPID.exec(upid);
  if (!m) return undefined;
  return {
    upid,
    node: m[1]!,
    pid: parseInt(m[3]!, 16),
    pstart: parseInt(m[4]!, 16),
    starttime: parseInt(m[5]!, 16),
    type: m[6]!,
    id: m[7]!,
    user: m[8]!,
  };
}

/**
 * Task exit statuses (pve-common upid_read_status / upid_status_is_error): "OK" and
 * "WARNINGS: n" are success; anything else is the error text.
 */
export function exitStatusOk(exitstatus: string | undefined): boolean {
  return exitstatus === 'OK' || /^WARNINGS: \d+$/.test(exitstatus ?? '');
}

/** The worker types a power action can produce, qemu and lxc, direct and HA-managed. */
export const WORKER_TYPES: Record<GuestType, Record<string, string[]>> = {
  qemu: {
    start: ['qmstart', 'hastart'],
    stop: ['qmstop', 'hastop'],
    shutdown: ['qmshutdown', 'hastop'],
    reboot: ['qmreboot'],
  },
  lxc: {
    start: ['vzstart', 'hastart'],
    stop: ['vzstop', 'hastop'],
    shutdown: ['vzshutdown', 'hastop'],
    reboot: ['vzreboot'],
  },
};
