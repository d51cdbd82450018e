import type { GuestRrdPoint, NodeRrdPoint } from './gen/molten/v1/queries.js';

/**
 * Every column of a guest's and a node's history, in Proxmox's rrddata names (which are the
 * messages' field names): the proxmox-adapter reads these from Proxmox, the api answers them as
 * columns (`GET /api/vms/{vmid}/rrd`, `GET /api/nodes/{node}/rrd`).
 */
export const GUEST_RRD_COLUMNS = ['cpu', 'maxcpu', 'mem', 'maxmem', 'disk', 'maxdisk', 'netin', 'netout', 'diskread', 'diskwrite', 'memhost'] as const;
export const NODE_RRD_COLUMNS = [
  'cpu', 'maxcpu', 'iowait', 'loadavg', 'memtotal', 'memused', 'memavailable', 'swaptotal', 'swapused', 'roottotal', 'rootused', 'netin', 'netout', 'arcsize',
] as const;

// Each list is exactly its message's fields but `time`: a field added to (or dropped from) the
// message and not to the list fails here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const guestColumnsComplete: Same<(typeof GUEST_RRD_COLUMNS)[number], Exclude<keyof GuestRrdPoint, 'time'>> = true;
const nodeColumnsComplete: Same<(typeof NODE_RRD_COLUMNS)[number], Exclude<keyof NodeRrdPoint, 'time'>> = true;
void guestColumnsComplete;
void nodeColumnsComplete;
