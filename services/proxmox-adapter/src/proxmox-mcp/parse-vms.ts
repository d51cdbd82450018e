import type { Guest, GuestType } from '@molten/contracts';
import { z } from 'zod';
import { ParseError, nameAndId, need, normalise, readBlocks } from './lines.js';
import { parseCount, parsePercent, parseUsage } from './sizes.js';

/**
 * get_vms (templates.py vm_list) and get_containers (containers.py: JSON with
 * format_style="json", or its pretty text) → Guest messages, as the pve driver makes them.
 *
 * Neither names disk, uptime, tags, lock, template, HA state, pool or I/O counters: those are 0
 * or empty and listed in `imprecise`, with memory when rounded and CPU cores when "N/A".
 */
const NOT_GIVEN = ['disk', 'maxdisk', 'uptime', 'tags', 'lock', 'template', 'hastate', 'pool', 'netin', 'netout', 'diskread', 'diskwrite'];
const ORDER = ['status', 'cpu', 'maxcpu', 'mem', 'maxmem', ...NOT_GIVEN];
const GUEST_STATUSES = new Set(['running', 'stopped', 'unknown']);

function guest(cluster: string, g: { vmid: number; name: string; node: string; type: GuestType; status: string; cpu: number; maxcpu: number; mem: number; maxmem: number }, imprecise: Set<string>): Guest {
  // Like /cluster/resources, a running VM's QMP status ("paused", …) stands in its status.
  const raw = g.status.toLowerCase() || 'unknown';
  const qmp = g.type === 'qemu' && !GUEST_STATUSES.has(raw) ? raw : undefined;
  for (const k of NOT_GIVEN) imprecise.add(k);
  return {
    cluster,
    vmid: g.vmid,
    name: g.name,
    node: g.node,
    type: g.type,
    status: qmp ? 'running' : raw,
    qmpstatus: g.type === 'qemu' ? (qmp ?? raw) : undefined,
    cpu: g.cpu,
    maxcpu: g.maxcpu,
    mem: g.mem,
    maxmem: g.maxmem,
    disk: 0,
    maxdisk: 0,
    uptime: 0,
    tags: [],
    lock: undefined,
    template: false,
    hastate: undefined,
    pool: undefined,
    netin: 0,
    netout: 0,
    diskread: 0,
    diskwrite: 0,
    imprecise: ORDER.filter((k) => imprecise.has(k)),
  };
}

/** get_vms: "[vm] Virtual Machines", then "[vm] name (ID: 100)" entries (qemu only). */
export function parseVms(text: string, cluster: string): Guest[] {
  const tool = 'get_vms';
  const b = readBlocks(tool, text, /Virtual Machines$/);
  return b.entries.map((e) => {
    const { name, vmid } = nameAndId(tool, e);
    const status = need(tool, e, 'Status');
    if (!/^[A-Z_-]+$/i.test(status.value)) throw new ParseError(tool, status.lineNo, status.line, 'expected a status like RUNNING');
    const node = need(tool, e, 'Node').value;
    const coresProp = need(tool, e, 'CPU Cores');
    const cores = parseCount(coresProp.value);
    if (cores === null) throw new ParseError(tool, coresProp.lineNo, coresProp.line, 'expected a number of cores or N/A');
    const memProp = need(tool, e, 'Memory');
    const mem = parseUsage(memProp.value);
    if (!mem) throw new ParseError(tool, memProp.lineNo, memProp.line, 'expected "used / total (percent%)"');
    const imprecise = new Set<string>(['cpu']);
    if (cores === undefined) imprecise.add('maxcpu');
    if (mem.used.imprecise) imprecise.add('mem');
    if (mem.total.imprecise) imprecise.add('maxmem');
    return guest(cluster, { vmid, name, node, type: 'qemu', status: status.value, cpu: 0, maxcpu: cores ?? 0, mem: mem.used.value, maxmem: mem.total.value }, imprecise);
  });
}

