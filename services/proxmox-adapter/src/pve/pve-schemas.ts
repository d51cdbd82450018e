import { z } from 'zod';

/**
 * zod schemas that accept what Proxmox really sends: booleans as 0/1 (or true/false, or "1"),
 * numbers that are sometimes strings (vmid on older lxc lists), keys omitted rather than null,
 * and unknown keys accepted (new PVE versions add fields). The big per-poll rows of
 * /cluster/resources are checked by resource-rows.ts, row by row and only when they changed.
 */
export const bool01 = z
  .union([z.boolean(), z.number(), z.string()])
  .transform((v) => v === true || v === 1 || v === '1' || v === 'true');
export const num = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?(e[-+]?\d+)?$/i).transform(Number)]);
const optNum = num.optional();

/** The figures a guest's status/current carries (the same names as in /cluster/resources rows). */
const guestFigures = {
  name: z.string().optional(),
  vmid: num.optional(),
  cpu: optNum,
  mem: optNum,
  maxmem: optNum,
  disk: optNum,
  maxdisk: optNum,
  uptime: optNum,
  netin: optNum,
  netout: optNum,
  diskread: optNum,
  diskwrite: optNum,
  template: bool01.optional(),
  tags: z.string().optional(),
  lock: z.string().optional(),
};

export const clusterStatusRow = z
  .object({
    type: z.string(),
    id: z.string(),
    name: z.string(),
    nodes: optNum,
    quorate: bool01.optional(),
    version: optNum,
    nodeid: optNum,
    ip: z.string().optional(),
    online: bool01.optional(),
    local: bool01.optional(),
    level: z.string().optional(),
  })
  .passthrough();

export const nodeStatus = z
  .object({
    cpu: optNum,
    cpuinfo: z.object({ model: z.string().optional(), cpus: optNum, cores: optNum, sockets: optNum }).passthrough().optional(),
    memory: z.object({ total: optNum, used: optNum, free: optNum }).passthrough().optional(),
    rootfs: z.object({ total: optNum, used: optNum, avail: optNum }).passthrough().optional(),
    uptime: optNum,
    loadavg: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
    pveversion: z.string().optional(),
    kversion: z.string().optional(),
  })
  .passthrough();

