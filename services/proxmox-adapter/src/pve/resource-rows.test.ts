import { describe, expect, it } from 'vitest';
import { ResourceRows, checkResourceRow, rowSpans, sameButCounters, type ResourceRow } from './resource-rows.js';

const guest = (vmid: number, o: Record<string, unknown> = {}) => ({ id: `qemu/${vmid}`, type: 'qemu', vmid, node: 'pve1', status: 'running', name: `vm-${vmid}`, uptime: 10, cpu: 0.1, maxcpu: 2, ...o });
const body = (rows: unknown[], space?: number) => Buffer.from(JSON.stringify({ data: rows }, null, space));

/** A reader whose builds are counted; items are the checked rows themselves. */
function reader() {
  const built: string[] = [];
  const rows = new ResourceRows<ResourceRow>((row) => {
    built.push(row.id);
    return row;
  });
  return { rows, built };
}

describe('checkResourceRow', () => {
  it("accepts what Proxmox sends: 0/1 and string booleans, numbers as strings, unknown keys (dropped)", () => {
    expect(checkResourceRow({ id: 'lxc/106', type: 'lxc', vmid: '106', template: 1, shared: '0', maxmem: '5.5e2', 'cgroup-mode': 2, tags: 'a;b' })).toEqual({
      id: 'lxc/106',
      type: 'lxc',
      vmid: 106,
      template: true,
      shared: false,
      maxmem: 550,
      tags: 'a;b',
    });
  });

  it('names the field that is not what Proxmox sends', () => {
    expect(() => checkResourceRow({ type: 'qemu' })).toThrow('id: expected a string, got undefined');
    expect(() => checkResourceRow({ id: 'qemu/1', type: 'qemu', vmid: 'one' })).toThrow('vmid: expected a number, got "one"');
    expect(() => checkResourceRow({ id: 'qemu/1', type: 'qemu', name: null })).toThrow('name: expected a string, got null');
    expect(() => checkResourceRow({ id: 'qemu/1', type: 'qemu', template: {} })).toThrow('template: expected 0/1 or a boolean, got an object');
    expect(() => checkResourceRow([1])).toThrow('expected an object, got an array');
  });
});

describe('rowSpans', () => {
  it("finds each row, whatever its strings hold (brackets, escaped quotes, backslashes, UTF-8)", () => {
    const rows = [guest(1, { name: 'a}b{c' }), guest(2, { name: 'q"]["\\', tags: 'x' }), guest(3, { name: 'zürich-☃', nested: { a: [1, { b: '}' }] } })];
    for (const space of [undefined, 2]) {
      const b = body(rows, space);
      const starts: number[] = [];
      const ends: number[] = [];
      expect(rowSpans(b, starts, ends)).toBe(true);
      expect(starts.map((s, k) => JSON.parse(b.toString('utf8', s, ends[k])))).toEqual(rows);
    }
  });

  it('refuses any other shape, so the answer is parsed whole', () => {
    const spans = (text: string) => rowSpans(Buffer.from(text), [], []);
    expect(spans('{"data":[]}')).toBe(true);
    expect(spans(' { "data" : [ {"id":"x"} , {"id":"y"} ] } \n')).toBe(true);
    for (const text of ['{"data":[1]}', '{"total":1,"data":[]}', '{"data":[{"id":"x"}{"id":"y"}]}', '{"data":[{"id":"x"}],"more":1}', '{"data":[{"id":"x"', '{"data":[]}x', '[]', '', '{"dat']) {
      expect(spans(text), text).toBe(false);
    }
  });
});

