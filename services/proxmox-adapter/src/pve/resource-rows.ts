import { setImmediate as yieldTurn } from 'node:timers/promises';
import { UpstreamError } from '../upstream-error.js';
import { COUNTERS } from '../state-diff.js';
import { BodyBuffer, type BodySink } from './http-request.js';

/**
 * One row of GET /cluster/resources, as Molten keeps it: Proxmox's 0/1 booleans as booleans,
 * numbers sent as strings as numbers, keys Molten does not use left out.
 */
export interface ResourceRow {
  id: string;
  type: string;
  node?: string;
  status?: string;
  name?: string;
  vmid?: number;
  cpu?: number;
  mem?: number;
  maxmem?: number;
  disk?: number;
  maxdisk?: number;
  uptime?: number;
  netin?: number;
  netout?: number;
  diskread?: number;
  diskwrite?: number;
  template?: boolean;
  tags?: string;
  lock?: string;
  maxcpu?: number;
  hastate?: string;
  pool?: string;
  level?: string;
  storage?: string;
  plugintype?: string;
  content?: string;
  shared?: boolean;
}

const NUMERIC = /^-?\d+(\.\d+)?(e[-+]?\d+)?$/i;

const shown = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeof v === 'object' ? 'an object' : String(v));

/**
 * Checks one /cluster/resources row and keeps what Molten uses. What Proxmox really sends is
 * accepted: booleans as 0/1 (or true/false, "1"), numbers written as strings (vmid on older lxc
 * lists), keys left out rather than null, and keys Molten does not know (new PVE versions add
 * some). A plain loop, not a schema: thousands of rows are checked per poll. Throws an Error
 * naming the field.
 */
export function checkResourceRow(raw: unknown): ResourceRow {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`expected an object, got ${shown(raw)}`);
  const r = raw as Record<string, unknown>;
  // One literal of one shape (absent keys undefined): rows of a poll share a hidden class.
  return {
    id: str(r, 'id', true)!,
    type: str(r, 'type', true)!,
    node: str(r, 'node'),
    status: str(r, 'status'),
    name: str(r, 'name'),
    vmid: num(r, 'vmid'),
    cpu: num(r, 'cpu'),
    mem: num(r, 'mem'),
    maxmem: num(r, 'maxmem'),
    disk: num(r, 'disk'),
    maxdisk: num(r, 'maxdisk'),
    uptime: num(r, 'uptime'),
    netin: num(r, 'netin'),
    netout: num(r, 'netout'),
    diskread: num(r, 'diskread'),
    diskwrite: num(r, 'diskwrite'),
    template: bool01(r, 'template'),
    tags: str(r, 'tags'),
    lock: str(r, 'lock'),
    maxcpu: num(r, 'maxcpu'),
    hastate: str(r, 'hastate'),
    pool: str(r, 'pool'),
    level: str(r, 'level'),
    storage: str(r, 'storage'),
    plugintype: str(r, 'plugintype'),
    content: str(r, 'content'),
    shared: bool01(r, 'shared'),
  };
}

function str(r: Record<string, unknown>, key: string, required = false): string | undefined {
  const v = r[key];
  if (typeof v === 'string' || (v === undefined && !required)) return v;
  throw new Error(`${key}: expected a string, got ${shown(v)}`);
}

function num(r: Record<string, unknown>, key: string): number | undefined {
  const v = r[key];
  if (typeof v === 'number' || v === undefined) return v;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  throw new Error(`${key}: expected a number, got ${shown(v)}`);
}

