/**
 * Tool parameters as ProxmoxMCP-Plus declares them (`Annotated[T, Field(...)]` on FastMCP tools),
 * and the three things built from one declaration:
 *
 * - the MCP `inputSchema` pydantic writes (titles, `anyOf … null` for Optional, defaults);
 * - FastMCP's argument check (pydantic v2 lax mode, with its error text);
 * - the REST bridge's form model (mcpo rebuilds a model from the input schema with types,
 *   required fields and defaults only: enums, patterns and bounds are lost there, so such
 *   mistakes reach the tool and come back as a 500, not a 422).
 */
export interface ParamSpec {
  type: 'string' | 'integer' | 'boolean' | 'object';
  description: string;
  /** No default: the caller must send it. */
  required?: boolean;
  default?: unknown;
  /** Optional[T]: null is accepted (and is the default unless one is given). */
  nullable?: boolean;
  /** Literal[...] */
  enum?: readonly string[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
}

export type Params = Record<string, ParamSpec>;

/** pydantic's field title: "format_style" → "Format Style". */
export function fieldTitle(name: string): string {
  return name
    .split('_')
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())
    .join(' ');
}

function baseType(p: ParamSpec): Record<string, unknown> {
  return p.type === 'object' ? { additionalProperties: true, type: 'object' } : { type: p.type };
}

/** The JSON Schema FastMCP lists for a tool (pydantic's model_json_schema of `<tool>Arguments`). */
export function inputSchema(tool: string, params: Params): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [name, p] of Object.entries(params)) {
    const s: Record<string, unknown> = {};
    if (p.nullable) s.anyOf = [{ ...baseType(p), ...constraints(p) }, { type: 'null' }];
    if (!p.required) s.default = p.default === undefined ? null : p.default;
    s.description = p.description;
    if (!p.nullable) Object.assign(s, constraints(p));
    s.title = fieldTitle(name);
    if (!p.nullable) Object.assign(s, baseType(p));
    properties[name] = sortKeys(s);
    if (p.required) required.push(name);
  }
  return { properties, ...(required.length ? { required } : {}), title: `${tool}Arguments`, type: 'object' };
}

function constraints(p: ParamSpec): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (p.enum) c.enum = [...p.enum];
  if (p.maximum !== undefined) c.maximum = p.maximum;
  if (p.minimum !== undefined) c.minimum = p.minimum;
  if (p.pattern !== undefined) c.pattern = p.pattern;
  return c;
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

/** The component schema mcpo's `<tool>_form_model` gets in /openapi.json. */
export function formModelSchema(tool: string, params: Params): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [name, p] of Object.entries(params)) {
    const t = p.type === 'object' ? { additionalProperties: true, type: 'object' } : { type: p.type };
    const s: Record<string, unknown> = p.nullable ? { anyOf: [t, { type: 'null' }] } : { ...t };
    s.title = fieldTitle(name);
    if (p.description) s.description = p.description;
    if (!p.required && p.default !== undefined && p.default !== null) s.default = p.default;
    properties[name] = s;
    if (p.required) required.push(name);
  }
  return { properties, ...(required.length ? { required } : {}), title: `${tool}_form_model`, type: 'object' };
}

