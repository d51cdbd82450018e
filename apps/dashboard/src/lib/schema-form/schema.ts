/**
 * A tool's JSON Schema turned into form fields, and the form's values back into arguments.
 * Covers what MCP servers send: strings (with formats and enums), numbers, integers, booleans,
 * arrays of those, nested objects, `$ref` to local definitions, nullable unions; anything
 * richer falls back to a JSON text field rather than guessing.
 */

export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema | JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  examples?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  exclusiveMaximum?: number | boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  [key: string]: unknown;
};

interface Base {
  /** Property name. */
  name: string;
  /** Dot path from the root ("config.port", "tags"). */
  path: string;
  label: string;
  description?: string;
  required: boolean;
}

export type PrimitiveField =
  | (Base & { kind: 'string'; default?: string; format?: string; multiline: boolean; minLength?: number; maxLength?: number; pattern?: string; placeholder?: string })
  | (Base & { kind: 'number' | 'integer'; default?: number; minimum?: number; maximum?: number })
  | (Base & { kind: 'boolean'; default?: boolean })
  | (Base & { kind: 'enum'; options: { value: unknown; label: string }[]; default?: unknown });

export type Field =
  | PrimitiveField
  | (Base & { kind: 'array'; item: PrimitiveField; default?: unknown[]; minItems?: number; maxItems?: number })
  | (Base & { kind: 'object'; fields: Field[] })
  | (Base & { kind: 'json'; default?: unknown });

/** What the inputs hold: text as typed, booleans as booleans or null (not set), lists, nested records. */
export type FormValue = string | boolean | null | FormValue[] | { [key: string]: FormValue };
export type FormValues = { [key: string]: FormValue };

const MAX_DEPTH = 5;

function resolve(s: JsonSchema | undefined, root: JsonSchema, seen = new Set<string>()): JsonSchema {
  if (!s || typeof s !== 'object') return {};
  if (typeof s.$ref === 'string' && s.$ref.startsWith('#/') && !seen.has(s.$ref)) {
    seen.add(s.$ref);
    const target = s.$ref
      .slice(2)
      .split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), root) as JsonSchema | undefined;
    const { $ref: _ref, ...rest } = s;
    return resolve({ ...target, ...rest }, root, seen);
  }
  if (s.allOf?.length) {
    const merged: JsonSchema = { ...s, allOf: undefined };
    for (const part of s.allOf.map((p) => resolve(p, root, seen))) {
      Object.assign(merged, part, {
        properties: { ...merged.properties, ...part.properties },
        required: [...(merged.required ?? []), ...(part.required ?? [])],
      });
    }
    return merged;
  }
  // A nullable union ("string or null", anyOf [{type: x}, {type: null}]) is its non-null side.
  const union = s.anyOf ?? s.oneOf;
  if (union?.length) {
    const nonNull = union.filter((u) => resolve(u, root, seen).type !== 'null');
    if (nonNull.length === 1) return { ...resolve(nonNull[0], root, seen), ...pick(s, ['title', 'description', 'default']) };
    if (nonNull.every((u) => u.const !== undefined)) return { ...s, anyOf: undefined, oneOf: undefined, enum: nonNull.map((u) => u.const) };
  }
  return s;
}

function pick(s: JsonSchema, keys: (keyof JsonSchema)[]): JsonSchema {
  const out: JsonSchema = {};
  for (const k of keys) if (s[k] !== undefined) out[k] = s[k];
  return out;
}

function typeOf(s: JsonSchema): string | undefined {
  if (Array.isArray(s.type)) {
    const t = s.type.filter((x) => x !== 'null');
    return t.length === 1 ? t[0] : undefined;
  }
  if (s.type) return s.type;
  if (s.properties) return 'object';
  if (s.enum || s.const !== undefined) return 'enum';
  return undefined;
}

function humanize(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : name;
}