function bool01(r: Record<string, unknown>, key: string): boolean | undefined {
  const v = r[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean' && typeof v !== 'number' && typeof v !== 'string') throw new Error(`${key}: expected 0/1 or a boolean, got ${shown(v)}`);
  return v === true || v === 1 || v === '1' || v === 'true';
}

/** One answer's rows: the built item of each row (undefined for rows of no interest) and its type. */
export interface RowsRead<T> {
  count: number;
  types: readonly string[];
  items: readonly (T | undefined)[];
  /** Rows that differed from the previous answer: parsed, checked and built again. */
  parsed: number;
  /** Rows that gave their earlier item although counters in them moved (see read()). */
  counters: number;
}

interface Kept<T> {
  body: Buffer;
  starts: number[];
  ends: number[];
  ids: string[];
  types: string[];
  items: (T | undefined)[];
}

/** The row types Molten builds, as constants: a row's type string is kept for every row. */
const TYPE_NAMES: Record<string, string> = { qemu: 'qemu', lxc: 'lxc', node: 'node', storage: 'storage', pool: 'pool', sdn: 'sdn' };

/** Check, parse and build rows in slices of this many, letting other work (commands) run in between. */
const SLICE = 1_000;

/**
 * Reads GET /cluster/resources answers one after another, comparing each row's bytes with the
 * previous answer's before anything is built: an unchanged row is neither parsed nor checked
 * again, and gives the very object it gave before (the publisher then skips it with one
 * lookup). Only rows that changed are parsed, checked and built. What is kept between polls is
 * the previous answer's bytes (in one of two buffers reused from poll to poll: see sink()), the
 * rows' places in them and the built items — no parsed copy.
 *
 * A row counts as unchanged when its bytes equal those of the row at the same place in the
 * previous answer, or of the previous row with the same id (rows moved by an added or removed
 * guest). An answer of another shape than `{"data":[…]}` is parsed whole and built afresh.
 */
export class ResourceRows<T> {
  #kept: Kept<T> | undefined;
  #index: Map<string, number> | undefined;
  readonly #bodies = [new BodyBuffer(), new BodyBuffer()] as const;

  constructor(private readonly build: (row: ResourceRow) => T | undefined) {}

  /** Forgets the previous answer: the next one is built whole. */
  forget(): void {
    this.#kept = undefined;
    this.#index = undefined;
  }

  /**
   * Where to gather the next answer: the one of two buffers that does not hold the previous
   * answer (kept for the comparison). Nothing is allocated per poll once they are big enough.
   */
  sink(): BodySink {
    const keptIn = this.#kept && this.#bodies.find((b) => b.holds(this.#kept!.body));
    return keptIn === this.#bodies[0] ? this.#bodies[1] : this.#bodies[0];
  }

  /**
   * Reads one answer. `reuse`, when given, lets a row whose only changes are its counters —
   * uptime grown, network and disk totals moved (COUNTERS), keys Molten does not read — give
   * its earlier item again without being parsed, when reuse(item) says that item is still
   * the one that counts (for a guest: the one last published, which a reading differing only
   * in counters would not replace). Otherwise such a row is parsed and built like any other.
   */
  async read(body: Buffer, reuse?: (item: T, type: string) => boolean): Promise<RowsRead<T>> {
    const kept = this.#kept;
    if (kept && body.equals(kept.body)) return { count: kept.ids.length, types: kept.types, items: kept.items, parsed: 0, counters: 0 };
    const starts: number[] = [];
    const ends: number[] = [];
    if (!rowSpans(body, starts, ends)) return this.#readWhole(body);
    const count = starts.length;
    const ids = new Array<string>(count);
    const types = new Array<string>(count);
    const items = new Array<T | undefined>(count);
    let parsed = 0;
    let counters = 0;
    const keep = (k: number, j: number) => {
      ids[k] = kept!.ids[j]!;
      types[k] = kept!.types[j]!;
      items[k] = kept!.items[j];
    };
    for (let k = 0; k < count; k++) {
      const s = starts[k]!;
      const e = ends[k]!;
      if (kept && k < kept.ids.length) {
        const ks = kept.starts[k]!;
        const ke = kept.ends[k]!;
        if (sameBytes(body, s, e, kept.body, ks, ke)) {
          keep(k, k);
          continue;
        }
        // The same row (its id is compared as a value) with only counters moved.
        const item = kept.items[k];
        if (reuse && item !== undefined && sameButCounters(kept.body, ks, ke, body, s, e) && reuse(item, kept.types[k]!)) {
          keep(k, k);
          counters++;
          continue;
        }
      }
      if (++parsed % SLICE === 0) await yieldTurn();
      let raw: unknown;
      try {
        raw = JSON.parse(body.toString('utf8', s, e));
      } catch {
        throw unexpected(`row ${k}: not JSON`);
      }
      const row = checkRow(raw, k);
      ids[k] = row.id;
      types[k] = TYPE_NAMES[row.type] ?? row.type;
      // Moved, not changed: the same bytes under the same id elsewhere in the previous answer.
      const j = kept && kept.ids[k] !== row.id ? this.#indexOf(kept, row.id) : -1;
      items[k] = kept && j >= 0 && sameBytes(body, s, e, kept.body, kept.starts[j]!, kept.ends[j]!) ? kept.items[j] : this.build(row);
    }
    this.#kept = { body, starts, ends, ids, types, items };
    this.#index = undefined;
    return { count, types, items, parsed, counters };
  }

  /** Any other shape: parsed whole (the errors name what is wrong), nothing compared or kept. */
  async #readWhole(body: Buffer): Promise<RowsRead<T>> {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      throw unexpected('not JSON');
    }
    const data = typeof doc === 'object' && doc !== null ? (doc as { data?: unknown }).data : undefined;
    if (!Array.isArray(data)) throw unexpected(`data: expected an array, got ${shown(data)}`);
    const types: string[] = [];
    const items: (T | undefined)[] = [];
    for (let k = 0; k < data.length; k++) {
      if (k > 0 && k % SLICE === 0) await yieldTurn();
      const row = checkRow(data[k], k);
      types.push(TYPE_NAMES[row.type] ?? row.type);
      items.push(this.build(row));
    }
    this.forget();
    return { count: data.length, types, items, parsed: data.length, counters: 0 };
  }

  #indexOf(kept: Kept<T>, id: string): number {
    if (!this.#index) {
      this.#index = new Map();
      kept.ids.forEach((rowId, k) => this.#index!.set(rowId, k));
    }
    return this.#index.get(id) ?? -1;
  }
}

