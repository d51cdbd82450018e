import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseLenient } from './lenient.js';

const row = z.looseObject({ key: z.string().min(1), label: z.string().optional(), tokens: z.number().optional() });
const list = z.looseObject({ count: z.number().optional(), rows: z.array(row) });
const hello = z.looseObject({
  protocol: z.number(),
  auth: z.looseObject({ role: z.string(), scopes: z.array(z.string()), deviceToken: z.string().optional() }).optional(),
});

describe('lenient parsing', () => {
  it('passes what fits untouched, unknown keys included', () => {
    const r = parseLenient(hello, { protocol: 4, auth: { role: 'operator', scopes: ['operator.read'], recoveryScope: 'x' }, pluginSurfaceUrls: {} });
    expect(r).toEqual({ success: true, dropped: [], data: { protocol: 4, auth: { role: 'operator', scopes: ['operator.read'], recoveryScope: 'x' }, pluginSurfaceUrls: {} } });
  });

  it('drops an optional field of the wrong type and keeps the rest', () => {
    const r = parseLenient(hello, { protocol: 4, auth: { role: 'operator', scopes: [], deviceToken: 42 } });
    expect(r.success).toBe(true);
    expect(r.success && r.data.auth).toEqual({ role: 'operator', scopes: [] });
    expect(r.dropped).toEqual([expect.stringMatching(/^auth\.deviceToken \(/)]);
  });

  it('drops an optional object whose required field does not fit, climbing one level at a time', () => {
    const r = parseLenient(hello, { protocol: 4, auth: { role: 7, scopes: ['operator.read'] } });
    expect(r.success && r.data).toEqual({ protocol: 4 });
    expect(r.dropped.map((d) => d.split(' ')[0])).toEqual(['auth.role', 'auth']);
  });

  it('drops the rows of a list that do not fit, whatever their position', () => {
    const r = parseLenient(list, { count: 'many', rows: [{ key: 'a' }, { key: '' }, { key: 'c', tokens: 'x' }, { label: 'no key' }, { key: 'e' }] });
    expect(r.success && r.data).toEqual({ rows: [{ key: 'a' }, { key: 'c' }, { key: 'e' }] });
    expect(r.dropped.map((d) => d.split(' ')[0]).sort()).toEqual(['count', 'rows[1]', 'rows[1].key', 'rows[2].tokens', 'rows[3]'].sort());
  });

  it('fails when what the schema needs at the top does not fit', () => {
    const r = parseLenient(hello, { protocol: '4' });
    expect(r.success).toBe(false);
    expect(parseLenient(list, { rows: 'none' }).success).toBe(false);
    expect(parseLenient(list, 'not an object').success).toBe(false);
  });
});
