import type { Node } from '@molten/contracts';
import { ParseError, need, readBlocks, type Entry } from './lines.js';
import { parseCount, parseUptime, parseUsage } from './sizes.js';

/**
 * get_nodes and get_node_status (templates.py node_list / node_status) → Node messages.
 *
 * What the text cannot give, or gives rounded, is listed in `imprecise`: memory and disk
 * (two decimals of a 1024 unit), uptime (to the minute), CPU load (not printed), CPU cores when
 * "N/A", the status when "UNKNOWN" (get_node_status always prints it: PVE's node status has no
 * such field).
 */
const STATUSES = new Set(['online', 'offline', 'unknown']);

function nodeFrom(tool: string, cluster: string, name: string, e: Pick<Entry, 'props' | 'lineNo' | 'line'>): Node {
  const imprecise = new Set<string>(['cpu']);
  const statusProp = need(tool, e, 'Status');
  const status = statusProp.value.toLowerCase();
  if (!STATUSES.has(status)) throw new ParseError(tool, statusProp.lineNo, statusProp.line, 'expected ONLINE, OFFLINE or UNKNOWN');
  if (status === 'unknown') imprecise.add('status');

  const uptimeProp = need(tool, e, 'Uptime');
  const uptime = parseUptime(uptimeProp.value);
  if (!uptime) throw new ParseError(tool, uptimeProp.lineNo, uptimeProp.line, 'expected an uptime like "3d 4h 5m" or "0m"');
  // An offline node's "0m" is exact; a running one's is to the minute.
  if (status !== 'offline' || uptime.value > 0) imprecise.add('uptime');

  const coresProp = need(tool, e, 'CPU Cores');
  const cores = parseCount(coresProp.value);
  if (cores === null) throw new ParseError(tool, coresProp.lineNo, coresProp.line, 'expected a number of cores or N/A');
  if (cores === undefined) imprecise.add('maxcpu');

  const memProp = need(tool, e, 'Memory');
  const mem = parseUsage(memProp.value);
  if (!mem) throw new ParseError(tool, memProp.lineNo, memProp.line, 'expected "used / total (percent%)"');
  if (mem.used.imprecise) imprecise.add('mem');
  if (mem.total.imprecise) imprecise.add('maxmem');

  let disk = 0;
  let maxdisk = 0;
  const diskProp = e.props.get('disk');
  if (diskProp) {
    const d = parseUsage(diskProp.value);
    if (!d) throw new ParseError(tool, diskProp.lineNo, diskProp.line, 'expected "used / total (percent%)"');
    disk = d.used.value;
    maxdisk = d.total.value;
    if (d.used.imprecise) imprecise.add('disk');
    if (d.total.imprecise) imprecise.add('maxdisk');
  } else {
    imprecise.add('disk').add('maxdisk');
  }
  return {
    cluster,
    node: name,
    status,
    cpu: 0,
    maxcpu: cores ?? 0,
    mem: mem.used.value,
    maxmem: mem.total.value,
    disk,
    maxdisk,
    uptime: uptime.value,
    level: '',
    loadavg: [],
    imprecise: ORDER.filter((k) => imprecise.has(k)),
  };
}

const ORDER = ['status', 'cpu', 'maxcpu', 'mem', 'maxmem', 'disk', 'maxdisk', 'uptime'];

/** get_nodes: "[node] Proxmox Nodes", then one entry per node. */
export function parseNodes(text: string, cluster: string): Node[] {
  const tool = 'get_nodes';
  const b = readBlocks(tool, text, /Proxmox Nodes$/);
  return b.entries.map((e) => {
    if (!/^\S+$/.test(e.header)) throw new ParseError(tool, e.lineNo, e.line, 'expected a node name');
    return nodeFrom(tool, cluster, e.header, e);
  });
}

/** get_node_status: "[node] Node: pve1" and its lines. */
export function parseNodeStatus(text: string, cluster: string): Node {
  const tool = 'get_node_status';
  const b = readBlocks(tool, text, /^Node: \S+$/);
  const name = /^Node: (\S+)$/.exec(b.title)![1]!;
  if (b.entries.length) throw new ParseError(tool, b.entries[0]!.lineNo, b.entries[0]!.line, 'expected only the node\'s own lines');
  return nodeFrom(tool, cluster, name, { props: b.props, lineNo: b.titleLine, line: b.title });
}