function checkRow(raw: unknown, k: number): ResourceRow {
  try {
    return checkResourceRow(raw);
  } catch (err) {
    const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? ` (${(raw as { id: string }).id})` : '';
    throw unexpected(`row ${k}${id}: ${(err as Error).message}`);
  }
}

const unexpected = (problem: string) => new UpstreamError({ code: 'upstream', message: `unexpected answer from GET /cluster/resources: ${problem}` });

function sameBytes(a: Buffer, as: number, ae: number, b: Buffer, bs: number, be: number): boolean {
  return ae - as === be - bs && a.compare(b, bs, be, as, ae) === 0;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const DATA_KEY = Buffer.from('"data"');

/**
 * Where each row of a `{"data":[{…},{…}]}` answer starts and ends (end exclusive), found by
 * walking the bytes once (strings skipped, brackets counted). False when the answer has another
 * shape (another key, a row that is not an object, anything after the array): the caller then
 * parses it whole. Rows are not checked here; a row that is not valid JSON fails its parse.
 */
export function rowSpans(b: Buffer, starts: number[], ends: number[]): boolean {
  const n = b.length;
  let i = skipSpace(b, 0);
  if (b[i++] !== OPEN_OBJECT) return false;
  i = skipSpace(b, i);
  if (i + DATA_KEY.length > n || b.compare(DATA_KEY, 0, DATA_KEY.length, i, i + DATA_KEY.length) !== 0) return false;
  i = skipSpace(b, i + DATA_KEY.length);
  if (b[i++] !== 0x3a) return false; // ':'
  i = skipSpace(b, i);
  if (b[i++] !== OPEN_ARRAY) return false;
  // One flat loop over the array (megabytes at every poll): depth 0 is between rows, where only
  // spaces and one comma between two rows may stand.
  let depth = 0;
  let inString = false;
  /** Between rows: 0 before the first row, 1 after a row, 2 after its comma. */
  let between = 0;
  for (; i < n; i++) {
    const c = b[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      if (depth === 0) return false;
      inString = true;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth++ === 0) {
        if (c !== OPEN_OBJECT || between === 1) return false;
        starts.push(i);
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth === 0) {
        if (c !== CLOSE_ARRAY || between === 2) return false;
        break;
      }
      if (--depth === 0) {
        ends.push(i + 1);
        between = 1;
      }
    } else if (depth === 0) {
      if (c === COMMA && between === 1) between = 2;
      else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
    }
  }
  if (i >= n) return false;
  i = skipSpace(b, i + 1);
  if (b[i++] !== CLOSE_OBJECT) return false;
  return skipSpace(b, i) === n;
}

function skipSpace(b: Buffer, i: number): number {
  for (let c = b[i]; c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = b[++i]);
  return i;
}

// ---- comparing two rows, counters aside ----

const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/** How a key's change counts: rows whose only changes are in keys that do not count are the same row. */
const enum KeyKind {
  /** A field Molten reads: any change counts. */
  Counts,
  /** A counter that never counts alone (it must still be a number). */
  Counter,
  /** uptime: a counter that must not go back (a restart counts). */
  Uptime,
}

/** Every key checkResourceRow reads, as bytes: a key that is none of them does not count. */
const KNOWN_KEYS: { bytes: Buffer; kind: KeyKind }[] = [
  'id', 'type', 'node', 'status', 'name', 'vmid', 'cpu', 'mem', 'maxmem', 'disk', 'maxdisk', 'uptime', 'netin', 'netout', 'diskread', 'diskwrite',
  'template', 'tags', 'lock', 'maxcpu', 'hastate', 'pool', 'level', 'storage', 'plugintype', 'content', 'shared',
].map((key) => ({
  bytes: Buffer.from(key, 'latin1'),
  kind: key === 'uptime' ? KeyKind.Uptime : (COUNTERS as readonly string[]).includes(key) ? KeyKind.Counter : KeyKind.Counts,
}));

