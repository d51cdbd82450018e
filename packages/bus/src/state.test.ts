import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS, decodeMessage, type Agent } from '@molten/contracts';
import { waitFor } from '@molten/testkit';
import type { Bus } from './connect.js';
import { StatePublisher, differs } from './state.js';
import { busFixture } from './test/fixtures.js';

const agent = (id: string, model = 'm1'): Agent => ({ gateway: 'gw', id, name: id, description: '', isDefault: false, model });
const byId = { id: (a: Agent) => a.id };

describe('state publisher', () => {
  let fx: Awaited<ReturnType<typeof busFixture>>;
  let bus: Bus;
  /** Every message on a scope's state subjects, as "<id>" (published) or "-<id>" (removed). */
  const seen = new Map<string, string[]>();

  beforeAll(async () => {
    fx = await busFixture();
    bus = await fx.connect('state-test');
    const sub = bus.nc.subscribe('molten.state.moltbot.>');
    void (async () => {
      for await (const m of sub) {
        const [, , , scope, , id] = m.subject.split('.');
        const removed = m.headers?.get(HEADERS.op) === 'DEL';
        seen.set(scope!, [...(seen.get(scope!) ?? []), removed ? `-${id}` : id!]);
      }
    })();
    await bus.nc.flush();
  });
  afterAll(() => fx.dispose());

  const messages = (scope: string) => seen.get(scope) ?? [];
  /** Waits until the scope's messages are exactly `expected` (a publish and its event travel apart). */
  const expectMessages = (scope: string, expected: string[]) =>
    waitFor(() => messages(scope).length >= expected.length, { message: `${expected.length} state messages on ${scope}` }).then(() => expect(messages(scope)).toEqual(expected));
  const stored = async (p: StatePublisher) => (await p.keys('agent')).map((k) => k.split('.').at(-1)).sort();

  it('publishes what is new or changed and removes what disappeared, nothing else', async () => {
    const p = new StatePublisher(bus, 'moltbot', 's1');
    expect(await p.sync('agent', [agent('a'), agent('b')], byId)).toEqual({ published: 2, removed: [] });
    expect(await p.sync('agent', [agent('a'), agent('b')], byId)).toEqual({ published: 0, removed: [] });
    expect(await p.sync('agent', [agent('a', 'm2'), agent('c')], byId)).toEqual({ published: 2, removed: ['b'] });
    await expectMessages('s1', ['a', 'b', 'a', 'c', '-b']);
    expect(await stored(p)).toEqual(['a', 'c']);
    const e = await bus.kv.state.get('moltbot.s1.agent.a');
    expect(decodeMessage('molten.v1.Agent', e!.value).model).toBe('m2');
  });

  it('takes from the snapshot only entries that fit their key: another kind or another id is republished', async () => {
    const p0 = new StatePublisher(bus, 'moltbot', 's9');
    await p0.sync('agent', [agent('a'), agent('b')], byId);
    await expectMessages('s9', ['a', 'b']);
    // A foreign writer leaves agent b's bytes under a's key.
    await bus.kv.state.put('moltbot.s9.agent.a', (await bus.kv.state.get('moltbot.s9.agent.b'))!.value);
    const p = new StatePublisher(bus, 'moltbot', 's9');
    // What a sync's producer sees as the previous value (adapter-runtime builds descriptors from it).
    let previous: unknown = 'not asked';
    expect(await p.sync('agent', () => ((previous = p.get('agent', 'a')), [agent('a'), agent('b')]), byId)).toEqual({ published: 1, removed: [] });
    expect(previous).toBeUndefined();
    await expectMessages('s9', ['a', 'b', 'a']);
    expect(decodeMessage('molten.v1.Agent', (await bus.kv.state.get('moltbot.s9.agent.a'))!.value).id).toBe('a');
  });

  it('starts from the snapshot after a reset: a new leader publishes only changes and removes what its predecessor left', async () => {
    const before = new StatePublisher(bus, 'moltbot', 's2');
    await before.sync('agent', [agent('a'), agent('b'), agent('gone')], byId);
    await expectMessages('s2', ['a', 'b', 'gone']);

    const after = new StatePublisher(bus, 'moltbot', 's2'); // another replica, or this one after a lease change
    expect(await after.sync('agent', [agent('a'), agent('b', 'm2')], byId)).toEqual({ published: 1, removed: ['gone'] });
    expect(after.get('agent', 'a')).toMatchObject({ id: 'a', model: 'm1' });
    await expectMessages('s2', ['a', 'b', 'gone', 'b', '-gone']);

    after.reset();
    expect(after.get('agent', 'a')).toBeUndefined();
    expect(await after.read('agent', 'a')).toMatchObject({ id: 'a' }); // from the snapshot
    expect(await after.read('agent', 'nobody')).toBeUndefined();
    expect(await after.sync('agent', [agent('a'), agent('b', 'm2')], byId)).toEqual({ published: 0, removed: [] });
  });

  it('keeps the published value while a reading has not changed enough, so small drifts add up', async () => {
    const p = new StatePublisher(bus, 'moltbot', 's3');
    // "changed" here: the model's number moved by 2 or more.
    const changed = (a: Agent, b: Agent) => Math.abs(Number(a.model.slice(1)) - Number(b.model.slice(1))) >= 2;
    const results = [];
    for (const model of ['m1', 'm2', 'm3', 'm4']) results.push((await p.sync('agent', [agent('a', model)], { ...byId, changed })).published);
    expect(results).toEqual([1, 0, 1, 0]); // m3 is 2 away from the published m1; m4 only 1 from m3
    expect(p.get('agent', 'a')?.model).toBe('m3');
  });

  it('removes an item only after the given number of syncs in a row without it', async () => {
    const p = new StatePublisher(bus, 'moltbot', 's4');
    const sync = (ids: string[]) => p.sync('agent', ids.map((id) => agent(id)), { ...byId, removeAfterMisses: 2 });
    await sync(['a', 'b']);
    expect((await sync(['a'])).removed).toEqual([]);
    expect((await sync(['a', 'b'])).removed).toEqual([]); // back: the count starts again
    expect((await sync(['a'])).removed).toEqual([]);
    expect((await sync(['a'])).removed).toEqual(['b']);
    expect(await stored(p)).toEqual(['a']);
  });

  it('remembers single puts and removals, so a sync does not repeat them', async () => {
    const p = new StatePublisher(bus, 'moltbot', 's5');
    await p.put('agent', 'a', agent('a', 'm9'));
    await p.remove('agent', 'never-listed');
    expect(await p.sync('agent', [agent('a', 'm9')], byId)).toEqual({ published: 0, removed: [] });
    await expectMessages('s5', ['a', '-never-listed']);
  });

  it('forgets what it knew when a write fails, so the next sync compares with the snapshot again', async () => {
    const p = new StatePublisher(bus, 'moltbot', 's6');
    await p.sync('agent', [agent('a')], byId);
    const kv = bus.kv.state;
    const put = kv.put.bind(kv);
    kv.put = async () => {
      throw new Error('the bus is away');
    };
    try {
      await expect(p.sync('agent', [agent('a', 'm2'), agent('b')], byId)).rejects.toThrow('the bus is away');
    } finally {
      kv.put = put;
    }
    expect(p.get('agent', 'a')).toBeUndefined();
    // Nothing of the failed sync reached the snapshot: both are published again.
    expect(await p.sync('agent', [agent('a', 'm2'), agent('b')], byId)).toEqual({ published: 2, removed: [] });
    expect(await stored(p)).toEqual(['a', 'b']);
  });
});

describe('differs', () => {
  it('compares message values field by field, an absent field counting as undefined', () => {
    expect(differs({ a: 1, b: [1, 2], c: { d: 'x' } }, { a: 1, b: [1, 2], c: { d: 'x' } })).toBe(false);
    expect(differs({ a: 1, lock: undefined }, { a: 1 })).toBe(false);
    expect(differs({ a: 1 }, { a: 1, lock: 'backup' })).toBe(true);
    expect(differs({ b: [1, 2] }, { b: [1, 2, 3] })).toBe(true);
    expect(differs({ c: { d: 'x' } }, { c: { d: 'y' } })).toBe(true);
    expect(differs({ u: new Uint8Array([1]) }, { u: new Uint8Array([1]) })).toBe(false);
    expect(differs({ u: new Uint8Array([1]) }, { u: [1] })).toBe(true);
    expect(differs(undefined, { a: 1 })).toBe(true);
  });
});
