import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { helloOk } from '@molten/moltbot-adapter/protocol';
import { compareShapes, runSequence, schemaPaths, shapeOf } from './frame-shapes.js';

describe('frame shapes', () => {
  const schema = z.looseObject({
    id: z.string(),
    auth: z.looseObject({ scopes: z.array(z.string()), token: z.string().optional() }).optional(),
    rows: z.array(z.looseObject({ key: z.string(), at: z.number().nullable().optional() })),
    model: z.union([z.string(), z.looseObject({ primary: z.string() }).transform((m) => m.primary)]).optional(),
  });

  it('lists the paths a schema reads, through optionals, arrays, unions and transforms', () => {
    expect(schemaPaths(schema)).toEqual(['id', 'auth', 'auth.scopes', 'auth.token', 'rows', 'rows[].key', 'rows[].at', 'model', 'model.primary']);
    // The adapter's lenient() schemas are read through to what they wrap.
    expect(schemaPaths(helloOk)).toEqual(expect.arrayContaining(['protocol', 'server.version', 'features.methods', 'auth.deviceToken', 'policy.tickIntervalMs']));
  });

  it('tells type differences, what the simulator lacks, and what only it sends', () => {
    const paths = schemaPaths(schema);
    const real = shapeOf({ id: 'a', auth: { scopes: ['x'] }, rows: [{ key: 'k', at: 1 }, { key: 'l', at: null }], model: { primary: 'p/m' } }, paths);
    expect(real).toMatchObject({ id: 'string', 'auth.token': 'absent', 'rows[].at': 'null|number', model: 'object', 'model.primary': 'string' });
    const sim = shapeOf({ id: 'a', auth: { scopes: ['x'], token: 't' }, rows: [{ key: 'k', at: 2 }], model: 'p/m' }, paths);
    expect(compareShapes(real, sim)).toEqual({
      mismatched: ['rows[].at: real null|number, simulator number', 'model: real object, simulator string'],
      missingInSim: ['model.primary'],
      extraInSim: ['auth.token'],
    });
    expect(compareShapes(real, real)).toEqual({ mismatched: [], missingInSim: [], extraInSim: [] });
  });

  it('reduces a run to the kinds of frames it sends, in order of first appearance', () => {
    const agent = (stream: string, phase?: string) => ({ event: 'agent', payload: { stream, data: phase ? { phase } : {} } });
    const chat = (state: string) => ({ event: 'chat', payload: { state } });
    expect(runSequence([agent('lifecycle', 'start'), agent('assistant'), chat('delta'), agent('assistant'), chat('delta'), agent('lifecycle', 'end'), chat('final'), { res: 'final' }])).toEqual([
      'agent:lifecycle:start',
      'agent:assistant',
      'chat:delta',
      'agent:lifecycle:end',
      'chat:final',
      'res:final',
    ]);
  });
});
