import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * Checks a tool call's arguments against the tool's input schema before anything is queued or
 * sent, so that a caller learns which field is wrong without the server being asked.
 *
 * This module imports ajv only (never the MCP SDK), so the api can use it to answer 400.
 */

export interface ArgumentError {
  /** Where the problem is, e.g. "container", "ports[1]", "filters.state"; "" for the arguments as a whole. */
  path: string;
  message: string;
}

export type ArgumentCheck =
  | { ok: true; /** Set when the schema could not be used (it is not valid JSON Schema): the server will judge. */ unchecked?: string }
  | { ok: false; errors: ArgumentError[] };

type AnyAjv = Ajv | Ajv2019 | Ajv2020;

const addFormats = addFormatsModule.default;
// addUsedSchema off: two servers may send schemas with the same $id and different content.
const options = { allErrors: true, strict: false, validateSchema: true, addUsedSchema: false, logger: false } as const;

/**
 * One ajv per JSON Schema dialect. MCP servers send what their library produces: zod-to-json-schema
 * and FastMCP/pydantic say draft-07 (or nothing), zod 4 says 2020-12; a schema without $schema is
 * 2020-12, the MCP default since protocol 2025-11-25.
 */
let dialects: { draft07: Ajv; draft2019: Ajv2019; draft2020: Ajv2020 } | undefined;
function dialect(schema: Record<string, unknown>): AnyAjv {
  dialects ??= (() => {
    const all = { draft07: new Ajv(options), draft2019: new Ajv2019(options), draft2020: new Ajv2020(options) };
    for (const a of Object.values(all)) addFormats(a as Ajv);
    return all;
  })();
  const declared = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (/json-schema\.org\/draft-07\/schema/.test(declared)) return dialects.draft07;
  if (/json-schema\.org\/draft\/2019-09\/schema/.test(declared)) return dialects.draft2019;
  return dialects.draft2020;
}

/** Compiled validators by schema text: catalogs are re-read often, schemas rarely change. */
const compiled = new Map<string, ValidateFunction | Error>();
const MAX_CACHED = 500;

function compile(schema: Record<string, unknown>): ValidateFunction | Error {
  const key = JSON.stringify(schema);
  const hit = compiled.get(key);
  if (hit) return hit;
  let out: ValidateFunction | Error;
  try {
    const ajv = dialect(schema);
    const declared = typeof schema.$schema === 'string' ? schema.$schema : '';
    // Any other dialect (draft-04/06, a vendor URI) is read as 2020-12, which agrees with it on
    // everything a tool input uses; ajv would refuse to compile a $schema it does not know.
    const usable = ajv === dialects!.draft2020 && declared && !/2020-12/.test(declared) ? withoutKey(schema, '$schema') : schema;
    out = ajv.compile(usable);
  } catch (err) {
    out = err instanceof Error ? err : new Error(String(err));
  }
  if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value!);
  compiled.set(key, out);
  return out;
}

/**
 * Validates a tool call's arguments against the tool's inputSchema (as the server listed it).
 * Arguments must be a JSON object; no schema (or an empty one) accepts any object.
 */
export function validateToolArguments(inputSchema: unknown, args: unknown): ArgumentCheck {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return { ok: false, errors: [{ path: '', message: 'the arguments must be a JSON object' }] };
  }
  if (inputSchema === undefined || inputSchema === null) return { ok: true };
  if (typeof inputSchema !== 'object' || Array.isArray(inputSchema)) {
    return { ok: true, unchecked: 'the tool has no usable input schema' };
  }
  const validate = compile(inputSchema as Record<string, unknown>);
  if (validate instanceof Error) return { ok: true, unchecked: `the tool's input schema is not valid JSON Schema: ${validate.message}` };
  if (validate(args)) return { ok: true };
  return { ok: false, errors: describe(validate.errors ?? []) };
}

function describe(errors: ErrorObject[]): ArgumentError[] {
  const out: ArgumentError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // "if"/"anyOf"/"oneOf" wrappers repeat what their branches already said.
    if (e.keyword === 'if') continue;
    const error = explain(e);
    const key = `${error.path}\u0000${error.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(error);
  }
  return out;
}

function explain(e: ErrorObject): ArgumentError {
  const at = pointerToPath(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path: join(at, String(params.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return { path: join(at, String(params.additionalProperty)), message: 'is not an argument of this tool' };
    case 'unevaluatedProperties':
      return { path: join(at, String(params.unevaluatedProperty)), message: 'is not an argument of this tool' };
    case 'enum':
      return { path: at, message: `must be one of: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { path: at, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'type':
      return { path: at, message: `must be ${Array.isArray(params.type) ? params.type.join(' or ') : String(params.type)}` };
    case 'format':
      return { path: at, message: `must be a valid ${String(params.format)}` };
    case 'pattern':
      return { path: at, message: `must match the pattern ${String(params.pattern)}` };
    default:
      return { path: at, message: e.message ?? `fails the "${e.keyword}" rule` };
  }
}

/** "/ports/1/host" → "ports[1].host". */
function pointerToPath(pointer: string): string {
  if (!pointer) return '';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out ? `.${seg}` : seg;
  }
  return out;
}

function join(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

function withoutKey(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _drop, ...rest } = o;
  return rest;
}
