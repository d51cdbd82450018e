import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { OPERATOR, commandRecord, expectRoles, guest, routeApp } from '../test/fake-ports.js';
import { JSON_PARTS_CHUNK } from '../sse/json-parts.js';

describe('/api/vms', () => {
  it('lets a viewer read guests and only an operator act', async () => {
    const { request } = routeApp();
    await expectRoles(request, 'GET', '/api/vms', 'viewer');
    await expectRoles(request, 'GET', '/api/vms/101/status', 'viewer');
    await expectRoles(request, 'POST', '/api/vms/101/stop', 'operator');
  });

  it('passes the filters on and answers guests with Proxmox’s fields plus freshness', async () => {
    const asked: unknown[] = [];
    const { request } = routeApp({
      reads: {
        guests: (cluster, filter) => {
          asked.push({ cluster, filter });
          return { cluster: 'homelab', lastSeenMs: 0, stale: true, demo: false, data: [guest(200, { type: 'lxc', qmpstatus: undefined, tags: ['dns'] })] };
        },
      },
    });
    const r = await request('/api/vms?type=lxc&tag=dns&node=pve1&status=running');
    expect(r.status).toBe(200);
    expect(asked).toEqual([{ cluster: undefined, filter: { node: 'pve1', type: 'lxc', status: 'running', tag: 'dns' } }]);
    expect(r.body.data[0]).toMatchObject({ vmid: 200, type: 'lxc', tags: ['dns'], cluster: 'homelab', lastSeen: null, stale: true });
    expect(r.body.data[0]).not.toHaveProperty('qmpstatus');
  });

  it.each([
    ['GET', '/api/vms/abc/status', 'vmid'],
    ['GET', '/api/vms/99/status', 'vmid'],
    ['GET', '/api/vms/1000000000/status', 'vmid'],
    ['GET', '/api/vms/12.5/status', 'vmid'],
    ['POST', '/api/vms/101/explode', 'action'],
    ['POST', '/api/vms/abc/stop', 'vmid'],
    ['POST', '/api/vms/101/stop?cluster=a.b', 'cluster'],
    ['GET', '/api/vms?type=docker', 'type'],
    ['GET', '/api/vms?cluster=a.b', 'cluster'],
  ])('%s %s → 400 naming %s, and nothing is queued', async (method, path, field) => {
    const { request, commands } = routeApp();
    const r = await request(path, { method });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', details: { field } });
    expect(commands.calls).toEqual([]);
  });

  it('answers 404 for a guest or cluster it does not know', async () => {
    const { request } = routeApp();
    expect((await request('/api/vms/999/status')).body.error.code).toBe('not_found');
    expect((await request('/api/vms?cluster=elsewhere')).status).toBe(404);
  });

  it('queues a power action with who asked, and answers 202 with where to follow it', async () => {
    const { request, commands } = routeApp();
    const r = await request('/api/vms/101/stop?cluster=homelab', {
      method: 'POST',
      headers: { 'idempotency-key': 'stop-101-once', 'x-request-id': 'req-1' },
      body: JSON.stringify({ reason: 'maintenance', correlationId: 'corr-1' }),
    });
    expect(r.status).toBe(202);
    expect(r.headers.get('location')).toBe(`/api/commands/${r.body.data.id}`);
    expect(r.body).toMatchObject({ duplicate: false, data: { status: 'requested', action: 'vm-stop' } });
    expect(commands.calls).toHaveLength(1);
    expect(commands.calls[0]).toMatchObject({
      kind: 'power',
      caller: { principal: { role: 'operator' }, idempotencyKey: 'stop-101-once', correlationId: 'corr-1', reason: 'maintenance', requestId: 'req-1', via: 'rest' },
      req: { cluster: 'homelab', vmid: 101, action: 'stop' },
    });
  });

  it('answers a repeated Idempotency-Key with 200 and the first command', async () => {
    const { request } = routeApp({ commands: { power: async () => ({ record: commandRecord(), duplicate: true }) } });
    const r = await request('/api/vms/101/stop', { method: 'POST' });
    expect(r.status).toBe(200);
    expect(r.body.duplicate).toBe(true);
  });

  it('refuses bad bodies with a 4xx that says why', async () => {
    const { request, commands } = routeApp();
    const bad = await request('/api/vms/101/stop', { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/not valid JSON/);
    const extra = await request('/api/vms/101/stop', { method: 'POST', body: JSON.stringify({ force: true }) });
    expect(extra.status).toBe(400);
    const text = await request('/api/vms/101/stop', { method: 'POST', body: 'stop please', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    const key = await request('/api/vms/101/stop', { method: 'POST', headers: { 'idempotency-key': 'has spaces' } });
    expect(key.status).toBe(400);
    expect(key.body.error.details.field).toBe('Idempotency-Key');
    expect(commands.calls).toEqual([]);
  });

  it('answers what the Commands port refuses with its status, remedy and headers', async () => {
    const { request } = routeApp({
      commands: {
        power: async () => {
          throw new ApiError(503, 'upstream_unavailable', 'Proxmox VE (homelab) is down: connect ECONNREFUSED', { remedy: 'Check PVE_URL.' });
        },
      },
    });
    const r = await request('/api/vms/101/stop', { method: 'POST' });
    expect(r.status).toBe(503);
    expect(r.body.error).toEqual({ code: 'upstream_unavailable', message: 'Proxmox VE (homelab) is down: connect ECONNREFUSED', details: { remedy: 'Check PVE_URL.' } });
  });

  it('refuses a cross-site action made with the session cookie', async () => {
    const { request } = routeApp();
    const signIn = await request('/api/session', { method: 'POST', as: null, body: JSON.stringify({ token: OPERATOR }) });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const r = await request('/api/vms/101/stop', { method: 'POST', as: null, headers: { cookie, origin: 'https://evil.example' } });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/cross-site/);
  });

  it.each(['0x65', '0b1100101', '0o145', '1e2', '+101', '00101', '101.0', '%20101', '101%20', '-101', ' 101', '1_01', 'Infinity'])(
    'takes only decimal digits as a vmid: refuses %s on every route',
    async (vmid) => {
      const { request, commands } = routeApp();
      for (const [method, p] of [['GET', `/api/vms/${vmid}/status`], ['POST', `/api/vms/${vmid}/stop`], ['POST', `/api/vms/${vmid}/start`]] as const) {
        const r = await request(p, { method });
        expect(r.status, `${method} ${p}`).toBe(400);
        expect(r.body.error.details.field).toBe('vmid');
      }
      expect(commands.calls).toEqual([]);
    },
  );
});

describe('GET /api/vms, a long list', () => {
  it('answers the same JSON as for a short one, written in chunks, with every guest once and in order', async () => {
    const many = Array.from({ length: 2 * JSON_PARTS_CHUNK + 7 }, (_, i) => guest(100 + i, { name: `vm-${i}`, tags: i % 2 ? ['dns', 'é"\\'] : [] }));
    const answer = (data: ReturnType<typeof guest>[]) => ({ cluster: 'homelab', lastSeenMs: 1_700_000_000_000, stale: false, demo: false, data });
    const long = routeApp({ reads: { guests: () => answer(many) } });
    // The same guests, a chunk's worth at a time, each answered by c.json (the short path).
    const parts = await Promise.all(
      [0, 1, 2].map(async (k) => {
        const short = routeApp({ reads: { guests: () => answer(many.slice(k * JSON_PARTS_CHUNK, (k + 1) * JSON_PARTS_CHUNK)) } });
        return (await short.app.request('/api/vms', { headers: { authorization: `Bearer ${OPERATOR}` } })).text();
      }),
    );
    const res = await long.app.request('/api/vms', { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    // Written a chunk at a time: a part per JSON_PARTS_CHUNK guests, the last (7 guests) with the meta.
    const chunks: Uint8Array[] = [];
    for await (const chunk of res.body!) chunks.push(chunk);
    expect(chunks.length).toBe(3);
    const text = Buffer.concat(chunks).toString('utf8');
    const expected = { data: parts.flatMap((p) => JSON.parse(p).data), meta: JSON.parse(parts[0]!).meta };
    expect(text).toBe(JSON.stringify(expected));
    expect(expected.data.map((g: { vmid: number }) => g.vmid)).toEqual(many.map((g) => g.vmid));
  });
});