function field(name: string, path: string, raw: JsonSchema, root: JsonSchema, required: boolean, depth: number): Field {
  const s = resolve(raw, root);
  const base: Base = { name, path, label: s.title || humanize(name), ...(s.description ? { description: s.description } : {}), required };
  if (s.enum || s.const !== undefined) {
    const values = s.enum ?? [s.const];
    return { ...base, kind: 'enum', options: values.map((v) => ({ value: v, label: typeof v === 'string' ? v : JSON.stringify(v) })), ...(s.default !== undefined ? { default: s.default } : s.const !== undefined ? { default: s.const } : {}) };
  }
  switch (typeOf(s)) {
    case 'string':
      return {
        ...base,
        kind: 'string',
        multiline: (s.maxLength ?? 0) > 200 || /(^|_)(body|content|script|text|message|prompt|query|command)s?$/i.test(name),
        ...(typeof s.default === 'string' ? { default: s.default } : {}),
        ...(s.format ? { format: s.format } : {}),
        ...(s.minLength !== undefined ? { minLength: s.minLength } : {}),
        ...(s.maxLength !== undefined ? { maxLength: s.maxLength } : {}),
        ...(s.pattern ? { pattern: s.pattern } : {}),
        ...(typeof s.examples?.[0] === 'string' ? { placeholder: s.examples[0] } : {}),
      };
    case 'number':
    case 'integer': {
      const min = typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum : s.minimum;
      const max = typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum : s.maximum;
      return {
        ...base,
        kind: typeOf(s) as 'number' | 'integer',
        ...(typeof s.default === 'number' ? { default: s.default } : {}),
        ...(min !== undefined ? { minimum: min } : {}),
        ...(max !== undefined ? { maximum: max } : {}),
      };
    }
    case 'boolean':
      return { ...base, kind: 'boolean', ...(typeof s.default === 'boolean' ? { default: s.default } : {}) };
    case 'array': {
      const itemSchema = Array.isArray(s.items) ? undefined : s.items;
      const item = itemSchema ? field(name, path, itemSchema, root, true, depth + 1) : undefined;
      if (item && (item.kind === 'string' || item.kind === 'number' || item.kind === 'integer' || item.kind === 'boolean' || item.kind === 'enum')) {
        return {
          ...base,
          kind: 'array',
          item,
          ...(Array.isArray(s.default) ? { default: s.default } : {}),
          ...(s.minItems !== undefined ? { minItems: s.minItems } : {}),
          ...(s.maxItems !== undefined ? { maxItems: s.maxItems } : {}),
        };
      }
      return { ...base, kind: 'json', ...(s.default !== undefined ? { default: s.default } : {}) };
    }
    case 'object':
      if (s.properties && depth < MAX_DEPTH) return { ...base, kind: 'object', fields: fieldsOf(s, root, path, depth + 1) };
      return { ...base, kind: 'json', ...(s.default !== undefined ? { default: s.default } : {}) };
    default:
      return { ...base, kind: 'json', ...(s.default !== undefined ? { default: s.default } : {}) };
  }
}

function fieldsOf(s: JsonSchema, root: JsonSchema, prefix: string, depth: number): Field[] {
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {}).map(([name, p]) => field(name, prefix ? `${prefix}.${name}` : name, p, root, required.has(name), depth));
}

/** The fields of a tool's input schema (an object's properties; required first as the server lists them). */
export function schemaFields(schema: unknown): Field[] {
  if (!schema || typeof schema !== 'object') return [];
  const root = schema as JsonSchema;
  return fieldsOf(resolve(root, root), root, '', 0);
}

function initial(f: Field): FormValue {
  switch (f.kind) {
    case 'string':
      return f.default ?? '';
    case 'number':
    case 'integer':
      return f.default !== undefined ? String(f.default) : '';
    case 'boolean':
      return f.default ?? (f.required ? false : null);
    case 'enum': {
      const i = f.default !== undefined ? f.options.findIndex((o) => JSON.stringify(o.value) === JSON.stringify(f.default)) : -1;
      return i >= 0 ? String(i) : f.required && f.options.length === 1 ? '0' : '';
    }
    case 'array':
      return (f.default ?? []).map((v) => (f.item.kind === 'enum' ? String(f.item.options.findIndex((o) => JSON.stringify(o.value) === JSON.stringify(v))) : typeof v === 'boolean' ? v : String(v)));
    case 'object':
      return initialValues(f.fields);
    case 'json':
      return f.default !== undefined ? JSON.stringify(f.default, null, 2) : '';
  }
}

