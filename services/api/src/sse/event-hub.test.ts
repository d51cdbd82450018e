import { describe, expect, it } from 'vitest';
import { EventHub } from './event-hub.js';

const seqOf = (t: string) => Number(/^id: (\d+)/.exec(t)![1]);

describe('EventHub ring', () => {
  it('replays exactly the last ringSize events, however many went by', () => {
    const hub = new EventHub({ ringSize: 3 });
    for (let seq = 1; seq <= 10; seq++) hub.publish(seq, 'guest', { seq });
    expect(hub.since(10)).toEqual([]);
    expect(hub.since(7)!.map((t) => /"seq":(\d+)/.exec(t)![1])).toEqual(['8', '9', '10']);
    expect(hub.since(9)!.length).toBe(1);
    // Event 7 is no longer held: a client after 6 is too far behind.
    expect(hub.since(6)).toBeUndefined();
    expect(hub.since(11)).toBeUndefined();
  });

  it('keeps no more bytes than ringBytes, as the frames were written (UTF-8 included)', () => {
    const hub = new EventHub({ ringBytes: 1_000 });
    const texts: string[] = [];
    for (let seq = 1; seq <= 40; seq++) {
      hub.publish(seq, 'guest', { name: `zürich-☃-${'x'.repeat(seq % 7)}` });
      texts.push(hub.since(seq - 1)![0]!);
    }
    let from = 39;
    while (hub.since(from - 1) !== undefined) from--;
    const held = hub.since(from)!;
    expect(held.length).toBeGreaterThan(5);
    expect(held.reduce((n, t) => n + Buffer.byteLength(t), 0)).toBeLessThanOrEqual(1_000);
    expect(held).toEqual(texts.slice(-held.length));
  });

  it('replays every frame it holds, in order, through wrap-arounds and frames of every size', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const maxBytes = 4_096;
    const hub = new EventHub({ ringBytes: maxBytes, ringSize: 50 });
    const texts: string[] = [];
    let seq = 0;
    for (let round = 0; round < 2_000; round++) {
      seq += rnd() < 0.1 ? 2 : 1; // now and then a sequence no frame shows (setSeq)
      hub.setSeq(seq - 1);
      hub.publish(seq, 'guest', { pad: 'é'.repeat(Math.floor(rnd() * 300)) });
      texts.push(hub.since(seq - 1)![0]!);
      // What is held is a suffix of what was written: the newest frames, in order, within both limits.
      let from = seq - 1;
      while (from > 0 && hub.since(from - 1) !== undefined) from--;
      const held = hub.since(from)!;
      expect(held).toEqual(texts.slice(texts.length - held.length));
      expect(held.length).toBeLessThanOrEqual(50);
      expect(held.reduce((n, t) => n + Buffer.byteLength(t), 0)).toBeLessThanOrEqual(maxBytes);
      // Room is not wasted: at least the newest frames that fit in half the bytes are held.
      let fit = 0;
      for (let i = texts.length - 1, bytes = 0; i >= 0 && fit < 50 && (bytes += Buffer.byteLength(texts[i]!)) <= maxBytes / 2; i--) fit++;
      expect(held.length).toBeGreaterThanOrEqual(fit);
      expect(held.map(seqOf).at(-1)).toBe(seq);
    }
  });

  it('holds nothing older than a frame too big to hold: a client behind it gets a snapshot', () => {
    const hub = new EventHub({ ringBytes: 500 });
    hub.publish(1, 'guest', { a: 1 });
    hub.publish(2, 'guest', { big: 'x'.repeat(600) });
    hub.publish(3, 'guest', { a: 3 });
    expect(hub.since(2)!.map(seqOf)).toEqual([3]);
    expect(hub.since(1)).toBeUndefined();
    expect(hub.since(0)).toBeUndefined();
  });
});
