import { describe, expect, it } from 'vitest';
import { validateToolArguments } from './tool-arguments.js';

// As @modelcontextprotocol/server-everything lists its echo tool (zod-to-json-schema, draft-07).
const echoDraft07 = {
  type: 'object',
  properties: { message: { type: 'string', description: 'Message to echo' } },
  required: ['message'],
  $schema: 'http://json-schema.org/draft-07/schema#',
};

// As zod 4's toJSONSchema writes it (draft 2020-12), with nesting, formats and closed objects.
const scan2020 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    subnet: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+\\.\\d+/\\d{1,2}$' },
    ports: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 65535 }, maxItems: 4 },
    options: {
      type: 'object',
      properties: { state: { type: 'string', enum: ['running', 'exited'] }, notify: { type: 'string', format: 'email' } },
      additionalProperties: false,
    },
  },
  required: ['subnet'],
  additionalProperties: false,
};

describe('validateToolArguments', () => {
  it('accepts valid arguments for draft-07 and 2020-12 schemas', () => {
    expect(validateToolArguments(echoDraft07, { message: 'hi' })).toEqual({ ok: true });
    expect(validateToolArguments(scan2020, { subnet: '192.168.1.0/24', ports: [22, 443], options: { state: 'running' } })).toEqual({ ok: true });
  });

  it('names every wrong field with a message a person can act on', () => {
    const r = validateToolArguments(scan2020, { ports: [22, 70000, 'x'], options: { state: 'gone', notify: 'nope', extra: 1 }, verbose: true });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byPath = Object.fromEntries(r.errors.map((e) => [e.path, e.message]));
    expect(byPath).toMatchObject({
      subnet: 'is required',
      verbose: 'is not an argument of this tool',
      'ports[1]': expect.stringContaining('<= 65535'),
      'ports[2]': 'must be integer',
      'options.state': 'must be one of: "running", "exited"',
      'options.notify': 'must be a valid email',
      'options.extra': 'is not an argument of this tool',
    });
  });

  it('reports a missing draft-07 required field and a wrong type', () => {
    expect(validateToolArguments(echoDraft07, { messag: 'hi' })).toEqual({ ok: false, errors: [{ path: 'message', message: 'is required' }] });
    expect(validateToolArguments(echoDraft07, { message: 42 })).toEqual({ ok: false, errors: [{ path: 'message', message: 'must be string' }] });
  });

  it('reads a schema without $schema (and one of an unknown dialect) as 2020-12', () => {
    const noDialect = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
    expect(validateToolArguments(noDialect, {}).ok).toBe(false);
    expect(validateToolArguments({ ...noDialect, $schema: 'http://json-schema.org/draft-04/schema#' }, { n: 1 })).toEqual({ ok: true });
    // prefixItems exists only from 2020-12 on.
    const tuple = { type: 'object', properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }] } } };
    expect(validateToolArguments(tuple, { pair: ['a', 'b'] })).toMatchObject({ ok: false, errors: [{ path: 'pair[1]' }] });
  });

  it('refuses arguments that are not an object, and lets the server judge when the schema is unusable', () => {
    expect(validateToolArguments(echoDraft07, ['hi'])).toEqual({ ok: false, errors: [{ path: '', message: 'the arguments must be a JSON object' }] });
    expect(validateToolArguments(undefined, {})).toEqual({ ok: true });
    const broken = validateToolArguments({ type: 'object', properties: { a: { type: 'no-such-type' } } }, { a: 1 });
    expect(broken.ok).toBe(true);
    expect(broken).toHaveProperty('unchecked');
  });

  it('handles two schemas with the same $id but different content', () => {
    const a = { $id: 'urn:tool:input', type: 'object', properties: { x: { type: 'string' } } };
    const b = { $id: 'urn:tool:input', type: 'object', properties: { x: { type: 'integer' } } };
    expect(validateToolArguments(a, { x: 's' })).toEqual({ ok: true });
    expect(validateToolArguments(b, { x: 's' }).ok).toBe(false);
  });
});
