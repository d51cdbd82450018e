/**
 * ProxmoxMCP-Plus's human-formatted text (formatting/theme.py, formatters.py, templates.py and
 * the messages in tools/*.py), in the three styles releases have used:
 *
 * - `ascii` (v0.4.0 and later; the v0.5.2 templates): `[node]`, `[vm]`, `[storage]`, `[config]`,
 *   `[uptime]` tags and `-` bullets;
 * - `emoji` (v0.3.x and earlier, and canvrno/ProxmoxMCP): 🖥️ 🗃️ 📦 💾 ⚙️ ⏳ and `•` bullets;
 * - `bullets` (some builds between the two): the ASCII tags with `•` bullets.
 *
 * Numbers are written the way Python's f-strings write them (round half to even on exact ties).
 */
export type OutputFormat = 'ascii' | 'emoji' | 'bullets';

interface Theme {
  node: string;
  vm: string;
  container: string;
  storage: string;
  config: string;
  uptime: string;
  bullet: string;
  /** Prefixes of the VM action messages (v0.3.x put an emoji before each). */
  action: { started: string; stopped: string; shutdown: string; reset: string; alreadyRunning: string; alreadyStopped: string; cannotReset: string };
  ok: string;
  fail: string;
}

const ASCII: Theme = {
  node: '[node]',
  vm: '[vm]',
  container: '[ct]',
  storage: '[storage]',
  config: '[config]',
  uptime: '[uptime]',
  bullet: '-',
  action: { started: '', stopped: '', shutdown: '', reset: '', alreadyRunning: '', alreadyStopped: '', cannotReset: '' },
  ok: 'OK',
  fail: 'FAIL',
};

const EMOJI: Theme = {
  node: '🖥️',
  vm: '🗃️',
  container: '📦',
  storage: '💾',
  config: '⚙️',
  uptime: '⏳',
  bullet: '•',
  action: { started: '🚀 ', stopped: '🛑 ', shutdown: '💤 ', reset: '🔄 ', alreadyRunning: '🟢 ', alreadyStopped: '🔴 ', cannotReset: '⚠️ ' },
  ok: '✅ OK',
  fail: '❌ FAIL',
};

export function theme(format: OutputFormat): Theme {
  if (format === 'emoji') return EMOJI;
  if (format === 'bullets') return { ...ASCII, bullet: '•' };
  return ASCII;
}

/** Python's `f"{x:.{digits}f}"`: exact ties round to even (JavaScript's toFixed rounds them up). */
export function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  const neg = x < 0 || Object.is(x, -0);
  const long = Math.abs(x).toFixed(Math.min(100, digits + 60));
  const [int = '0', frac = ''] = long.split('.');
  const rest = frac.slice(digits);
  if (!/^50*$/.test(rest)) return (neg && x !== 0 ? '-' : '') + Math.abs(x).toFixed(digits);
  let scaled = BigInt(int + frac.slice(0, digits));
  if (scaled % 2n !== 0n) scaled += 1n;
  const s = scaled.toString().padStart(digits + 1, '0');
  const out = digits > 0 ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s;
  return (neg && scaled !== 0n ? '-' : '') + out;
}

/** formatters.py `format_bytes`: 1024-based units, two decimals. */
export function formatBytes(bytes: number): string {
  let value = Number(bytes) || 0;
  for (const unit of ['B', 'KB', 'MB', 'GB', 'TB']) {
    if (value < 1024) return `${pyFixed(value, 2)} ${unit}`;
    value /= 1024;
  }
  return `${pyFixed(value, 2)} TB`;
}

