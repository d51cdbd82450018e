import { describe, expect, it } from 'vitest';
import { ReadCache } from './read-cache.js';

describe('ReadCache', () => {
  it('serves a value until its expiry, then loads again', async () => {
    let t = 1_000;
    const cache = new ReadCache<number>({ now: () => t });
    let n = 0;
    const load = async () => ++n;
    expect(await cache.get('k', load, (_v, at) => at + 100)).toMatchObject({ value: 1, hit: false, fetchedAt: 1_000, expiresAt: 1_100 });
    t = 1_099;
    expect(await cache.get('k', load, (_v, at) => at + 100)).toMatchObject({ value: 1, hit: true });
    t = 1_100;
    expect(await cache.get('k', load, (_v, at) => at + 100)).toMatchObject({ value: 2, hit: false });
    expect(cache.loads).toBe(2);
  });

  it('one load for concurrent askers of a key, separate loads for separate keys', async () => {
    const cache = new ReadCache<string>();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let loads = 0;
    const load = (v: string) => async () => {
      loads++;
      await gate;
      return v;
    };
    const asks = [...Array.from({ length: 20 }, () => cache.get('a', load('A'), (_v, at) => at + 60_000)), cache.get('b', load('B'), (_v, at) => at + 60_000)];
    release();
    const got = await Promise.all(asks);
    expect(loads).toBe(2);
    expect(got.filter((g) => !g.hit)).toHaveLength(2);
    expect(got.map((g) => g.value)).toEqual([...Array(20).fill('A'), 'B']);
  });

  it('keeps nothing when the load throws or the expiry is already past', async () => {
    const cache = new ReadCache<number>();
    await expect(cache.get('k', async () => { throw new Error('down'); }, () => Infinity)).rejects.toThrow('down');
    await cache.get('k', async () => 1, (_v, at) => at);
    expect(cache.size).toBe(0);
    expect((await cache.get('k', async () => 2, (_v, at) => at + 1_000)).value).toBe(2);
  });

  it('stays within maxEntries, dropping the expired first, then the oldest', async () => {
    let t = 0;
    const cache = new ReadCache<number>({ now: () => t, maxEntries: 3 });
    await cache.get('short', async () => 0, (_v, at) => at + 10);
    await cache.get('a', async () => 1, (_v, at) => at + 1_000);
    await cache.get('b', async () => 2, (_v, at) => at + 1_000);
    t = 20;
    await cache.get('c', async () => 3, (_v, at) => at + 1_000); // 'short' expired: it goes
    expect(cache.size).toBe(3);
    await cache.get('d', async () => 4, (_v, at) => at + 1_000); // full of live ones: 'a' (oldest) goes
    expect((await cache.get('b', async () => -1, (_v, at) => at + 1_000)).hit).toBe(true);
    expect((await cache.get('a', async () => -1, (_v, at) => at + 1_000)).value).toBe(-1);
  });
});