/** The form's starting values: the schema's defaults, empty otherwise. */
export function initialValues(fields: readonly Field[]): FormValues {
  const out: FormValues = {};
  for (const f of fields) out[f.name] = initial(f);
  return out;
}

const FORMAT_WORDS: Record<string, string> = {
  ipv4: 'an IPv4 address such as 192.168.1.10',
  ipv6: 'an IPv6 address such as fd00::10',
  hostname: 'a host name such as nas.lan',
  email: 'an e-mail address',
  uri: 'a URL such as https://example.org',
  'date-time': 'a date and time such as 2026-12-03T09:30:00Z',
  date: 'a date such as 2026-12-03',
  uuid: 'a UUID',
};

/**
 * What a value that fails the field's pattern should look like, in words: the schema's example
 * or format, else its description, else a few patterns tools commonly use. The raw regular
 * expression only as the last resort, and then named as such.
 */
export function patternMessage(f: { pattern?: string; placeholder?: string; format?: string; description?: string }): string {
  if (f.placeholder) return `expected something like “${f.placeholder}”`;
  if (f.format && FORMAT_WORDS[f.format]) return `expected ${FORMAT_WORDS[f.format]}`;
  if (f.description) return `not in the expected form: ${f.description.length > 160 ? `${f.description.slice(0, 157)}…` : f.description}`;
  const p = f.pattern ?? '';
  if (/\\d\{1,3\}\)?\\\.|\[0-9\]\{1,3\}\)?\\\./.test(p)) return `expected ${FORMAT_WORDS.ipv4}`;
  if (/^\^?\\d\+\$?$|^\^?\[0-9\]\+\$?$/.test(p)) return 'expected digits only';
  if (/^\^?\[a-z0-9_-\]\+\$?$/i.test(p)) return 'expected letters, digits, “-” or “_” only';
  return `not in the expected form (the tool's pattern is ${p})`;
}

/** An empty input for a new array item. */
export function emptyItem(f: PrimitiveField): FormValue {
  return f.kind === 'boolean' ? false : '';
}

type Parsed = { ok: true; value: unknown; present: boolean } | { ok: false };

function parsePrimitive(f: PrimitiveField, raw: FormValue, path: string, errors: Record<string, string>): Parsed {
  switch (f.kind) {
    case 'string': {
      const v = typeof raw === 'string' ? raw : '';
      if (v === '') return { ok: true, value: undefined, present: false };
      if (f.minLength !== undefined && v.length < f.minLength) return fail(errors, path, `at least ${f.minLength} characters`);
      if (f.maxLength !== undefined && v.length > f.maxLength) return fail(errors, path, `at most ${f.maxLength} characters`);
      if (f.pattern) {
        try {
          if (!new RegExp(f.pattern, 'u').test(v)) return fail(errors, path, patternMessage(f));
        } catch {
          // a pattern this browser cannot compile: the server checks it
        }
      }
      return { ok: true, value: v, present: true };
    }
    case 'number':
    case 'integer': {
      const v = typeof raw === 'string' ? raw.trim() : '';
      if (v === '') return { ok: true, value: undefined, present: false };
      const n = Number(v);
      if (!Number.isFinite(n)) return fail(errors, path, 'must be a number');
      if (f.kind === 'integer' && !Number.isInteger(n)) return fail(errors, path, 'must be a whole number');
      if (f.minimum !== undefined && n < f.minimum) return fail(errors, path, `must be at least ${f.minimum}`);
      if (f.maximum !== undefined && n > f.maximum) return fail(errors, path, `must be at most ${f.maximum}`);
      return { ok: true, value: n, present: true };
    }
    case 'boolean':
      return raw === null || raw === undefined ? { ok: true, value: undefined, present: false } : { ok: true, value: raw === true, present: true };
    case 'enum': {
      if (raw === '' || raw === null) return { ok: true, value: undefined, present: false };
      const o = f.options[Number(raw)];
      return o ? { ok: true, value: o.value, present: true } : fail(errors, path, 'pick one of the options');
    }
  }
}

