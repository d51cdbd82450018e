import { describe, expect, test } from 'vitest';
import { guest, node } from '$lib/test/fixtures';
import { LIVE_TAIL_MAX, LiveTail, NodeLiveTail, withLive } from './live-tail';

const at = (s: number) => new Date(s * 1000).toISOString();

describe('a guest chart follows its live values', () => {
  test('CPU and memory at once; rates per second from two readings of the counters', () => {
    const t = new LiveTail();
    expect(t.push(guest({ lastSeen: at(1000), cpu: 0.25, mem: 100, netin: 1000, netout: 0, diskread: 0, diskwrite: 50 }))).toBe(true);
    expect(t.push(guest({ lastSeen: at(1010), cpu: 0.5, mem: 200, netin: 6000, netout: 100, diskread: 0, diskwrite: 50 }))).toBe(true);
    const [a, b] = t.after(0);
    expect(a).toMatchObject({ time: 1000, cpu: 0.25, mem: 100 });
    expect(a!.netin).toBeUndefined(); // no earlier reading: a gap, not a made-up zero
    expect(b).toMatchObject({ time: 1010, cpu: 0.5, mem: 200, netin: 500, netout: 10, diskread: 0, diskwrite: 0 });
  });

  test('a reading already seen adds nothing; a counter that went back is a gap', () => {
    const t = new LiveTail();
    t.push(guest({ lastSeen: at(1000), netin: 5000 }));
    expect(t.push(guest({ lastSeen: at(1000), netin: 9000 }))).toBe(false);
    t.push(guest({ lastSeen: at(1010), netin: 10 }));
    expect(t.after(1000)[0]!.netin).toBeUndefined();
    expect(t.push(guest({ lastSeen: null }))).toBe(false);
  });

  test('a stopped guest adds gaps, as Proxmox history does', () => {
    const t = new LiveTail();
    t.push(guest({ lastSeen: at(1000), status: 'stopped', cpu: 0, mem: 0 }));
    const [p] = t.after(0);
    expect(p!.cpu).toBeUndefined();
    expect(p!.mem).toBeUndefined();
  });

  test('only the points after Proxmox last step are added, and the tail is bounded', () => {
    const t = new LiveTail();
    for (let i = 0; i < LIVE_TAIL_MAX + 20; i++) t.push(guest({ lastSeen: at(1000 + i * 10) }));
    expect(t.after(0)).toHaveLength(LIVE_TAIL_MAX);
    const history = { time: [4000, 4060], values: { cpu: [0.1, null], mem: [5, null] } };
    const merged = withLive<'cpu' | 'mem'>(history, t);
    const added = (1000 + (LIVE_TAIL_MAX + 19) * 10 - 4060) / 10;
    expect(merged.time.slice(0, 2)).toEqual(history.time);
    expect(merged.time.slice(2).every((time) => time > 4060)).toBe(true);
    expect(merged.time).toHaveLength(2 + added);
    // Every column grows with the time: the history's values, then the live ones (a gap as null).
    expect(merged.values.cpu.slice(0, 2)).toEqual([0.1, null]);
    expect(merged.values.cpu).toHaveLength(2 + added);
    expect(merged.values.mem).toHaveLength(2 + added);
    expect(history.time).toHaveLength(2); // the answer itself is left as it came
  });

  test('nothing after the last step: the history as it is, no copy', () => {
    const t = new LiveTail();
    t.push(guest({ lastSeen: at(1000) }));
    const history = { time: [4000], values: { cpu: [0.1] } };
    expect(withLive<'cpu'>(history, t)).toBe(history);
  });
});

describe('a node chart follows its live values', () => {
  test('CPU, memory and root disk under the node history names; offline is a gap', () => {
    const t = new NodeLiveTail();
    expect(t.push(node({ lastSeen: at(1000), cpu: 0.3, mem: 5, maxmem: 10, disk: 1, maxdisk: 2 }))).toBe(true);
    expect(t.push(node({ lastSeen: at(1000), cpu: 0.9 }))).toBe(false);
    t.push(node({ lastSeen: at(1010), status: 'offline' }));
    const none = [null];
    const merged = withLive<'cpu' | 'memused' | 'memtotal' | 'rootused' | 'roottotal' | 'loadavg'>({ time: [900], values: { cpu: [0.1], memused: none, memtotal: none, rootused: none, roottotal: none, loadavg: none } }, t);
    expect(merged.time).toEqual([900, 1000, 1010]);
    expect(merged.values).toEqual({
      cpu: [0.1, 0.3, null],
      memused: [null, 5, null],
      memtotal: [null, 10, expect.any(Number)],
      rootused: [null, 1, null],
      roottotal: [null, 2, expect.any(Number)],
      loadavg: [null, null, null], // no live reading of it: a gap
    });
  });
});
