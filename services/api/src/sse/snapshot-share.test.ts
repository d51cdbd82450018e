import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventHub } from './event-hub.js';
import { SnapshotShare, blocks } from './snapshot-share.js';

/** A snapshot's parts as its text. */
const text = (parts: readonly Uint8Array[]) => Buffer.concat(parts).toString('utf8');

describe('SnapshotShare', () => {
  it('builds one snapshot for the clients that connect together, per role', () => {
    const hub = new EventHub();
    let now = 1_000;
    const share = new SnapshotShare(hub, 1_000, () => now);
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

  it('follows a shared snapshot with the events sent since it was built, as a resume would', () => {
    const hub = new EventHub();
    let now = 0;
    const share = new SnapshotShare(hub, 1_000, () => now);
    let builds = 0;
    const build = () => [`id: ${hub.lastSeq}\nevent: snapshot\ndata: ${++builds}\n\n`];
    expect(text(share.parts('viewer', build))).toBe('id: 0\nevent: snapshot\ndata: 1\n\n');
    hub.publish(1, 'guest', { vmid: 100 });
    // An event that shows nothing moves the sequence on; nothing is replayed for it.
    hub.setSeq(2);
    hub.publish(3, 'guest', { vmid: 101 });
    // Health and keep-alives: a new client gets its own health; neither is part of a snapshot.
    hub.ephemeral('health', { ok: true }, { stateless: true });
    hub.ephemeral('ping', {}, { stateless: true });
    now += 999;
    const shared = text(share.parts('viewer', build));
    expect(shared).toBe('id: 0\nevent: snapshot\ndata: 1\n\n' + hub.since(0)!.join(''));
    expect(shared).toContain('"vmid":100');
    expect(shared.indexOf('"vmid":100')).toBeLessThan(shared.indexOf('"vmid":101'));
    expect(builds).toBe(1);
  });

  it('builds anew after a live-only change a snapshot holds, when the ring lost an event since, or when it is too old', () => {
    const hub = new EventHub({ ringSize: 2 });
    let now = 0;
    const share = new SnapshotShare(hub, 1_000, () => now);
    let builds = 0;
    const build = () => [`snapshot ${++builds}`];
    share.parts('viewer', build);
    // An approval (or a command read back from the store) is not in the ring: it cannot be replayed.
    hub.ephemeral('approval', { id: 'a' });
    expect(text(share.parts('viewer', build))).toBe('snapshot 2');
    hub.ephemeral('command', { id: 'c' });
    expect(text(share.parts('viewer', build))).toBe('snapshot 3');
    // Three events since, the ring holds two: the first one could not be replayed.
    for (const seq of [1, 2, 3]) hub.publish(seq, 'guest', { vmid: seq });
    expect(text(share.parts('viewer', build))).toBe('snapshot 4');
    now += 1_000;
    expect(text(share.parts('viewer', build))).toBe('snapshot 5');
  });

  afterEach(() => vi.useRealTimers());

  it('lets go of the snapshot once it can no longer be shared (it is megabytes at 15,000 guests)', () => {
    vi.useFakeTimers();
    const hub = new EventHub();
    const share = new SnapshotShare(hub, 1_000);
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
    const share = new SnapshotShare(hub, 1_000, () => 0);
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
    const followed = share.parts('viewer', build);
    expect(followed[0]).toBe(parts[0]);
    expect(text(followed.slice(1))).toBe(hub.since(0)!.join(''));
    expect(builds).toBe(1);
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
