import { describe, expect, it } from 'vitest';
import { expectRoles, routeApp, storage } from '../test/fake-ports.js';

describe('GET /api/storage', () => {
  it('needs the viewer role', async () => {
    await expectRoles(routeApp().request, 'GET', '/api/storage', 'viewer');
  });

  it('answers each pool with what is free, and passes the node filter on', async () => {
    const asked: (string | undefined)[] = [];
    const { request } = routeApp({
      reads: {
        storage: (cluster, node) => {
          asked.push(node);
          return { cluster: cluster ?? 'homelab', lastSeenMs: 0, stale: true, demo: true, data: [storage('pve2/local', 'pve2')] };
        },
      },
    });
    const r = await request('/api/storage?node=pve2', { as: 'viewer' });
    expect(r.status).toBe(200);
    expect(asked).toEqual(['pve2']);
    expect(r.body.data[0]).toMatchObject({ id: 'pve2/local', avail: 3, used_fraction: 0.25, stale: true, lastSeen: null });
    expect(r.body.meta).toEqual({ cluster: 'homelab', stale: true, lastSeen: null, demo: true });
  });

  it('refuses a bad cluster id naming the field', async () => {
    const r = await routeApp().request('/api/storage?cluster=../etc');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', details: { field: 'cluster' } });
  });
});