describe('ResourceRows', () => {
  it('gives the same object for a row whose bytes did not change, and parses, checks and builds only the rows that did', async () => {
    const { rows, built } = reader();
    const first = await rows.read(body([guest(1), guest(2), guest(3)]));
    expect(first.parsed).toBe(3);
    expect(built).toEqual(['qemu/1', 'qemu/2', 'qemu/3']);
    const before = [...first.items];

    const second = await rows.read(body([guest(1), guest(2, { status: 'stopped' }), guest(3)]));
    expect(second.parsed).toBe(1);
    expect(built).toEqual(['qemu/1', 'qemu/2', 'qemu/3', 'qemu/2']);
    expect(second.items[0]).toBe(before[0]);
    expect(second.items[1]).not.toBe(before[1]);
    expect(second.items[1]).toMatchObject({ status: 'stopped' });
    expect(second.items[2]).toBe(before[2]);
    expect(second.types).toEqual(['qemu', 'qemu', 'qemu']);
  });

  it('reads an answer equal to the previous one without looking at its rows', async () => {
    const { rows, built } = reader();
    const first = await rows.read(body([guest(1), guest(2)]));
    const again = await rows.read(body([guest(1), guest(2)]));
    expect(again.parsed).toBe(0);
    expect(again.items).toEqual(first.items);
    expect(again.items[1]).toBe(first.items[1]);
    expect(built).toHaveLength(2);
  });

  it('finds rows moved by an added or a removed guest by their id: only the new row is built', async () => {
    const { rows, built } = reader();
    const first = await rows.read(body([guest(1), guest(2), guest(3)]));
    const added = await rows.read(body([guest(0), guest(1), guest(2), guest(3)]));
    expect(built.slice(3)).toEqual(['qemu/0']);
    expect(added.items.slice(1)).toEqual(first.items);
    expect(added.items[3]).toBe(first.items[2]);
    const removed = await rows.read(body([guest(0), guest(2), guest(3)]));
    expect(built.slice(4)).toEqual([]);
    expect(removed.items[1]).toBe(first.items[1]);
    expect(removed.count).toBe(3);
  });

  it('rejects a row that is not JSON or not a resource, naming it, and keeps comparing with the last good answer', async () => {
    const { rows, built } = reader();
    const good = await rows.read(body([guest(1), guest(2)]));
    const broken = Buffer.from(body([guest(1), guest(2)]).toString().replace('"vmid":2,', '"vmid":2,,'));
    await expect(rows.read(broken)).rejects.toThrow('unexpected answer from GET /cluster/resources: row 1: not JSON');
    await expect(rows.read(body([guest(1), guest(2, { vmid: 'two' })]))).rejects.toThrow('row 1 (qemu/2): vmid: expected a number, got "two"');
    await expect(rows.read(body([guest(1), guest(2), 'x']))).rejects.toThrow('row 2: expected an object, got "x"');
    const builds = built.length;
    const after = await rows.read(body([guest(1), guest(2)]));
    expect(after.parsed).toBe(0);
    expect(after.items[1]).toBe(good.items[1]);
    expect(built).toHaveLength(builds);
  });

  it('reads an answer of another shape whole, and compares the next one with nothing', async () => {
    const { rows, built } = reader();
    await rows.read(body([guest(1)]));
    const other = await rows.read(Buffer.from(JSON.stringify({ total: 1, data: [guest(1)] })));
    expect(other).toMatchObject({ count: 1, parsed: 1, types: ['qemu'] });
    const next = await rows.read(body([guest(1)]));
    expect(next.parsed).toBe(1);
    expect(built).toHaveLength(3);
  });

  it('agrees with parsing every answer whole, over random answers and changes', async () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const chars = ['a', 'z', '{', '}', '[', ']', '"', '\\', ',', ':', 'é', '☃', ' '];
    const text = () => Array.from({ length: Math.floor(rnd() * 8) }, () => chars[Math.floor(rnd() * chars.length)]).join('');
    let answer = Array.from({ length: 40 }, (_, i) => guest(100 + i, { name: text(), tags: text() }));
    const { rows } = reader();
    let previous: { id: string; item: unknown; json: string }[] = [];
    let lastSpace: number | undefined;
    for (let round = 0; round < 60; round++) {
      // Now and then laid out otherwise (every row's bytes differ then).
      const space = rnd() < 0.2 ? 1 : undefined;
      if (space !== lastSpace) previous = [];
      lastSpace = space;
      const got = await rows.read(body(answer, space));
      expect(got.items).toEqual(answer.map(checkResourceRow));
      // A row equal to one of the previous answer is the very object it was then.
      for (let k = 0; k < got.count; k++) {
        const same = previous.find((p) => p.id === answer[k]!.id && p.json === JSON.stringify(answer[k]));
        if (same) expect(got.items[k]).toBe(same.item);
      }
      previous = answer.map((g, k) => ({ id: g.id, item: got.items[k], json: JSON.stringify(g) }));
      answer = answer
        .filter(() => rnd() > 0.05)
        .map((g) => (rnd() < 0.2 ? { ...g, uptime: g.uptime + 1, name: rnd() < 0.5 ? text() : g.name } : g));
      if (rnd() < 0.5) answer.splice(Math.floor(rnd() * answer.length), 0, guest(1000 + round, { name: text() }));
    }
  });
});

