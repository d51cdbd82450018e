import { describe, expect, it } from 'vitest';
import { frame, frameParts } from './event-hub.js';
import { JsonList, jsonParts } from './json-parts.js';

const guest = (i: number) => ({ vmid: 100 + i, name: `vm-${i} "quoted" ü ✓`, tags: ['a', 'b'], cpu: i / 7, missing: undefined, at: new Date(i * 1000) });
const guestJson = (g: ReturnType<typeof guest>) => ({ ...g, status: g.vmid % 2 ? 'running' : 'stopped' });

/** The value JSON.stringify is compared with: every JsonList as the array of its items' JSON. */
function whole(value: unknown): unknown {
  if (value instanceof JsonList) return value.items.map((item) => value.toJson(item));
  if (Array.isArray(value)) return value.map(whole);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, whole(v)]));
  return value;
}

describe('jsonParts', () => {
  it('writes the text JSON.stringify writes, whatever the lengths of the lists against the chunk', () => {
    for (const n of [0, 1, 6, 7, 8, 21, 22, 500]) {
      const guests = Array.from({ length: n }, (_, i) => guest(i));
      const value = {
        seq: 12,
        skipped: undefined,
        clusters: [
          { id: 'a', status: null, guests: new JsonList(guests, guestJson), storage: [{ id: 's' }], fn: () => 1 },
          { id: 'b', guests: new JsonList(guests.slice(0, 3), guestJson) },
        ],
        mixed: [undefined, new JsonList([1, 2, 3], (x) => x * 2), () => 0, 'x'],
        role: 'viewer',
      };
      const parts = [...jsonParts(value, { chunk: 7, minPart: 1 })];
      expect(parts.join(''), `${n} guests`).toBe(JSON.stringify(whole(value)));
      // Written in parts: a list of more than one chunk is more than one part.
      if (n > 7) expect(parts.length).toBeGreaterThan(n / 7);
    }
  });

  it('joins small parts up to minPart, and writes a value with no list as JSON.stringify', () => {
    const guests = Array.from({ length: 100 }, (_, i) => guest(i));
    const parts = [...jsonParts({ guests: new JsonList(guests, guestJson) }, { chunk: 1, minPart: 2_000 })];
    expect(parts.join('')).toBe(JSON.stringify({ guests: guests.map(guestJson) }));
    for (const p of parts.slice(0, -1)) expect(p.length).toBeGreaterThanOrEqual(2_000);
    expect([...jsonParts({ a: [1, { b: 2 }], c: new Date(0) })]).toEqual([JSON.stringify({ a: [1, { b: 2 }], c: new Date(0) })]);
    expect([...jsonParts(undefined)]).toEqual([]);
  });
});

describe('frameParts', () => {
  it("writes frame()'s text, id and event first, the blank line last", () => {
    const guests = Array.from({ length: 50 }, (_, i) => guest(i));
    const parts = [...frameParts('snapshot', { seq: 3, guests: new JsonList(guests, guestJson), role: 'operator' }, 3, { chunk: 10, minPart: 1 })];
    expect(parts.length).toBeGreaterThan(5);
    expect(parts.join('')).toBe(frame('snapshot', { seq: 3, guests: guests.map(guestJson), role: 'operator' }, 3));
    expect([...frameParts('health', { ok: true })].join('')).toBe(frame('health', { ok: true }));
  });
});
