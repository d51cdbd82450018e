import { paramError } from './errors.js';

/**
 * The slice of pve-common's JSONSchema that the simulated endpoints use, with its exact error
 * texts: every endpoint declares its parameters (path parameters included), unknown ones are
 * refused, and all problems are reported at once as `400 Parameter verification failed.`.
 */
export type Format = 'pve-node' | 'pve-vmid' | 'pve-task-status-type-list' | 'pve-configid';

export type ParamSpec =
  | { type: 'string'; optional?: boolean; enum?: readonly string[]; format?: Format; requires?: string; maxLength?: number }
  | { type: 'integer'; optional?: boolean; minimum?: number; maximum?: number; format?: Format }
  | { type: 'boolean'; optional?: boolean };

export type ParamSchema = Readonly<Record<string, ParamSpec>>;
export type ParamValue = string | number | boolean;
export type Params = Record<string, ParamValue>;

const FORMATS: Record<Format, (v: string) => string | undefined> = {
  'pve-vmid': (v) => (/^[1-9][0-9]{2,8}$/.test(v) ? undefined : 'value does not look like a valid VM ID\n'),
  'pve-node': (v) =>
    /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v) ? undefined : 'value does not look like a valid node name\n',
  // pve-common `pve_verify_configid` ($CONFIGID_RE): snapshot names, among others.
  'pve-configid': (v) => (/^[a-z][a-z0-9_-]+$/i.test(v) ? undefined : `invalid configuration ID '${v}'\n`),
  'pve-task-status-type-list': (v) => {
    for (const item of splitList(v)) if (!/^(ok|error|warning|unknown)$/i.test(item)) return `invalid status '${item}'\n`;
    return undefined;
  },
};

/** pve-common `split_list`: commas, semicolons, whitespace and NULs separate items. */
export function splitList(v: string): string[] {
  return v.split(/[,;\s\0]+/).filter(Boolean);
}

/** What a Perl scalar from a form, a query string or a JSON body looks like to the checks. */
function describe(raw: unknown): { text?: string; ref?: string; bool?: boolean } {
  if (typeof raw === 'string') return { text: raw };
  if (typeof raw === 'number') return { text: String(raw) };
  if (typeof raw === 'boolean') return { ref: 'JSON::PP::Boolean', bool: raw };
  if (Array.isArray(raw)) return { ref: 'ARRAY' };
  return { ref: 'HASH' };
}

/**
 * Validates and converts parameters: integers become numbers, booleans (`1`/`0`, or JSON
 * true/false) become booleans. Throws a 400 PveError listing every problem.
 */
export function validateParams(schema: ParamSchema, raw: Record<string, unknown>): Params {
  const errors: Record<string, string> = {};
  const out: Params = {};

  for (const [name, spec] of Object.entries(schema)) {
    const value = raw[name];
    if (value === undefined || value === null) {
      if (!spec.optional) errors[name] = 'property is missing and it is not optional';
      continue;
    }
    const d = describe(value);
    if (spec.type === 'boolean') {
      if (d.ref === 'JSON::PP::Boolean') out[name] = d.bool!;
      else if (d.text === '1' || d.text === '0') out[name] = d.text === '1';
      else errors[name] = d.ref ? `type check ('boolean') failed - got ${d.ref}` : `type check ('boolean') failed - got '${d.text}'`;
      continue;
    }
    if (d.ref) {
      errors[name] = `type check ('${spec.type}') failed - got ${d.ref}`;
      continue;
    }
    const text = d.text!;
    if (spec.type === 'integer' && !/^[+-]?\d+$/.test(text)) {
      errors[name] = `type check ('integer') failed - got '${text}'`;
      continue;
    }
    if (spec.format) {
      const problem = FORMATS[spec.format](text);
      if (problem) {
        errors[name] = `invalid format - ${problem}`;
        continue;
      }
    }
    if (spec.type === 'integer') {
      const n = Number(text);
      if (spec.maximum !== undefined && n > spec.maximum) {
        errors[name] = `value must have a maximum value of ${spec.maximum}`;
        continue;
      }
      if (spec.minimum !== undefined && n < spec.minimum) {
        errors[name] = `value must have a minimum value of ${spec.minimum}`;
        continue;
      }
      out[name] = n;
      continue;
    }
    // pve-common checks the format first, then the length.
    if (spec.type === 'string' && spec.maxLength !== undefined && text.length > spec.maxLength) {
      errors[name] = `value may only be ${spec.maxLength} characters long`;
      continue;
    }
    if (spec.enum && !spec.enum.includes(text)) {
      errors[name] = `value '${text}' does not have a value in the enumeration '${spec.enum.join(', ')}'`;
      continue;
    }
    out[name] = text;
  }

  for (const name of Object.keys(raw)) {
    const spec = schema[name];
    if (!spec) {
      errors[name] = 'property is not defined in schema and the schema does not allow additional properties';
    } else if (spec.type === 'string' && spec.requires && raw[name] != null && raw[spec.requires] == null) {
      errors[spec.requires] = `missing property required by '${name}'`;
    }
  }

  if (Object.keys(errors).length > 0) throw paramError(errors);
  return out;
}

/** The standard options pve-common defines once and every endpoint reuses. */
export const std = {
  node: { type: 'string', format: 'pve-node' },
  vmid: { type: 'integer', format: 'pve-vmid', minimum: 100, maximum: 999999999 },
  skiplock: { type: 'boolean', optional: true },
  timeout: { type: 'integer', minimum: 0, optional: true },
  /** `pve-snapshot-name`. */
  snapname: { type: 'string', format: 'pve-configid', maxLength: 40 },
} as const satisfies Record<string, ParamSpec>;
