import { describe, expect, it } from 'vitest';
import { inputSchemaOf } from './input-schemas.js';

const validate = (s: ReturnType<typeof inputSchemaOf>, v: unknown) => s['~standard'].validate(v) as { value?: unknown; issues?: unknown[] };

describe('inputSchemaOf', () => {
  it('compiles a schema once: the same text gives the same validator, another text another', () => {
    const schema = { type: 'object', properties: { container: { type: 'string' } }, required: ['container'] };
    const first = inputSchemaOf(schema);
    expect(inputSchemaOf(JSON.parse(JSON.stringify(schema)))).toBe(first);
    expect(inputSchemaOf({ ...schema, required: [] })).not.toBe(first);
  });

  it('validates as the schema says, and offers a schema it cannot read as any object', () => {
    const s = inputSchemaOf({ type: 'object', properties: { tail: { type: 'integer', maximum: 1000 } }, required: ['tail'], additionalProperties: false });
    expect(validate(s, { tail: 5 }).issues).toBeUndefined();
    expect(validate(s, { tail: 5000 }).issues).toHaveLength(1);
    expect(validate(s, {}).issues).toHaveLength(1);
    for (const broken of [null, [1], 'text', { type: 'object', properties: { a: { type: 'no-such-type' } } }]) {
      expect(validate(inputSchemaOf(broken), { anything: true }).issues).toBeUndefined();
    }
  });
});
