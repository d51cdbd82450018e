import { describe, expect, it } from 'vitest';
import { SendBudget } from './send-budget.js';

/** A client's queue growing by writes of `step` bytes up to `to` (as the route reports it: after each write). */
function grow(b: SendBudget, client: object, from: number, to: number, step = 50): boolean {
  let ok = true;
  for (let q = from + step; q <= to && ok; q += step) ok = b.update(client, q);
  return ok;
}

describe('SendBudget', () => {
  it('drops a client whose own queue passes the per-client cap', () => {
    const b = new SendBudget({ perClientBytes: 1000, totalBytes: 10_000, behindBytes: 100 });
    const a = {};
    expect(grow(b, a, 0, 1050)).toBe(true);
    expect(b.update(a, 1051)).toBe(false);
    expect(b.dropped).toBe(1);
  });

  it('counts every client once, at its latest size, and forgets a released one', () => {
    const b = new SendBudget({ perClientBytes: 1000, totalBytes: 10_000 });
    const a = {};
    const c = {};
    grow(b, a, 0, 300);
    grow(b, a, 300, 500);
    grow(b, c, 0, 200);
    // Each client's largest write (50 bytes) aside.
    expect(b.total).toBe(600);
    expect(b.clients).toBe(2);
    b.release(a);
    b.release(a);
    expect(b.total).toBe(150);
    expect(b.clients).toBe(1);
  });

  it('over the total, drops the clients that are behind and keeps the ones that keep up', () => {
    const b = new SendBudget({ perClientBytes: 1000, totalBytes: 1500, behindBytes: 100 });
    const stalled = [{}, {}];
    const reader = {};
    expect(grow(b, stalled[0]!, 0, 900)).toBe(true);
    expect(grow(b, reader, 0, 100)).toBe(true);
    // The second stalled client takes the total over: it is behind, so it goes.
    expect(grow(b, stalled[1]!, 0, 900)).toBe(false);
    // A reader with a small queue is never dropped for the total.
    expect(b.update(reader, 110)).toBe(true);
    b.release(stalled[1]!);
    expect(b.total).toBe(850 + 60);
  });

  it("does not count a client's largest single write (its snapshot) while it waits, only how far behind the live stream it falls", () => {
    const b = new SendBudget({ perClientBytes: 1000, totalBytes: 3000, behindBytes: 100 });
    const clients = [{}, {}, {}];
    // Three snapshots of 5,000 bytes each, over both caps, and live frames queued behind them.
    for (const c of clients) expect(b.update(c, 5_000)).toBe(true);
    for (const c of clients) expect(grow(b, c, 5_000, 5_300)).toBe(true);
    expect(b.total).toBe(900);
    // The socket takes the snapshot and some: what is left is all live frames, counted.
    expect(b.update(clients[0]!, 250)).toBe(true);
    expect(b.total).toBe(850);
    expect(grow(b, clients[0]!, 250, 1_050)).toBe(true);
    expect(b.update(clients[0]!, 1_060)).toBe(false);
    // The others are still only behind by what they hold beyond their snapshot.
    expect(grow(b, clients[1]!, 5_300, 6_000)).toBe(true);
    expect(b.update(clients[1]!, 6_010)).toBe(false);
    b.release(clients[0]!);
    b.release(clients[1]!);
    expect(b.total).toBe(300);
  });

  it('reads a negative queue (a stream with room to spare) as empty', () => {
    const b = new SendBudget();
    const a = {};
    expect(b.update(a, -4096)).toBe(true);
    expect(b.total).toBe(0);
  });
});
