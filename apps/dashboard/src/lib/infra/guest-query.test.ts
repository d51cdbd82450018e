import { describe, expect, test } from 'vitest';
import { guest, guests } from '$lib/test/fixtures';
import { applyQuery, DEFAULT_QUERY, facets, facetsChanged, latestOf, parseQuery, SteadyRows, writeQuery } from './guest-query';

describe('guest query', () => {
  test('round-trips through the URL, leaving defaults out', () => {
    const q = { ...DEFAULT_QUERY, q: 'web', status: ['running' as const, 'locked' as const], node: ['pve2'], type: 'lxc' as const, tag: ['prod'], sort: 'cpu' as const, desc: true };
    const params = writeQuery(q, new URLSearchParams('keep=1'));
    expect(params.toString()).toBe('keep=1&q=web&status=running%2Clocked&node=pve2&type=lxc&tag=prod&sort=-cpu');
    expect(parseQuery(params)).toEqual(q);
    expect(writeQuery(DEFAULT_QUERY).toString()).toBe('');
  });

  test('ignores what it does not know in a URL', () => {
    expect(parseQuery(new URLSearchParams('status=bogus,running&type=vm&sort=-nope'))).toEqual({ ...DEFAULT_QUERY, status: ['running'] });
  });

  test('search matches name, vmid prefix, node and tags; all terms must match', () => {
    const list = [guest({ vmid: 101, name: 'web-01', tags: ['prod'] }), guest({ vmid: 202, name: 'db-01', node: 'pve2', tags: ['prod', 'db'] })];
    const ids = (q: string) => applyQuery(list, { ...DEFAULT_QUERY, q }).map((g) => g.vmid);
    expect(ids('web')).toEqual([101]);
    expect(ids('20')).toEqual([202]);
    expect(ids('pve2')).toEqual([202]);
    expect(ids('prod')).toEqual([101, 202]);
    expect(ids('prod db')).toEqual([202]);
    expect(ids('tag:db')).toEqual([202]);
    expect(ids('nothing')).toEqual([]);
  });

  test('status filters know paused, locked and templates', () => {
    const list = [
      guest({ vmid: 1, qmpstatus: 'paused' }),
      guest({ vmid: 2 }),
      guest({ vmid: 3, status: 'stopped' }),
      guest({ vmid: 4, lock: 'backup' }),
      guest({ vmid: 5, template: true, status: 'stopped' }),
    ];
    const ids = (...status: ('running' | 'paused' | 'stopped' | 'locked' | 'template')[]) => applyQuery(list, { ...DEFAULT_QUERY, status }).map((g) => g.vmid);
    expect(ids('paused')).toEqual([1]);
    expect(ids('running')).toEqual([2, 4]);
    expect(ids('stopped')).toEqual([3]);
    expect(ids('locked')).toEqual([4]);
    expect(ids('template')).toEqual([5]);
    expect(ids('paused', 'stopped')).toEqual([1, 3]);
  });

  test('sorts with ties broken by vmid, both ways', () => {
    const list = [guest({ vmid: 1, name: 'B' }), guest({ vmid: 2, name: 'a' }), guest({ vmid: 3, name: 'b' })];
    expect(applyQuery(list, { ...DEFAULT_QUERY, sort: 'name' }).map((g) => g.vmid)).toEqual([2, 1, 3]);
    expect(applyQuery(list, { ...DEFAULT_QUERY, sort: 'name', desc: true }).map((g) => g.vmid)).toEqual([3, 1, 2]);
    expect(applyQuery(list, DEFAULT_QUERY).map((g) => g.vmid)).toEqual([1, 2, 3]);
    expect(applyQuery(list, { ...DEFAULT_QUERY, desc: true }).map((g) => g.vmid)).toEqual([3, 2, 1]);
  });

  test('facets list the nodes and tags present', () => {
    const f = facets(guests(50));
    expect(f.nodes).toEqual(['pve1', 'pve2', 'pve3']);
    expect(f.tags).toContain('prod');
  });

  test('a guest change changes the facets only when it is new or its node or tags differ', () => {
    const g = guest({ vmid: 7, node: 'pve1', tags: ['a', 'b'] });
    expect(facetsChanged(undefined, g)).toBe(true);
    expect(facetsChanged(g, { ...g, cpu: 0.7, tags: ['a', 'b'] })).toBe(false);
    expect(facetsChanged(g, { ...g, node: 'pve2' })).toBe(true);
    expect(facetsChanged(g, { ...g, tags: ['a'] })).toBe(true);
    expect(facetsChanged(g, { ...g, tags: ['a', 'c'] })).toBe(true);
  });
});

describe('steady rows', () => {
  test('a live sort keeps its order between refreshes (the same array), and each row\'s latest value is found by its vmid', () => {
    const steady = new SteadyRows(1000);
    const q = { ...DEFAULT_QUERY, sort: 'cpu' as const, desc: true };
    const a = [guest({ vmid: 1, cpu: 0.9 }), guest({ vmid: 2, cpu: 0.5 })];
    const first = steady.rows(a, q, 0);
    expect(first.map((g) => g.vmid)).toEqual([1, 2]);
    const b = [guest({ vmid: 1, cpu: 0.1 }), guest({ vmid: 2, cpu: 0.5 })];
    const mid = steady.rows(b, q, 500);
    expect(mid).toBe(first);
    // By the store's index, or from the guests themselves.
    const index = new Map(b.map((g) => [g.vmid, g]));
    for (const latest of [latestOf(b, (vmid) => index.get(vmid)), latestOf(b)]) expect(mid.map(latest).map((g) => g.cpu)).toEqual([0.1, 0.5]);
    // A guest gone since the sort keeps the value it had.
    expect(latestOf([b[1]!])(mid[0]!).cpu).toBe(0.9);
    expect(steady.rows(b, q, 1000).map((g) => g.vmid)).toEqual([2, 1]);
  });

  test('with no filter and the default sort, the rows are the guests themselves (no copy per frame)', () => {
    const list = guests(30);
    expect(applyQuery(list, DEFAULT_QUERY)).toBe(list);
    expect(new SteadyRows().rows(list, DEFAULT_QUERY, 0)).toBe(list);
    expect(applyQuery(list, { ...DEFAULT_QUERY, type: 'lxc' })).not.toBe(list);
  });

  test('a new query or a guest more or less re-sorts at once; other sorts always do', () => {
    const steady = new SteadyRows(1000);
    const q = { ...DEFAULT_QUERY, sort: 'cpu' as const, desc: true };
    steady.rows([guest({ vmid: 1, cpu: 0.9 }), guest({ vmid: 2, cpu: 0.5 })], q, 0);
    expect(steady.rows([guest({ vmid: 1, cpu: 0.1 }), guest({ vmid: 2, cpu: 0.5 }), guest({ vmid: 3, cpu: 1 })], q, 10).map((g) => g.vmid)).toEqual([3, 2, 1]);
    expect(steady.rows([guest({ vmid: 1, cpu: 0.9 })], { ...q }, 20).map((g) => g.vmid)).toEqual([1]);
    const byName = { ...DEFAULT_QUERY, sort: 'name' as const };
    steady.rows([guest({ vmid: 1, name: 'a' }), guest({ vmid: 2, name: 'b' })], byName, 30);
    expect(steady.rows([guest({ vmid: 1, name: 'c' }), guest({ vmid: 2, name: 'b' })], byName, 31).map((g) => g.vmid)).toEqual([2, 1]);
  });
});
