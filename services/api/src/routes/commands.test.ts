import { describe, expect, it } from 'vitest';
import { commandRecord, expectRoles, routeApp } from '../test/fake-ports.js';

const ID = commandRecord().command!.id;

describe('/api/commands', () => {
  it('needs the viewer role', async () => {
    const { request } = routeApp();
    await expectRoles(request, 'GET', '/api/commands', 'viewer');
    await expectRoles(request, 'GET', `/api/commands/${ID}`, 'viewer');
  });

  it('passes the filters on (cluster is the command’s scope) with a default limit of 50', async () => {
    const asked: unknown[] = [];
    const { request } = routeApp({ reads: { commands: (q) => (asked.push(q), [commandRecord()]) } });
    expect((await request('/api/commands?status=failed&domain=proxmox&cluster=homelab&vmid=101')).status).toBe(200);
    expect((await request('/api/commands')).body.data[0]).toMatchObject({ id: ID, status: 'requested', target: { kind: 'guest', vmid: 101 } });
    expect(asked).toEqual([
      { limit: 50, status: 'failed', domain: 'proxmox', scope: 'homelab', vmid: 101 },
      { limit: 50, status: undefined, domain: undefined, scope: undefined, vmid: undefined },
    ]);
  });

  it.each([
    ['/api/commands/not-an-id', 'id'],
    ['/api/commands?limit=100000', 'limit'],
    ['/api/commands?limit=0', 'limit'],
    ['/api/commands?status=sleeping', 'status'],
    ['/api/commands?vmid=7', 'vmid'],
  ])('%s → 400 naming %s', async (path, field) => {
    const r = await routeApp().request(path);
    expect(r.status).toBe(400);
    expect(r.body.error.details.field).toBe(field);
  });

  it.each(['0x65', '0b1100101', '0o145', '1e2', '+101', '00101', '101.0', '%20101', ' 101', '101 '])(
    'takes only decimal digits as the vmid filter: ?vmid=%s → 400, nothing read',
    async (vmid) => {
      const asked: unknown[] = [];
      const { request } = routeApp({ reads: { commands: (q) => (asked.push(q), []) } });
      const r = await request(`/api/commands?vmid=${vmid.replaceAll(' ', '%20').replaceAll('+', '%2B')}`);
      expect(r.status).toBe(400);
      expect(r.body.error.details.field).toBe('vmid');
      expect(asked).toEqual([]);
    },
  );

  it('answers one command with its progress lines, and 404 for one it cannot find', async () => {
    const { request } = routeApp({
      reads: {
        command: async (id) => (id === ID ? { record: commandRecord(), progress: [{ commandId: ID, seq: 1, atMs: 1_700_000_001_000, stream: 'stdout', text: 'hello' }] } : undefined),
      },
    });
    const r = await request(`/api/commands/${ID}`);
    expect(r.status).toBe(200);
    expect(r.body.data.progress).toEqual([{ seq: 1, at: '2023-11-14T22:13:21.000Z', stream: 'stdout', text: 'hello' }]);
    const missing = await request('/api/commands/01J0000000000000000000000B');
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/kept for 7 days/);
  });
});