describe('sameButCounters', () => {
  const same = (a: object, b: object) => {
    const x = Buffer.from(JSON.stringify(a));
    const y = Buffer.from(JSON.stringify(b));
    return sameButCounters(x, 0, x.length, y, 0, y.length);
  };
  const row = guest(7, { netin: 100, netout: 5, diskread: 1, diskwrite: 2, uptime: 1000, memhost: 5, tags: 'a' });

  it('sees a row whose counters alone moved, uptime growing, as the same row', () => {
    expect(same(row, { ...row, uptime: 1001, netin: 250, netout: 6, diskread: '3', diskwrite: 2.5e3 })).toBe(true);
    // Keys Molten does not read do not count either.
    expect(same(row, { ...row, memhost: 9 })).toBe(true);
  });

  it('sees any other change as a change: a field Molten reads, uptime going back (a restart), a counter that is no number, another key or order', () => {
    expect(same(row, { ...row, cpu: 0.2 })).toBe(false);
    expect(same(row, { ...row, status: 'stopped' })).toBe(false);
    expect(same(row, { ...row, tags: 'b' })).toBe(false);
    expect(same(row, { ...row, vmid: 8, id: 'qemu/8' })).toBe(false);
    expect(same(row, { ...row, uptime: 999 })).toBe(false);
    expect(same(row, { ...row, netin: 'lots' })).toBe(false);
    expect(same(row, { ...row, netin: null })).toBe(false);
    expect(same(row, { ...row, lock: 'backup' })).toBe(false);
    const { name, ...rest } = row;
    expect(same(row, { ...rest, name })).toBe(false);
    expect(same(row, { ...row, memhost: { a: 1 } })).toBe(false);
  });
});

describe('ResourceRows, counters aside', () => {
  it("gives a row's earlier item when only its counters moved and that item is still the one that counts", async () => {
    const { rows, built } = reader();
    const first = await rows.read(body([guest(1, { netin: 1 }), guest(2)]));
    const stillCurrent = new Set(first.items);
    const next = await rows.read(body([guest(1, { uptime: 11, netin: 5 }), guest(2, { uptime: 12 })]), (item) => stillCurrent.has(item!));
    expect(next).toMatchObject({ parsed: 0, counters: 2 });
    expect(next.items[0]).toBe(first.items[0]);
    expect(built).toHaveLength(2);
    // Compared with the last answer's bytes from then on: uptime may not go back below them.
    const restarted = await rows.read(body([guest(1, { uptime: 10, netin: 5 }), guest(2, { uptime: 13 })]), (item) => stillCurrent.has(item!));
    expect(restarted).toMatchObject({ parsed: 1, counters: 1 });
    expect(restarted.items[0]).toMatchObject({ uptime: 10 });
  });

  it('parses and builds the row afresh when the earlier item is no longer the one that counts, or without a say', async () => {
    const { rows } = reader();
    const first = await rows.read(body([guest(1), guest(2)]));
    const notCurrent = await rows.read(body([guest(1, { uptime: 11 }), guest(2, { uptime: 11 })]), (item) => item === first.items[1]);
    expect(notCurrent).toMatchObject({ parsed: 1, counters: 1 });
    expect(notCurrent.items[0]).toMatchObject({ uptime: 11 });
    expect(notCurrent.items[1]).toBe(first.items[1]);
    const noSay = await rows.read(body([guest(1, { uptime: 12 }), guest(2, { uptime: 12 })]));
    expect(noSay).toMatchObject({ parsed: 2, counters: 0 });
  });

  it('gathers answers into two buffers in turn, so the one compared with is never written over', async () => {
    const { rows } = reader();
    const sinks = [];
    for (const uptime of [1, 2, 3]) {
      const sink = rows.sink();
      sinks.push(sink);
      sink.start();
      const bytes = body([guest(1, { uptime }), guest(2, { status: uptime === 3 ? 'stopped' : 'running' })]);
      sink.write(bytes.subarray(0, 10));
      sink.write(bytes.subarray(10));
      const read = await rows.read(sink.end(), () => true);
      expect(read.count).toBe(2);
    }
    expect(sinks[0]).not.toBe(sinks[1]);
    expect(sinks[2]).toBe(sinks[0]);
  });
});
