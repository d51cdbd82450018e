/**
 * A tool call in words: its target (the argument that names what it acts on) and its arguments
 * as short lines, for the api's approval summaries and the dashboard's confirmation dialog and
 * Activity panel. Imports nothing, so the dashboard bundles it as is.
 */

/** Argument names that usually say what a tool acts on, most telling first. */
const TARGET_KEYS = ['name', 'vmid', 'vm_id', 'vm', 'container', 'container_id', 'id', 'service', 'host', 'hostname', 'target', 'node', 'path', 'image', 'volume'];

const short = (v: unknown, max = 60): string => {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

/** "vmid 200", "container web", or undefined when no argument names a target. */
export function toolTarget(args: unknown): string | undefined {
  if (!args || typeof args !== 'object' || Array.isArray(args)) return undefined;
  const a = args as Record<string, unknown>;
  for (const k of TARGET_KEYS) {
    const v = a[k];
    if (typeof v === 'string' && v.trim()) return `${k} ${short(v, 40)}`;
    if (typeof v === 'number' && Number.isFinite(v)) return `${k} ${v}`;
  }
  return undefined;
}

/** The arguments as "key: value" lines (at most `max`, values shortened). */
export function argumentLines(args: unknown, max = 8): string[] {
  if (!args || typeof args !== 'object' || Array.isArray(args)) return args === undefined ? [] : [short(args)];
  const entries = Object.entries(args as Record<string, unknown>).filter(([, v]) => v !== undefined && v !== '');
  const lines = entries.slice(0, max).map(([k, v]) => `${k}: ${short(v)}`);
  if (entries.length > max) lines.push(`and ${entries.length - max} more`);
  return lines;
}