function fail(errors: Record<string, string>, path: string, message: string): Parsed {
  errors[path] = message;
  return { ok: false };
}

function parseField(f: Field, raw: FormValue, errors: Record<string, string>): Parsed {
  let r: Parsed;
  switch (f.kind) {
    case 'array': {
      const items = Array.isArray(raw) ? raw : [];
      const values: unknown[] = [];
      let ok = true;
      items.forEach((item, i) => {
        const p = parsePrimitive(f.item, item, `${f.path}.${i}`, errors);
        if (!p.ok) ok = false;
        else if (p.present) values.push(p.value);
      });
      if (!ok) return { ok: false };
      if (f.minItems !== undefined && values.length > 0 && values.length < f.minItems) return fail(errors, f.path, `at least ${f.minItems} items`);
      if (f.maxItems !== undefined && values.length > f.maxItems) return fail(errors, f.path, `at most ${f.maxItems} items`);
      r = { ok: true, value: values, present: values.length > 0 };
      break;
    }
    case 'object': {
      const values = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as FormValues;
      // Left as it started: the object is not sent (its own required fields only count once it is).
      if (untouched(values, f.fields)) {
        r = { ok: true, value: undefined, present: false };
        break;
      }
      const o = collectInto(f.fields, values, errors);
      if (!o.ok) return { ok: false };
      r = { ok: true, value: o.value, present: Object.keys(o.value).length > 0 };
      break;
    }
    case 'json': {
      const text = typeof raw === 'string' ? raw.trim() : '';
      if (!text) {
        r = { ok: true, value: undefined, present: false };
        break;
      }
      try {
        r = { ok: true, value: JSON.parse(text), present: true };
      } catch (e) {
        return fail(errors, f.path, `not valid JSON (${(e as Error).message})`);
      }
      break;
    }
    default:
      r = parsePrimitive(f, raw, f.path, errors);
  }
  if (r.ok && !r.present && f.required) return fail(errors, f.path, 'required');
  return r;
}

function blank(v: FormValue | undefined): boolean {
  if (v === '' || v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v).every(blank);
  return false;
}

function untouched(values: FormValues, fields: readonly Field[]): boolean {
  return blank(values) || JSON.stringify(values) === JSON.stringify(initialValues(fields));
}

function collectInto(fields: readonly Field[], values: FormValues, errors: Record<string, string>): { ok: true; value: Record<string, unknown> } | { ok: false } {
  const out: Record<string, unknown> = {};
  let ok = true;
  for (const f of fields) {
    const p = parseField(f, values[f.name] ?? null, errors);
    if (!p.ok) ok = false;
    else if (p.present) out[f.name] = p.value;
  }
  return ok ? { ok: true, value: out } : { ok: false };
}

/** The tool's arguments from the form, or the problems by field path. Empty optional fields are left out. */
export function collectArguments(fields: readonly Field[], values: FormValues): { ok: true; args: Record<string, unknown> } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const r = collectInto(fields, values, errors);
  return r.ok ? { ok: true, args: r.value } : { ok: false, errors };
}

/** "ports[1].host", "/ports/1/host" and "arguments.ports.1.host" all become "ports.1.host". */
export function normalizePath(path: string): string {
  return path
    .replace(/^arguments\.?/, '')
    .replace(/\[(\d+)\]/g, '.$1')
    .split(/[./]/)
    .filter(Boolean)
    .join('.');
}

/**
 * The api's 400 answer as field errors: `details.errors[]` from the schema check (paths like
 * "ports[1].host"), else `details.field` ("arguments.name") with the message.
 */
export function serverFieldErrors(details: { field?: string; errors?: { path: string; message: string }[] } | undefined, fallback: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of details?.errors ?? []) {
    const path = normalizePath(e.path);
    out[path] = out[path] ? `${out[path]}; ${e.message}` : e.message;
  }
  if (Object.keys(out).length === 0) out[normalizePath(details?.field ?? '')] = fallback;
  return out;
}