function keyKind(b: Buffer, s: number, e: number): KeyKind | undefined {
  const len = e - s;
  outer: for (const k of KNOWN_KEYS) {
    if (k.bytes.length !== len) continue;
    for (let i = 0; i < len; i++) if (k.bytes[i] !== b[s + i]) continue outer;
    return k.kind;
  }
  return undefined;
}

/**
 * Whether two rows hold the same keys in the same order with the same values, but for counters
 * (a number, or a number in a string, each) and keys Molten does not read — uptime only
 * growing. Walks both in step; anything unexpected (a nested value, an escaped key, spaces
 * around a counter) answers false, and the row is then parsed as any changed row is.
 */
export function sameButCounters(a: Buffer, as: number, ae: number, b: Buffer, bs: number, be: number): boolean {
  let i = as + 1;
  let j = bs + 1;
  for (;;) {
    // The key: the same bytes in both.
    if (a[i] !== QUOTE || b[j] !== QUOTE) return false;
    const ks = i + 1;
    let ke = ks;
    while (ke < ae && a[ke] !== QUOTE) {
      if (a[ke] === BACKSLASH) return false;
      ke++;
    }
    if (ke >= ae) return false;
    for (let x = i; x <= ke; x++, j++) if (a[x] !== b[j]) return false;
    i = ke + 1;
    if (a[i++] !== COLON || b[j++] !== COLON) return false;
    // The value: its end in each row, then whether it differs, and whether that counts.
    const va = i;
    const vb = j;
    i = valueEnd(a, i, ae);
    j = valueEnd(b, j, be);
    if (i < 0 || j < 0) return false;
    let same = i - va === j - vb;
    for (let x = 0; same && x < i - va; x++) same = a[va + x] === b[vb + x];
    if (!same) {
      const kind = keyKind(a, ks, ke);
      if (kind === KeyKind.Counts) return false;
      if (kind !== undefined) {
        const before = numberAt(a, va, i);
        const now = numberAt(b, vb, j);
        if (Number.isNaN(now) || (kind === KeyKind.Uptime && !(now >= before))) return false;
      }
    }
    const c = a[i];
    if (c !== b[j]) return false;
    if (c === CLOSE_OBJECT) return i + 1 === ae && j + 1 === be;
    if (c !== COMMA) return false;
    i++;
    j++;
  }
}

/** The end (exclusive) of the value starting at p: a string, or a literal up to `,` or `}`; -1 for a nested value. */
function valueEnd(b: Buffer, p: number, end: number): number {
  const c = b[p];
  if (c === QUOTE) {
    for (let i = p + 1; i < end; i++) {
      const x = b[i];
      if (x === BACKSLASH) i++;
      else if (x === QUOTE) return i + 1;
    }
    return -1;
  }
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) return -1;
  let i = p;
  while (i < end && b[i] !== COMMA && b[i] !== CLOSE_OBJECT) i++;
  return i < end ? i : -1;
}

/**
 * A JSON number (or a number in a string, as checkResourceRow accepts) between s and e; NaN
 * for anything else. Plain integers, the common case, are read without making a string.
 */
function numberAt(b: Buffer, s: number, e: number): number {
  if (b[s] === QUOTE && b[e - 1] === QUOTE && e - s >= 2) {
    const text = b.toString('latin1', s + 1, e - 1);
    return NUMERIC.test(text) ? Number(text) : NaN;
  }
  let i = s;
  if (b[i] === MINUS) i++;
  if (!isDigit(b[i])) return NaN;
  let n = 0;
  for (; i < e && isDigit(b[i]); i++) n = n * 10 + (b[i]! - 0x30);
  if (i === e && n <= Number.MAX_SAFE_INTEGER) return b[s] === MINUS ? -n : n;
  // A fraction or an exponent: checked by its grammar, read by Number().
  let x = i;
  if (b[x] === DOT) {
    x++;
    if (!isDigit(b[x])) return NaN;
    while (isDigit(b[x])) x++;
  }
  if (b[x] === 0x65 || b[x] === 0x45) {
    x++;
    if (b[x] === MINUS || b[x] === PLUS) x++;
    if (!isDigit(b[x])) return NaN;
    while (isDigit(b[x])) x++;
  }
  return x === e ? Number(b.toString('latin1', s, e)) : NaN;
}
