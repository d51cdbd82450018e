import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventHub } from './event-hub.js';
import { SnapshotShare, blocks } from './snapshot-share.js';

/** A snapshot's parts as its text. */
const text = (parts: readonly Uint8Array[]) => Buffer.concat(parts).toString('utf8');

describe('SnapshotShare', () => {
  it('builds one snapshot for the clients that connect together, per role', () => {
    const hub = new EventHub();
    let now = 1_000;
    const share = new SnapshotShare(() => hub.generation, 1_000, () => now);
    let builds = 0;
    const build = () => [`snapshot ${++builds}`];
    const first = share.parts('viewer', build);
    expect(share.parts('viewer', build)).toBe(first);
    now += 999;
    expect(share.parts('viewer', build)).toBe(first);
    expect(builds).toBe(1);
    // Another role sees another snapshot.
    expect(text(share.parts('operator', build))).toBe('snapshot 2');
  });

  it('builds anew once anything was sent on the stream, or when it is too old', () => {
    const hub = new EventHub();
    let now = 0;
    const share = new SnapshotShare(() => hub.generation, 1_000, () => now);
    let builds = 0;
    const build = () => [`snapshot ${++builds}`];
    share.parts('viewer', build);
    hub.publish(1, 'guest', { vmid: 100 });
    expect(text(share.parts('viewer', build))).toBe('snapshot 2');
    hub.ephemeral('approval', { id: 'a' });
    expect(text(share.parts('viewer', build))).toBe('snapshot 3');
    hub.setSeq(2);
    expect(text(share.parts('viewer', build))).toBe('snapshot 4');
    now += 1_000;
    expect(text(share.parts('viewer', build))).toBe('snapshot 5');
  });

  afterEach(() => vi.useRealTimers());

  it('lets go of the snapshot once it can no longer be shared (it is megabytes at 15,000 guests)', () => {
    vi.useFakeTimers();
    const hub = new EventHub();
    const share = new SnapshotShare(() => hub.generation, 1_000);
    share.parts('viewer', () => ['x'.repeat(100)]);
    expect(share.holding).toBe(true);
    vi.advanceTimersByTime(999);
    expect(share.holding).toBe(true);
    vi.advanceTimersByTime(1);
    expect(share.holding).toBe(false);
  });
});

describe('SnapshotShare.parts', () => {
  it('encodes the parts as they are built, and shares the bytes like a text', () => {
    const hub = new EventHub();
    const share = new SnapshotShare(() => hub.generation, 1_000, () => 0);
    let builds = 0;
    const build = function* () {
      builds++;
      yield 'id: 1\nevent: snapshot\ndata: {"a":';
      yield '"ü✓"}\n\n';
    };
    const parts = share.parts('viewer', build);
    expect(parts).toHaveLength(1);
    expect(text(parts)).toBe('id: 1\nevent: snapshot\ndata: {"a":"ü✓"}\n\n');
    expect(share.parts('viewer', build)).toBe(parts);
    expect(builds).toBe(1);
    hub.publish(1, 'guest', { vmid: 100 });
    expect(share.parts('viewer', build)).not.toBe(parts);
    expect(builds).toBe(2);
  });
});

describe('blocks', () => {
  it('writes the texts in blocks of at least the size given, the last one excepted', () => {
    const texts = ['ü'.repeat(300), 'a'.repeat(500), 'b'.repeat(100), '✓'.repeat(400), 'c'.repeat(50)];
    const out = blocks(texts, 1_000);
    expect(out.map((b) => b.byteLength)).toEqual([600 + 500, 100 + 1_200, 50]);
    expect(text(out)).toBe(texts.join(''));
  });

  it('gives no block for no text, and one block for texts under the size', () => {
    expect(blocks([], 1_000)).toEqual([]);
    expect(text(blocks(['x', 'y'], 1_000))).toBe('xy');
    expect(blocks(['x', 'y'], 1_000)).toHaveLength(1);
  });
});
