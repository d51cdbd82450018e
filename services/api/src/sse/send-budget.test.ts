import { describe, expect, it } from 'vitest';
import { SendBudget } from './send-budget.js';

describe('SendBudget', () => {
  it('drops a client whose own queue passes the per-client cap', () => {
    const b = new SendBudget({ perClientBytes: 1000, totalBytes: 10_000, behindBytes: 100 });
    const a = {};
    expect(b.update(a, 1000)).toBe(true);
    expect(b.update(a, 1001)).toBe(false);
    expect(b.dropped).toBe(1);
  });

  it('counts every client once, at its latest size, and forgets a released one', () => {
    const b = new SendBudget({ perClientBytes: 1000, totalBytes: 10_000 });
    const a = {};
    const c = {};
    b.update(a, 300);
    b.update(a, 500);
    b.update(c, 200);
    expect(b.total).toBe(700);
    expect(b.clients).toBe(2);
    b.release(a);
    b.release(a);
    expect(b.total).toBe(200);
    expect(b.clients).toBe(1);
  });

  it('over the total, drops the clients that are behind and keeps the ones that keep up', () => {
    const b = new SendBudget({ perClientBytes: 1000, totalBytes: 1500, behindBytes: 100 });
    const stalled = [{}, {}];
    const reader = {};
    expect(b.update(stalled[0]!, 900)).toBe(true);
    expect(b.update(reader, 50)).toBe(true);
    // The second stalled client takes the total over: it is behind, so it goes.
    expect(b.update(stalled[1]!, 900)).toBe(false);
    // A reader with a small queue is never dropped for the total.
    expect(b.update(reader, 60)).toBe(true);
    b.release(stalled[1]!);
    expect(b.total).toBe(960);
  });

  it('reads a negative queue (a stream with room to spare) as empty', () => {
    const b = new SendBudget();
    const a = {};
    expect(b.update(a, -4096)).toBe(true);
    expect(b.total).toBe(0);
  });
});