/** containers.py `_b2h`: binary units with the "i". */
export function formatBinary(bytes: number): string {
  let n = Number(bytes) || 0;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${pyFixed(n, 2)} ${units[i]}`;
}

/**
 * formatters.py `format_uptime`. Python's precedence makes it
 * `("[uptime] " + " ".join(parts)) if parts else "0m"`: under a minute there is no tag.
 */
export function formatUptime(seconds: number, t: Theme): string {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const parts: string[] = [];
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  if (d > 0) parts.push(`${d}d`);
  if (h > 0) parts.push(`${h}h`);
  if (m > 0) parts.push(`${m}m`);
  return parts.length ? `${t.uptime} ${parts.join(' ')}` : '0m';
}

const pct = (used: number, total: number) => pyFixed(total > 0 ? (used / total) * 100 : 0, 1);
const usage = (used: number, total: number) => `${formatBytes(used)} / ${formatBytes(total)} (${pct(used, total)}%)`;
/** Python's str() of a value that may be "N/A", an int or a float. */
const py = (v: unknown) => (v === undefined || v === null ? 'N/A' : typeof v === 'number' && !Number.isInteger(v) ? String(v) : String(v));

export interface NodeRow {
  node: string;
  status: string;
  uptime: number;
  maxcpu: number | 'N/A';
  memory: { used: number; total: number };
  disk?: { used: number; total: number };
}

/** templates.py `node_list`. */
export function nodeList(nodes: NodeRow[], t: Theme): string {
  const out = [`${t.node} Proxmox Nodes`];
  for (const n of nodes) {
    out.push(
      '',
      `${t.node} ${n.node}`,
      `  ${t.bullet} Status: ${n.status.toUpperCase()}`,
      `  ${t.bullet} Uptime: ${formatUptime(n.uptime, t)}`,
      `  ${t.bullet} CPU Cores: ${py(n.maxcpu)}`,
      `  ${t.bullet} Memory: ${usage(n.memory.used, n.memory.total)}`,
    );
    if (n.disk) out.push(`  ${t.bullet} Disk: ${usage(n.disk.used, n.disk.total)}`);
  }
  return out.join('\n');
}

/** templates.py `node_status`: PVE's /nodes/{n}/status has neither `status` nor `maxcpu`. */
export function nodeStatus(node: string, s: { status?: string; uptime?: number; maxcpu?: number | 'N/A'; memory?: { used?: number; total?: number }; disk?: { used: number; total: number } }, t: Theme): string {
  const used = s.memory?.used ?? 0;
  const total = s.memory?.total ?? 0;
  const out = [
    `${t.node} Node: ${node}`,
    `  ${t.bullet} Status: ${(s.status ?? 'unknown').toUpperCase()}`,
    `  ${t.bullet} Uptime: ${formatUptime(s.uptime ?? 0, t)}`,
    `  ${t.bullet} CPU Cores: ${py(s.maxcpu)}`,
    `  ${t.bullet} Memory: ${usage(used, total)}`,
  ];
  if (s.disk) out.push(`  ${t.bullet} Disk: ${usage(s.disk.used, s.disk.total)}`);
  return out.join('\n');
}

export interface VmRow {
  vmid: number | string;
  name: string;
  status: string;
  node: string;
  cpus: number | 'N/A';
  memory: { used: number; total: number };
}

/** templates.py `vm_list`. */
export function vmList(vms: VmRow[], t: Theme): string {
  const out = [`${t.vm} Virtual Machines`];
  for (const v of vms) {
    out.push(
      '',
      `${t.vm} ${v.name} (ID: ${v.vmid})`,
      `  ${t.bullet} Status: ${v.status.toUpperCase()}`,
      `  ${t.bullet} Node: ${v.node}`,
      `  ${t.bullet} CPU Cores: ${py(v.cpus)}`,
      `  ${t.bullet} Memory: ${usage(v.memory.used, v.memory.total)}`,
    );
  }
  return out.join('\n');
}

export interface StorageRow {
  storage: string;
  type: string;
  status: string;
  used: number;
  total: number;
}

/** templates.py `storage_list`. */
export function storageList(rows: StorageRow[], t: Theme): string {
  const out = [`${t.storage} Storage Pools`];
  for (const s of rows) {
    out.push(
      '',
      `${t.storage} ${s.storage}`,
      `  ${t.bullet} Status: ${s.status.toUpperCase()}`,
      `  ${t.bullet} Type: ${s.type}`,
      `  ${t.bullet} Usage: ${usage(s.used, s.total)}`,
    );
  }
  return out.join('\n');
}

/** templates.py `cluster_status`. */
export function clusterStatus(s: { name: string | null | undefined; quorum: unknown; nodes: number; resources: unknown[] }, t: Theme): string {
  const out = [
    `${t.config} Proxmox Cluster`,
    '',
    `  ${t.bullet} Name: ${s.name ?? 'N/A'}`,
    `  ${t.bullet} Quorum: ${s.quorum ? 'OK' : 'NOT OK'}`,
    `  ${t.bullet} Nodes: ${s.nodes}`,
  ];
  if (s.resources.length) out.push(`  ${t.bullet} Resources: ${s.resources.length}`);
  return out.join('\n');
}

export interface ContainerRow {
  vmid: string | null;
  name: string;
  node: string;
  status: string | null;
  cpu_pct?: number;
  mem_bytes?: number;
  maxmem_bytes?: number;
  mem_pct?: number | null;
  cores?: number;
}

/** containers.py `_render_pretty` (v0.5.2: no tag; v0.3/v0.4: 📦 and `•`). */
export function containerList(rows: ContainerRow[], format: OutputFormat): string {
  const t = theme(format);
  const tag = format === 'ascii' ? '' : `${t.container} `;
  const lines = [`${tag}Containers`, ''];
  for (const r of rows) {
    const name = r.name || `ct-${r.vmid}`;
    const mem = Math.trunc(r.mem_bytes ?? 0);
    const maxmem = Math.trunc(r.maxmem_bytes ?? 0);
    lines.push(`${tag}${name} (ID: ${r.vmid})`);
    lines.push(`  ${t.bullet} Status: ${(r.status ?? '').toUpperCase()}`);
    lines.push(`  ${t.bullet} Node: ${r.node || '?'}`);
    lines.push(`  ${t.bullet} CPU: ${pyFixed(r.cpu_pct ?? 0, 1)}%`);
    lines.push(`  ${t.bullet} CPU Cores: ${r.cores ?? 'N/A'}`);
    if (maxmem > 0) {
      const p = typeof r.mem_pct === 'number' ? ` (${pyFixed(r.mem_pct, 1)}%)` : '';
      lines.push(`  ${t.bullet} Memory: ${formatBinary(mem)} / ${formatBinary(maxmem)}${p}`);
    } else {
      lines.push(`  ${t.bullet} Memory: ${formatBinary(mem)} / 0.00 B`);
    }
    lines.push('');
  }
  return lines.join('\n').replace(/\s+$/, '');
}

export interface ActionRow {
  ok: boolean;
  node: string;
  vmid: number;
  name: string;
  message?: string;
  error?: string;
}

/** containers.py `_render_action_result`. */
export function actionResult(title: string, rows: ActionRow[], format: OutputFormat): string {
  const t = theme(format);
  const lines = [format === 'emoji' ? `${t.container} ${title}` : title, ''];
  for (const r of rows) {
    const msg = r.message || r.error || '';
    lines.push(`${r.ok ? t.ok : t.fail} ${r.name || `ct-${r.vmid}`} (ID: ${r.vmid}, node: ${r.node}) ${msg ? `- ${msg}` : ''}`);
  }
  return lines.join('\n').replace(/\s+$/, '');
}

/** A number Python holds as a float: json.dumps writes 5.0, not 5. */
export class PyFloat {
  constructor(readonly value: number) {}
}

export const pyFloat = (v: number) => new PyFloat(v);

function pyNumber(v: number, float: boolean): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (!float) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    // Python: 1e-05, 1.5e+16
    const [m, e] = v.toExponential().split('e');
    const exp = Number(e);
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

/**
 * Python's `json.dumps(data, indent=2, sort_keys=True)`: keys sorted, ", " and ": " separators
 * with the indent, non-ASCII escaped, floats (PyFloat) written with their ".0".
 */
export function pyJson(data: unknown, indent = 2): string {
  const esc = (s: string) => JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const walk = (v: unknown, depth: number): string => {
    const pad = ' '.repeat(indent * (depth + 1));
    const end = ' '.repeat(indent * depth);
    if (v === null || v === undefined) return 'null';
    if (v instanceof PyFloat) return pyNumber(v.value, true);
    if (typeof v === 'number') return pyNumber(v, false);
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'string') return esc(v);
    if (Array.isArray(v)) return v.length ? `[\n${v.map((x) => pad + walk(x, depth + 1)).join(',\n')}\n${end}]` : '[]';
    const keys = Object.keys(v as object)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort();
    return keys.length ? `{\n${keys.map((k) => `${pad}${esc(k)}: ${walk((v as Record<string, unknown>)[k], depth + 1)}`).join(',\n')}\n${end}}` : '{}';
  };
  return walk(data, 0);
}
