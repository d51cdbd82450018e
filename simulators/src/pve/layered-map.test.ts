import { describe, expect, it } from 'vitest';
import { GONE, LayeredMap, type Change } from './layered-map.js';
import { createRng } from './rng.js';

describe('a layered map', () => {
  const contents = (m: LayeredMap<number, string>) => new Map([...m.keys()].map((k) => [k, m.get(k)]));

  it('reads like a plain map after any changes, through folds into a new base; every map handed out stays as it was', () => {
    for (const seed of [1, 2, 3]) {
      const rng = createRng(seed);
      let m = LayeredMap.empty<number, string>();
      const plain = new Map<number, string>();
      const handedOut: [LayeredMap<number, string>, Map<number, string>][] = [];
      for (let step = 0; step < 400; step++) {
        // Some steps change many keys at once (past the fold threshold), most a few.
        const n = rng.chance(0.05) ? rng.int(50, 300) : rng.int(0, 6);
        const changes = new Map<number, Change<string>>();
        for (let i = 0; i < n; i++) {
          const key = rng.int(0, 600);
          if (rng.chance(0.3)) changes.set(key, GONE);
          else changes.set(key, `${key}@${step}`);
        }
        m = m.with(changes);
        for (const [k, v] of changes) {
          if (v === GONE) plain.delete(k);
          else plain.set(k, v);
        }
        expect(m.size).toBe(plain.size);
        expect(contents(m)).toEqual(plain);
        for (let k = 0; k <= 600; k += 37) {
          expect(m.has(k)).toBe(plain.has(k));
          expect(m.get(k)).toBe(plain.get(k));
        }
        if (step % 20 === 0) handedOut.push([m, new Map(plain)]);
      }
      for (const [map, asItWas] of handedOut) {
        expect(map.size).toBe(asItWas.size);
        expect(contents(map)).toEqual(asItWas);
      }
    }
  });

  it('is itself when there is nothing to change', () => {
    const m = LayeredMap.empty<number, string>().with(new Map([[1, 'a']]));
    expect(m.with(new Map())).toBe(m);
  });
});
