/**
 * Compares what two gateways send, limited to what the adapter reads: the paths come from the
 * adapter's own zod schemas (services/moltbot-adapter/src/protocol.ts), so the comparison
 * follows the adapter when it starts reading something new. A shape is, per path, the set of
 * JSON types found there ("string", "number|null", …; "absent" when missing).
 */
import type { z } from 'zod';

type AnySchema = z.ZodType & { inner?: z.ZodType };
type Def = { type: string; shape?: Record<string, AnySchema>; innerType?: AnySchema; element?: AnySchema; options?: AnySchema[]; in?: AnySchema };

const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Every path a schema reads ("auth.scopes", "sessions[].key"), parents before children. */
export function schemaPaths(schema: AnySchema, prefix = ''): string[] {
  if (schema.inner) return schemaPaths(schema.inner, prefix);
  const def = defOf(schema);
  switch (def.type) {
    case 'object': {
      const out: string[] = [];
      for (const [key, child] of Object.entries(def.shape ?? {})) {
        const path = prefix ? `${prefix}.${key}` : key;
        out.push(path, ...schemaPaths(child, path));
      }
      return out;
    }
    case 'array':
      return schemaPaths(def.element!, `${prefix}[]`);
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return schemaPaths(def.innerType!, prefix);
    case 'union':
      return [...new Set((def.options ?? []).flatMap((o) => schemaPaths(o, prefix)))];
    case 'pipe':
      return schemaPaths(def.in!, prefix);
    default:
      return [];
  }
}

function typeName(v: unknown): string {
  if (v === undefined) return 'absent';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** The values at a path; "[]" steps into every element of an array. */
function valuesAt(value: unknown, path: string): unknown[] {
  let current: unknown[] = [value];
  for (const step of path.split('.')) {
    const next: unknown[] = [];
    const key = step.endsWith('[]') ? step.slice(0, -2) : step;
    for (const v of current) {
      const child = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
      if (step.endsWith('[]')) {
        if (Array.isArray(child)) next.push(...child);
      } else next.push(child);
    }
    current = next;
  }
  return current;
}

export type Shape = Record<string, string>;

/** Per path, the JSON types found ("" when an enclosing list is empty: nothing to compare). */
export function shapeOf(value: unknown, paths: string[]): Shape {
  const out: Shape = {};
  for (const path of paths) out[path] = [...new Set(valuesAt(value, path).map(typeName))].sort().join('|');
  return out;
}

const present = (types: string) => types.split('|').filter((t) => t && t !== 'absent');

export interface ShapeDiff {
  /** Both send it, with other types: "path: real number, simulator string". */
  mismatched: string[];
  /** The real gateway sends it; the simulator never does. */
  missingInSim: string[];
  /** The simulator sends it; the real gateway did not (fine for data that depends on what the gateway holds). */
  extraInSim: string[];
}

export function compareShapes(real: Shape, sim: Shape): ShapeDiff {
  const diff: ShapeDiff = { mismatched: [], missingInSim: [], extraInSim: [] };
  for (const path of Object.keys(real)) {
    const r = present(real[path] ?? '');
    const s = present(sim[path] ?? '');
    if (r.length && !s.length) diff.missingInSim.push(path);
    else if (!r.length && s.length) diff.extraInSim.push(path);
    else if (r.join('|') !== s.join('|')) diff.mismatched.push(`${path}: real ${r.join('|')}, simulator ${s.join('|')}`);
  }
  return diff;
}

/** What kinds of events a run sends, in the order each kind first appears ("agent:lifecycle:start", "chat:delta", "res:final"). */
export function runSequence(frames: Array<{ event: string; payload: any } | { res: 'final' }>): string[] {
  const kinds = frames.map((f) => {
    if ('res' in f) return 'res:final';
    const p = f.payload ?? {};
    if (f.event === 'agent') return p.stream === 'lifecycle' ? `agent:lifecycle:${p.data?.phase}` : `agent:${p.stream}`;
    if (f.event === 'chat') return `chat:${p.state}`;
    return f.event;
  });
  return [...new Set(kinds)];
}
