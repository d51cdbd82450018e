import { describe, expect, it } from 'vitest';
import { SlicedList, encodeSliced } from './sliced-list.js';

describe('an answer written in slices', () => {
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `qemu/${100 + i}`, name: i % 3 ? `vm-${i}` : 'quote " and \\ and \u2028', cpu: i / 7, tags: i % 2 ? undefined : 'a;b' }));

  it("gives exactly JSON.stringify({ data: rows })'s bytes, at every slice boundary", async () => {
    for (const n of [0, 1, 2, 3, 4, 5, 9]) {
      for (const sliceRows of [1, 2, 3, 500]) {
        const list = rows(n);
        const body = await encodeSliced(new SlicedList(() => list), sliceRows);
        expect(body.toString()).toBe(JSON.stringify({ data: list }));
      }
    }
  });

  it('frees the event loop between slices, each row made as its slice is written: work queued meanwhile runs before the last row is made', async () => {
    const seen: string[] = [];
    function* made() {
      for (let i = 0; i < 6; i++) {
        seen.push(`row ${i}`);
        yield { i };
      }
    }
    const body = encodeSliced(new SlicedList(made), 2);
    // Another request's work, queued while the first slice is being written.
    setImmediate(() => seen.push('other'));
    await body;
    expect(seen.indexOf('other')).toBeGreaterThan(0);
    expect(seen.indexOf('other')).toBeLessThan(seen.indexOf('row 5'));
    expect(seen.filter((s) => s.startsWith('row'))).toHaveLength(6);
  });
});
