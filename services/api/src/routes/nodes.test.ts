import { describe, expect, it } from 'vitest';
import { expectRoles, routeApp } from '../test/fake-ports.js';

describe('GET /api/nodes', () => {
  it('needs the viewer role', async () => {
    await expectRoles(routeApp().request, 'GET', '/api/nodes', 'viewer');
  });

  it('answers the nodes in Proxmox’s fields with the cluster’s freshness', async () => {
    const r = await routeApp().request('/api/nodes', { as: 'viewer' });
    expect(r.status).toBe(200);
    expect(r.body.data[0]).toMatchObject({ node: 'pve1', status: 'online', maxcpu: 8, cluster: 'homelab', stale: false });
    expect(r.body.meta).toMatchObject({ cluster: 'homelab', stale: false, demo: false });
    expect(r.body.meta.lastSeen).toMatch(/^\d{4}-/);
  });

  it.each([
    ['/api/nodes?cluster=a.b', 400, 'cluster'],
    ['/api/nodes?type=docker', 400, 'type'],
    ['/api/nodes?cluster=elsewhere', 404, undefined],
  ])('%s → %i', async (path, status, field) => {
    const r = await routeApp().request(path);
    expect(r.status).toBe(status);
    if (field) expect(r.body.error.details.field).toBe(field);
    else expect(r.body.error.message).toMatch(/no cluster "elsewhere".*known clusters: homelab/);
  });
});
