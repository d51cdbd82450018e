import { describe, expect, it } from 'vitest';
import { expectRoles, routeApp } from '../test/fake-ports.js';

describe('GET /api/cluster/status', () => {
  it('needs the viewer role', async () => {
    await expectRoles(routeApp().request, 'GET', '/api/cluster/status', 'viewer');
  });

  it('answers the summary of the cluster asked for', async () => {
    const r = await routeApp().request('/api/cluster/status?cluster=homelab');
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ cluster: 'homelab', quorate: true, counts: { guests: 2, running: 1 } });
  });

  it('answers 400 for a malformed cluster id and 404 for an unknown one', async () => {
    const bad = await routeApp().request('/api/cluster/status?cluster=a%20b');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe('cluster');
    expect((await routeApp().request('/api/cluster/status?cluster=other')).status).toBe(404);
  });

  it('has no other route under /api/cluster', async () => {
    const r = await routeApp().request('/api/cluster/nodes');
    expect(r.status).toBe(404);
    expect(r.body.error.message).toMatch(/no route GET \/api\/cluster\/nodes/);
  });
});