const num = z.number().finite();
const containerRow = z
  .object({
    vmid: z.union([z.string().regex(/^\d+$/), z.number().int()]).transform(Number),
    name: z.string().nullish(),
    node: z.string(),
    status: z.string().nullish(),
    cpu_pct: num.nullish(),
    mem_bytes: num.nullish(),
    maxmem_bytes: num.nullish(),
    mem_pct: num.nullish(),
    cores: num.nullish(),
    unlimited_memory: z.boolean().nullish(),
  })
  .passthrough();

/** get_containers with format_style="json": `json.dumps(rows, indent=2, sort_keys=True)`. */
export function parseContainersJson(text: string, cluster: string): Guest[] {
  const tool = 'get_containers';
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const first = normalise(text).find((l) => l.trim() !== '') ?? '';
    throw new ParseError(tool, 1, first, `expected JSON (format_style="json"): ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new ParseError(tool, 0, text.slice(0, 80), 'expected a JSON list of containers');
  return data.map((row, i) => {
    const r = containerRow.safeParse(row);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new ParseError(tool, 0, JSON.stringify(row).slice(0, 120), `container #${i + 1}: ${issue.path.join('.') || 'row'} ${issue.message}`);
    }
    const c = r.data;
    const imprecise = new Set<string>();
    // cpu_pct is rounded to two decimals of a percent (only an idle 0 is exact).
    if (c.cpu_pct === undefined || c.cpu_pct === null || c.cpu_pct !== 0) imprecise.add('cpu');
    if (c.cores === undefined || c.cores === null) imprecise.add('maxcpu');
    if (c.mem_bytes === undefined || c.mem_bytes === null) imprecise.add('mem');
    if (c.maxmem_bytes === undefined || c.maxmem_bytes === null || c.unlimited_memory) imprecise.add('maxmem');
    return guest(
      cluster,
      {
        vmid: c.vmid,
        name: c.name ?? `ct-${c.vmid}`,
        node: c.node,
        type: 'lxc',
        status: c.status ?? 'unknown',
        cpu: Number(`${c.cpu_pct ?? 0}e-2`),
        maxcpu: c.cores ?? 0,
        mem: Math.round(c.mem_bytes ?? 0),
        maxmem: Math.round(c.maxmem_bytes ?? 0),
      },
      imprecise,
    );
  });
}

/** get_containers' pretty text: "Containers" (v0.5), "📦 Containers" (v0.3–v0.4), or "[ct] No containers found". */
export function parseContainersPretty(text: string, cluster: string): Guest[] {
  const tool = 'get_containers';
  const b = readBlocks(tool, text, /(?:^|\s)(Containers|No containers found)$/);
  if (/No containers found$/.test(b.title)) return [];
  return b.entries.map((e) => {
    const { name, vmid } = nameAndId(tool, e);
    const status = need(tool, e, 'Status').value;
    const node = need(tool, e, 'Node').value;
    const imprecise = new Set<string>();
    let cpu = 0;
    const cpuProp = e.props.get('cpu');
    if (cpuProp) {
      const p = parsePercent(cpuProp.value);
      if (p === undefined) throw new ParseError(tool, cpuProp.lineNo, cpuProp.line, 'expected a percentage');
      cpu = p;
    }
    imprecise.add('cpu');
    const coresProp = need(tool, e, 'CPU Cores');
    const cores = parseCount(coresProp.value);
    if (cores === null) throw new ParseError(tool, coresProp.lineNo, coresProp.line, 'expected a number of cores or N/A');
    if (cores === undefined) imprecise.add('maxcpu');
    const memProp = need(tool, e, 'Memory');
    const mem = parseUsage(memProp.value);
    if (!mem) throw new ParseError(tool, memProp.lineNo, memProp.line, 'expected "used / total" or "used (unlimited)"');
    if (mem.used.imprecise) imprecise.add('mem');
    if (mem.total.imprecise || mem.unlimited) imprecise.add('maxmem');
    return guest(cluster, { vmid, name, node, type: 'lxc', status: status || 'unknown', cpu, maxcpu: cores ?? 0, mem: mem.used.value, maxmem: mem.total.value }, imprecise);
  });
}