/** One pydantic error, as FastAPI lists it in a 422 body. */
export interface PydanticError {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

const TRUE = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

/**
 * Validates arguments like pydantic v2 in lax mode: "101" is no integer problem, 101 is not a
 * string. `strict` adds what only FastMCP checks (Literal, pattern, ge/le); mcpo's rebuilt
 * model checks types and required fields only. Unknown keys are ignored, as pydantic does.
 */
export function validate(
  params: Params,
  args: unknown,
  o: { strict: boolean; locPrefix?: (string | number)[] },
): { ok: true; value: Record<string, unknown> } | { ok: false; errors: PydanticError[] } {
  const prefix = o.locPrefix ?? [];
  if (args === null || args === undefined) args = {};
  if (typeof args !== 'object' || Array.isArray(args)) {
    return { ok: false, errors: [{ type: 'model_attributes_type', loc: prefix, msg: 'Input should be a valid dictionary or object to extract fields from', input: args }] };
  }
  const input = args as Record<string, unknown>;
  const value: Record<string, unknown> = {};
  const errors: PydanticError[] = [];
  for (const [name, p] of Object.entries(params)) {
    const loc = [...prefix, name];
    if (!(name in input) || input[name] === undefined) {
      if (p.required) errors.push({ type: 'missing', loc, msg: 'Field required', input });
      else value[name] = p.default === undefined ? null : p.default;
      continue;
    }
    const raw = input[name];
    if (raw === null) {
      if (p.nullable) value[name] = null;
      else errors.push(typeError(p, loc, raw));
      continue;
    }
    const coerced = coerce(p, loc, raw);
    if ('error' in coerced) {
      errors.push(coerced.error);
      continue;
    }
    if (o.strict) {
      const e = check(p, loc, coerced.value);
      if (e) {
        errors.push(e);
        continue;
      }
    }
    value[name] = coerced.value;
  }
  return errors.length ? { ok: false, errors } : { ok: true, value };
}

function typeError(p: ParamSpec, loc: (string | number)[], input: unknown): PydanticError {
  switch (p.type) {
    case 'string':
      return { type: 'string_type', loc, msg: 'Input should be a valid string', input };
    case 'integer':
      return { type: 'int_type', loc, msg: 'Input should be a valid integer', input };
    case 'boolean':
      return { type: 'bool_type', loc, msg: 'Input should be a valid boolean', input };
    default:
      return { type: 'dict_type', loc, msg: 'Input should be a valid dictionary', input };
  }
}

function coerce(p: ParamSpec, loc: (string | number)[], raw: unknown): { value: unknown } | { error: PydanticError } {
  switch (p.type) {
    case 'string':
      return typeof raw === 'string' ? { value: raw } : { error: typeError(p, loc, raw) };
    case 'integer': {
      if (typeof raw === 'number') {
        if (Number.isInteger(raw)) return { value: raw };
        return { error: { type: 'int_from_float', loc, msg: 'Input should be a valid integer, got a number with a fractional part', input: raw } };
      }
      if (typeof raw === 'boolean') return { value: raw ? 1 : 0 };
      if (typeof raw === 'string') {
        const t = raw.trim();
        if (/^[-+]?\d+$/.test(t)) return { value: Number(t) };
        return { error: { type: 'int_parsing', loc, msg: 'Input should be a valid integer, unable to parse string as an integer', input: raw } };
      }
      return { error: typeError(p, loc, raw) };
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { value: raw };
      if (raw === 0 || raw === 1) return { value: raw === 1 };
      if (typeof raw === 'string') {
        const t = raw.trim().toLowerCase();
        if (TRUE.has(t)) return { value: true };
        if (FALSE.has(t)) return { value: false };
        return { error: { type: 'bool_parsing', loc, msg: 'Input should be a valid boolean, unable to interpret input', input: raw } };
      }
      if (typeof raw === 'number') return { error: { type: 'bool_parsing', loc, msg: 'Input should be a valid boolean, unable to interpret input', input: raw } };
      return { error: typeError(p, loc, raw) };
    }
    default:
      return raw && typeof raw === 'object' && !Array.isArray(raw) ? { value: raw } : { error: typeError(p, loc, raw) };
  }
}

function check(p: ParamSpec, loc: (string | number)[], v: unknown): PydanticError | undefined {
  if (p.enum && !p.enum.includes(v as string)) {
    const options = p.enum.map((e) => `'${e}'`);
    const words = options.length > 1 ? `${options.slice(0, -1).join(', ')} or ${options[options.length - 1]}` : options[0];
    return { type: 'literal_error', loc, msg: `Input should be ${words}`, input: v, ctx: { expected: words } };
  }
  if (p.pattern !== undefined && typeof v === 'string' && !new RegExp(p.pattern).test(v)) {
    return { type: 'string_pattern_mismatch', loc, msg: `String should match pattern '${p.pattern}'`, input: v, ctx: { pattern: p.pattern } };
  }
  if (typeof v === 'number') {
    if (p.minimum !== undefined && v < p.minimum) {
      return { type: 'greater_than_equal', loc, msg: `Input should be greater than or equal to ${p.minimum}`, input: v, ctx: { ge: p.minimum } };
    }
    if (p.maximum !== undefined && v > p.maximum) {
      return { type: 'less_than_equal', loc, msg: `Input should be less than or equal to ${p.maximum}`, input: v, ctx: { le: p.maximum } };
    }
  }
  return undefined;
}

/** pydantic's ValidationError text, as FastMCP puts it in "Error executing tool …". */
export function validationErrorText(model: string, errors: PydanticError[]): string {
  const lines = [`${errors.length} validation error${errors.length === 1 ? '' : 's'} for ${model}`];
  for (const e of errors) {
    lines.push(e.loc.join('.') || '(root)');
    lines.push(`  ${e.msg} [type=${e.type}, input_value=${inputRepr(e.input)}, input_type=${pyType(e.input)}]`);
    lines.push(`    For further information visit https://errors.pydantic.dev/2.11/v/${e.type}`);
  }
  return lines.join('\n');
}

function pyType(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (Array.isArray(v)) return 'list';
  return 'dict';
}

function inputRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(inputRepr).join(', ')}]`;
  return `{${Object.entries(v as object)
    .map(([k, x]) => `'${k}': ${inputRepr(x)}`)
    .join(', ')}}`;
}
