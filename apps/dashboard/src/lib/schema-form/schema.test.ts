import { describe, expect, test } from 'vitest';
import { collectArguments, initialValues, patternMessage, schemaFields, serverFieldErrors, type Field } from './schema';

const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'Container name' },
    count: { type: 'integer', minimum: 1, maximum: 10, default: 3 },
    ratio: { type: 'number' },
    force: { type: 'boolean', default: false },
    follow: { type: 'boolean' },
    level: { type: 'string', enum: ['debug', 'info', 'warn'], default: 'info' },
    ports: { type: 'array', items: { type: 'integer' } },
    labels: { type: 'array', items: { type: 'string' }, default: ['a'] },
    config: {
      type: 'object',
      required: ['host'],
      properties: { host: { type: 'string', format: 'uri' }, port: { $ref: '#/$defs/port' } },
    },
    note: { type: ['string', 'null'] },
    mode: { anyOf: [{ const: 'fast' }, { const: 'safe' }] },
    anything: { type: 'object' },
  },
  required: ['name', 'count'],
  $defs: { port: { type: 'integer', minimum: 1, maximum: 65535 } },
};

const byName = (fields: Field[], n: string) => fields.find((f) => f.name === n)!;

describe('schema → fields', () => {
  const fields = schemaFields(SCHEMA);
  test('maps each kind, with required marks, labels and descriptions', () => {
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['name', 'string', true],
      ['count', 'integer', true],
      ['ratio', 'number', false],
      ['force', 'boolean', false],
      ['follow', 'boolean', false],
      ['level', 'enum', false],
      ['ports', 'array', false],
      ['labels', 'array', false],
      ['config', 'object', false],
      ['note', 'string', false],
      ['mode', 'enum', false],
      ['anything', 'json', false],
    ]);
    expect(byName(fields, 'name')).toMatchObject({ label: 'Name', description: 'Container name' });
    expect(byName(fields, 'count')).toMatchObject({ minimum: 1, maximum: 10, default: 3 });
  });

  test('nested objects keep their paths and resolve $ref', () => {
    const config = byName(fields, 'config');
    if (config.kind !== 'object') throw new Error('not an object');
    expect(config.fields.map((f) => [f.path, f.kind, f.required])).toEqual([
      ['config.host', 'string', true],
      ['config.port', 'integer', false],
    ]);
    expect(config.fields[1]).toMatchObject({ minimum: 1, maximum: 65535 });
  });

  test('defaults fill the initial values', () => {
    expect(initialValues(fields)).toMatchObject({ name: '', count: '3', force: false, follow: null, level: '1', labels: ['a'], config: { host: '', port: '' } });
  });
});

describe('form → arguments', () => {
  const fields = schemaFields(SCHEMA);

  test('converts types and leaves empty optional fields out', () => {
    const v = initialValues(fields);
    v.name = 'web';
    v.ratio = '0.5';
    v.ports = ['80', '443'];
    v.mode = '1';
    v.config = { host: 'http://x', port: '8080' };
    const r = collectArguments(fields, v);
    expect(r).toEqual({
      ok: true,
      args: { name: 'web', count: 3, ratio: 0.5, force: false, level: 'info', ports: [80, 443], labels: ['a'], config: { host: 'http://x', port: 8080 }, mode: 'safe' },
    });
  });

  test('reports each problem on its field', () => {
    const v = initialValues(fields);
    v.count = '2.5';
    v.ratio = 'abc';
    v.ports = ['80', 'x'];
    v.config = { host: '', port: '70000' };
    v.anything = '{bad';
    const r = collectArguments(fields, v);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual({
      name: 'required',
      count: 'must be a whole number',
      ratio: 'must be a number',
      'ports.1': 'must be a number',
      'config.host': 'required',
      'config.port': 'must be at most 65535',
      anything: expect.stringMatching(/^not valid JSON/),
    });
  });

  test('an optional object left empty is not sent; its required fields count once it is filled in', () => {
    const f = schemaFields({ type: 'object', properties: { opts: { type: 'object', required: ['a'], properties: { a: { type: 'string' }, b: { type: 'boolean', default: false } } } } });
    expect(collectArguments(f, initialValues(f))).toEqual({ ok: true, args: {} });
    expect(collectArguments(f, { opts: { a: '', b: true } })).toEqual({ ok: false, errors: { 'opts.a': 'required' } });
    expect(collectArguments(f, { opts: { a: 'x', b: false } })).toEqual({ ok: true, args: { opts: { a: 'x', b: false } } });
  });
});

test('the api 400 answer lands on the fields', () => {
  expect(serverFieldErrors({ field: 'arguments.ports[1]', errors: [{ path: 'ports[1]', message: 'must be integer' }, { path: 'name', message: 'is required' }] }, 'x')).toEqual({
    'ports.1': 'must be integer',
    name: 'is required',
  });
  expect(serverFieldErrors({ field: 'arguments.name' }, 'bad name')).toEqual({ name: 'bad name' });
});

describe('a value that fails the pattern', () => {
  const IPV4 = '^(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})$';

  test('is told what is expected, from the example, the format or the description, never by the bare expression', () => {
    const f = schemaFields({
      type: 'object',
      properties: {
        target: { type: 'string', pattern: IPV4 },
        subnet: { type: 'string', pattern: '^[0-9./]+$', examples: ['192.168.1.0/24'] },
        host: { type: 'string', pattern: '^[a-z.]+$', format: 'hostname' },
        name: { type: 'string', pattern: '^[a-z]{2}$', description: 'a two-letter site code' },
        code: { type: 'string', pattern: '^[A-Z]{3}-\\d$' },
      },
    });
    const v = initialValues(f);
    Object.assign(v, { target: 'nas', subnet: 'x', host: 'NAS!', name: 'abc', code: 'q' });
    const r = collectArguments(f, v);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual({
      target: 'expected an IPv4 address such as 192.168.1.10',
      subnet: 'expected something like “192.168.1.0/24”',
      host: 'expected a host name such as nas.lan',
      name: 'not in the expected form: a two-letter site code',
      code: "not in the expected form (the tool's pattern is ^[A-Z]{3}-\\d$)",
    });
  });

  test('reads the patterns tools commonly use', () => {
    expect(patternMessage({ pattern: '^\\d+$' })).toBe('expected digits only');
    expect(patternMessage({ pattern: '^[a-z0-9_-]+$' })).toBe('expected letters, digits, “-” or “_” only');
    expect(patternMessage({ pattern: '^([0-9]{1,3}\\.){3}[0-9]{1,3}$' })).toBe('expected an IPv4 address such as 192.168.1.10');
  });
});
