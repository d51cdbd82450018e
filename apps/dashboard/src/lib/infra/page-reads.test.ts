import { describe, expect, test } from 'vitest';
import { GUEST_ROUTE, NODE_ROUTE, readsOf } from './page-reads';

const to = (id: string | null, params: Record<string, string>, href: string) => ({ route: { id }, params, url: new URL(href, 'http://molten.test') });

describe("a page's reads, known from its address before its code loads", () => {
  test("a guest's page: its history for the address's timeframe first, then its panels", () => {
    expect(readsOf(to(GUEST_ROUTE, { cluster: 'lab', vmid: '101' }, '/guests/lab/101?timeframe=day'))).toEqual([
      '/api/vms/101/rrd?cluster=lab&timeframe=day',
      '/api/vms/101/config?cluster=lab',
      '/api/vms/101/addresses?cluster=lab',
      '/api/vms/101/snapshots?cluster=lab',
      '/api/vms/101/tasks?cluster=lab&limit=20',
    ]);
    expect(readsOf(to(GUEST_ROUTE, { cluster: 'lab', vmid: '101' }, '/guests/lab/101'))[0]).toBe('/api/vms/101/rrd?cluster=lab&timeframe=hour');
    expect(readsOf(to(GUEST_ROUTE, { cluster: 'lab', vmid: 'abc' }, '/guests/lab/abc'))).toEqual([]);
  });

  test("a node's page: its history; any other page: nothing", () => {
    expect(readsOf(to(NODE_ROUTE, { cluster: 'lab', node: 'pve1' }, '/nodes/lab/pve1'))).toEqual(['/api/nodes/pve1/rrd?cluster=lab&timeframe=hour']);
    expect(readsOf(to('/(app)', {}, '/'))).toEqual([]);
    expect(readsOf(to(null, {}, '/nowhere'))).toEqual([]);
  });

  test('the route ids name the pages that exist', () => {
    const pages = Object.keys(import.meta.glob('/src/routes/**/+page.svelte'));
    for (const id of [GUEST_ROUTE, NODE_ROUTE]) expect(pages).toContain(`/src/routes${id}/+page.svelte`);
  });
});
