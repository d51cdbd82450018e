/**
 * Proxmox task ids (UPIDs), as pve-common `PVE::UPID` encodes them:
 * `UPID:{node}:{pid %08X}:{pstart %08X}:{starttime %08X}:{type}:{id}:{user}:` — nine colon-separated
 * fields, the last one empty. pstart is the worker's start in clock ticks since boot and grows
 * to 9 hex digits after 497 days of uptime.
 */
export interface UpidParts {
  node: string;
  pid: number;
  pstart: number;
  /** Unix seconds. */
  starttime: number;
  type: string;
  /** The guest's vmid for guest tasks, often empty otherwise. */
  id: string;
  /** `user@realm`, or `user@realm!tokenid` for tasks started with an API token. */
  user: string;
}

/** pve-common `PVE::UPID::decode` (current: no `/` in type, id or user). */
export const UPID_PATTERN =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');

export function encodeUpid(p: UpidParts): string {
  return `UPID:${p.node}:${hex8(p.pid)}:${hex8(p.pstart)}:${hex8(p.starttime)}:${p.type}:${p.id}:${p.user}:`;
}

export function decodeUpid(upid: string): UpidParts | undefined {
  const m = UPID_PATTERN.exec(upid);
  if (!m) return undefined;
  return {
    node: m[1]!,
    pid: parseInt(m[3]!, 16),
    pstart: parseInt(m[4]!, 16),
    starttime: parseInt(m[5]!, 16),
    type: m[6]!,
    id: m[7]!,
    user: m[8]!,
  };
}
