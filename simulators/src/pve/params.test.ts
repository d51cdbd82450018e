import { describe, expect, it } from 'vitest';
import { PveError } from './errors.js';
import { std, validateParams, type ParamSchema } from './params.js';

const errorsOf = (schema: ParamSchema, raw: Record<string, unknown>) => {
  try {
    validateParams(schema, raw);
  } catch (err) {
    expect(err).toBeInstanceOf(PveError);
    expect((err as PveError).status).toBe(400);
    expect((err as PveError).message).toBe('Parameter verification failed.\n');
    return (err as PveError).errors;
  }
  throw new Error('expected a parameter error');
};

describe('parameter verification (pve-common JSONSchema texts)', () => {
  const schema: ParamSchema = {
    node: std.node,
    vmid: std.vmid,
    forceStop: { type: 'boolean', optional: true },
    timeout: std.timeout,
    source: { type: 'string', enum: ['archive', 'active', 'all'], optional: true },
    statusfilter: { type: 'string', format: 'pve-task-status-type-list', optional: true },
    todisk: { type: 'boolean', optional: true },
    statestorage: { type: 'string', optional: true, requires: 'todisk' },
  };

  it('converts integers and 1/0 or JSON booleans', () => {
    expect(validateParams(schema, { node: 'pve1', vmid: '100', forceStop: '1', timeout: 30 })).toEqual({
      node: 'pve1',
      vmid: 100,
      forceStop: true,
      timeout: 30,
    });
    expect(validateParams(schema, { node: 'pve1', vmid: 100, forceStop: false }).forceStop).toBe(false);
  });

  it('reports every problem with PVE wording', () => {
    expect(
      errorsOf(schema, {
        node: '-bad',
        vmid: 'abc',
        forceStop: 'true',
        timeout: '-1',
        source: 'everything',
        statusfilter: 'ok,running',
        bogus: 'x',
      }),
    ).toEqual({
      node: 'invalid format - value does not look like a valid node name\n',
      vmid: "type check ('integer') failed - got 'abc'",
      forceStop: "type check ('boolean') failed - got 'true'",
      timeout: 'value must have a minimum value of 0',
      source: "value 'everything' does not have a value in the enumeration 'archive, active, all'",
      statusfilter: "invalid format - invalid status 'running'\n",
      bogus: 'property is not defined in schema and the schema does not allow additional properties',
    });
  });

  it('checks the vmid format after the type, and required and dependent properties', () => {
    expect(errorsOf(schema, { node: 'pve1', vmid: '99' })).toEqual({ vmid: 'invalid format - value does not look like a valid VM ID\n' });
    expect(errorsOf(schema, { vmid: '100' })).toEqual({ node: 'property is missing and it is not optional' });
    expect(errorsOf(schema, { node: 'pve1', vmid: '100', statestorage: 'local' })).toEqual({
      todisk: "missing property required by 'statestorage'",
    });
    expect(errorsOf(schema, { node: 'pve1', vmid: true })).toEqual({ vmid: "type check ('integer') failed - got JSON::PP::Boolean" });
    expect(errorsOf(schema, { node: { a: 1 }, vmid: '100' })).toEqual({ node: "type check ('string') failed - got HASH" });
  });
});