export const guestCurrent = z
  .object({
    ...guestFigures,
    status: z.string(),
    qmpstatus: z.string().optional(),
    cpus: optNum,
    ha: z.object({ managed: bool01.optional(), state: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();
export type GuestCurrent = z.infer<typeof guestCurrent>;

export const storageRow = z
  .object({
    storage: z.string(),
    type: z.string().optional(),
    content: z.string().optional(),
    active: bool01.optional(),
    enabled: bool01.optional(),
    shared: bool01.optional(),
    total: optNum,
    used: optNum,
    avail: optNum,
    used_fraction: optNum,
  })
  .passthrough();

export const taskStatus = z
  .object({
    status: z.string(),
    exitstatus: z.string().optional(),
    upid: z.string().optional(),
    type: z.string().optional(),
    id: z.string().optional(),
    user: z.string().optional(),
    node: z.string().optional(),
    starttime: optNum,
    endtime: optNum,
  })
  .passthrough();
export type TaskStatus = z.infer<typeof taskStatus>;

export const taskListRow = z
  .object({
    upid: z.string(),
    type: z.string(),
    id: z.string().optional(),
    user: z.string().optional(),
    node: z.string().optional(),
    starttime: num,
    endtime: optNum,
    status: z.string().optional(),
  })
  .passthrough();

export const taskLogLine = z.object({ n: num, t: z.string() }).passthrough();

// ---- the guest page's reads (shapes from pve-docs apidata.js, see shared/upstreams) ----

/** A point of a guest's or a node's rrddata, with the columns Molten keeps (GUEST_RRD_COLUMNS, NODE_RRD_COLUMNS of @molten/contracts; PVE 8 and 9). */
export type RrdPointOf<K extends string> = { time: number } & Partial<Record<K, number>>;

const NUMERIC = /^-?\d+(\.\d+)?(e[-+]?\d+)?$/i;

/**
 * An rrddata answer's points, keeping the given columns: `time` (whole seconds) and each column
 * RRD had a value for. A column Proxmox left out stays missing (a gap), never 0. Values are
 * numbers, or numbers written as strings; anything else is dropped. Checked in one plain loop: a
 * day of PVE 9 history is 1,440 points of a dozen columns, and a schema per key cost ten times
 * the JSON parse. A bad point is named by its index.
 */
export function rrdPoints<K extends string>(keys: readonly K[]) {
  return z.array(z.unknown()).transform((rows, ctx) => {
    const out: RrdPointOf<K>[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        ctx.addIssue({ code: 'custom', message: 'rrddata point is not an object', path: [i] });
        return z.NEVER;
      }
      const time = rrdNumber(row, 'time');
      if (time === undefined) {
        ctx.addIssue({ code: 'custom', message: 'rrddata point without time', path: [i] });
        return z.NEVER;
      }
      const point: Record<string, number> = { time: Math.trunc(time) };
      for (const k of keys) {
        const n = rrdNumber(row, k);
        if (n !== undefined) point[k] = n;
      }
      out[i] = point as RrdPointOf<K>;
    }
    return out;
  });
}

/** The keys read are fixed column names, none of them on Object.prototype, and JSON.parse makes own properties. */
function rrdNumber(row: object, key: string): number | undefined {
  const v = (row as Record<string, unknown>)[key];
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && NUMERIC.test(v) ? Number(v) : undefined;
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}

/** GET …/config: flat key → value; values are strings or numbers (booleans as 0/1). */
export const guestConfig = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).or(z.array(z.unknown())).or(z.null()));

const agentAddress = z
  .object({ 'ip-address': z.string().optional(), 'ip-address-type': z.string().optional(), prefix: optNum })
  .passthrough();

/** The guest agent's network-get-interfaces answer: `{result: [...]}` (QGA's shape). */
export const agentInterfaces = z
  .object({
    result: z.array(
      z.object({ name: z.string(), 'hardware-address': z.string().optional(), 'ip-addresses': z.array(agentAddress).optional() }).passthrough(),
    ),
  })
  .passthrough();

/** GET …/lxc/{vmid}/interfaces: null for a stopped container. */
export const lxcInterfaces = z
  .array(
    z
      .object({
        name: z.string(),
        'hardware-address': z.string().optional(),
        hwaddr: z.string().optional(),
        inet: z.string().optional(),
        inet6: z.string().optional(),
        'ip-addresses': z.array(agentAddress).optional(),
      })
      .passthrough(),
  )
  .nullable();

export const snapshotRow = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    snaptime: optNum,
    parent: z.string().optional(),
    vmstate: bool01.optional(),
    snapstate: z.string().optional(),
    running: bool01.optional(),
    digest: z.string().optional(),
  })
  .passthrough();

export const haStatusRow = z
  .object({
    id: z.string(),
    type: z.string(),
    node: z.string().optional(),
    status: z.string().optional(),
    sid: z.string().optional(),
    state: z.string().optional(),
    crm_state: z.string().optional(),
    request_state: z.string().optional(),
    max_restart: optNum,
    max_relocate: optNum,
    quorate: bool01.optional(),
    'armed-state': z.string().optional(),
    timestamp: optNum,
  })
  .passthrough();

export const version = z.object({ version: z.string(), release: z.string().optional(), repoid: z.string().optional() }).passthrough();

const makeEnvelope = <T extends z.ZodType>(data: T) => z.object({ data, errors: z.record(z.string(), z.string()).optional() }).passthrough();
/** Built once per data schema: a zod object costs more to build (and compile on first use) than to check. */
const envelopes = new WeakMap<z.ZodType, unknown>();

/** The {"data": …} envelope every /api2/json answer has. */
export function envelope<T extends z.ZodType>(data: T): ReturnType<typeof makeEnvelope<T>> {
  let e = envelopes.get(data) as ReturnType<typeof makeEnvelope<T>> | undefined;
  if (!e) envelopes.set(data, (e = makeEnvelope(data)));
  return e;
}

/** Proxmox's `;`-separated tags (older versions used `,` or spaces too). */
export function splitTags(tags: string | undefined): string[] {
  if (!tags) return [];
  return tags
    .split(/[;, ]+/)
    .map((t) => t.trim())
    .filter(Boolean);
}
