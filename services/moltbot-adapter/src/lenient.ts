import type { z } from 'zod';

/**
 * Parses what a gateway sent so that one field of an unexpected shape costs that field, not the
 * whole frame: the part that does not fit is dropped and named, and the rest is used. What the
 * schema requires stays required: a required field that does not fit removes the object holding
 * it (a row of a list, or an optional part such as hello-ok's `auth`), and when nothing above it
 * can go, the parse fails. Gateways add and change fields between releases (openclaw 2026.9
 * sends keys Moltbot never did); the adapter keeps working with what it understands.
 */
export type LenientResult<T> = { success: true; data: T; dropped: string[] } | { success: false; error: z.ZodError; dropped: string[] };

type Path = PropertyKey[];

/** Each round climbs one level at most; frames are not deeper than this. */
const MAX_ROUNDS = 20;

export function parseLenient<T>(schema: z.ZodType<T>, value: unknown): LenientResult<T> {
  let current = value;
  const dropped: string[] = [];
  for (let round = 0; ; round++) {
    const r = schema.safeParse(current);
    if (r.success) return { success: true, data: r.data, dropped };
    const targets = r.error.issues.map((issue) => {
      // A missing required field cannot be dropped: its container goes instead.
      const missing = issue.code === 'invalid_type' && valueAt(current, issue.path) === undefined;
      return { path: missing ? issue.path.slice(0, -1) : issue.path, message: issue.message };
    });
    if (round === MAX_ROUNDS || targets.some((t) => t.path.length === 0)) return { success: false, error: r.error, dropped };
    // Highest array index first, so removing an element never shifts one still to be removed.
    targets.sort((a, b) => comparePaths(b.path, a.path));
    let next = current;
    for (const t of targets) {
      if (valueAt(next, t.path) === undefined) continue;
      next = without(next, t.path);
      dropped.push(`${describe(t.path)} (${t.message})`);
    }
    current = next;
  }
}

function comparePaths(a: Path, b: Path): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** A copy of root without the value at path (an array loses the element). */
function without(root: unknown, path: Path): unknown {
  const [key, ...rest] = path;
  if (key === undefined || root === null || typeof root !== 'object') return root;
  if (Array.isArray(root)) {
    const i = Number(key);
    return rest.length === 0 ? root.filter((_, j) => j !== i) : root.map((el, j) => (j === i ? without(el, rest) : el));
  }
  const obj = root as Record<PropertyKey, unknown>;
  if (rest.length === 0) {
    const { [key]: _gone, ...kept } = obj;
    return kept;
  }
  return { ...obj, [key]: without(obj[key], rest) };
}

function describe(path: Path): string {
  return path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '');
}
