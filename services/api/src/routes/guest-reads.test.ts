import { describe, expect, it } from 'vitest';
import { queryErrorReply } from '@molten/bus';
import { commandError, type QueryName } from '@molten/contracts';
import type { Queries } from '../ports.js';
import { notFound } from '../errors.js';
import { expectRoles, routeApp } from '../test/fake-ports.js';

/**
 * The guest page's routes on fake ports (no socket, no bus): roles, validation, what is asked of
 * the adapter, and how its answers and errors read over HTTP. tests/src/guest-page-e2e.test.ts
 * runs them on nats-server, the proxmox-adapter and the PVE simulator.
 */
const UPID = 'UPID:pve1:000A1B2C:0012D687:6751A2B3:qmstart:101:molten@pve!molten:';

/** Data for each query's reply case; an override answers one query otherwise. */
const ANSWERS: Record<QueryName, [string, unknown]> = {
  'guest-rrd': ['rrd', { vmid: 101, node: 'pve1', timeframe: 'hour', cf: 'AVERAGE', stepS: 60, points: [{ time: 1_700_000_000, cpu: 0.1 }, { time: 1_700_000_060 }] }],
  'node-rrd': ['rrd', { node: 'pve1', timeframe: 'hour', cf: 'AVERAGE', stepS: 60, points: [] }],
  'guest-config': ['config', { vmid: 101, node: 'pve1', type: 'qemu', name: 'vm101' }],
  'guest-addresses': ['addresses', { vmid: 101, source: 'qemu-agent', unavailable: '', message: '', interfaces: [] }],
  'guest-tasks': ['tasks', { tasks: [], total: 0 }],
  'task-log': ['log', { upid: UPID, lines: [{ n: 1, text: 'TASK OK' }], total: 1, running: false, exitstatus: 'OK' }],
  'guest-snapshots': ['snapshots', { vmid: 101, snapshots: [], currentParent: '', running: true }],
  'ha-status': ['status', { entries: [], managed: false }],
  'session-history': ['history', { gateway: 'default', sessionKey: 'agent:main:main', sessionId: '', messages: [], hasMore: false, totalMessages: 0, dropped: [] }],
};

function fakeQueries(over: Partial<Record<QueryName, (request: unknown) => unknown>> = {}) {
  const asked: { cluster: string; what: QueryName; request: unknown }[] = [];
  const queries: Queries = {
    ask: async (cluster, what, request) => {
      asked.push({ cluster, what, request });
      const custom = over[what];
      if (custom) return custom(request) as never;
      const [$case, value] = ANSWERS[what];
      return { result: { $case, value }, fetchedAtMs: Date.now(), freshUntilMs: what.endsWith('rrd') ? Date.now() + 42_500 : 0 } as never;
    },
  };
  return Object.assign(queries, { asked });
}

const app = (over: Parameters<typeof fakeQueries>[0] = {}) => {
  const queries = fakeQueries(over);
  return { ...routeApp({ app: { queries } }), queries };
};

describe('guest page reads', () => {
  it.each([
    '/api/vms/101/rrd',
    '/api/vms/101/config',
    '/api/vms/101/addresses',
    '/api/vms/101/tasks',
    '/api/vms/101/snapshots',
    '/api/vms/101/ha',
    '/api/nodes/pve1/rrd',
    `/api/tasks/${encodeURIComponent(UPID)}/log`,
  ])('GET %s: viewer', async (path) => {
    await expectRoles(app().request, 'GET', path, 'viewer');
  });

  it("asks the adapter with the guest's node and type, hour and AVERAGE by default, and answers { data, meta } with Cache-Control until the next step", async () => {
    const { request, queries } = app();
    const r = await request('/api/vms/101/rrd', { as: 'viewer' });
    expect(r.status).toBe(200);
    const gap = [0.1, null];
    const none = [null, null];
    expect(r.body).toEqual({
      // By column, every one named: the point without figures is a gap (null) in each, never 0.
      data: {
        vmid: 101,
        node: 'pve1',
        timeframe: 'hour',
        cf: 'AVERAGE',
        stepS: 60,
        time: [1_700_000_000, 1_700_000_060],
        values: { cpu: gap, maxcpu: none, mem: none, maxmem: none, disk: none, maxdisk: none, netin: none, netout: none, diskread: none, diskwrite: none, memhost: none },
      },
      meta: { cluster: 'homelab', fetchedAt: expect.any(String), freshUntil: expect.any(String) },
    });
    expect(r.headers.get('cache-control')).toMatch(/^private, max-age=4[0-2]$/);
    await request('/api/vms/101/rrd?timeframe=year&cf=MAX&cluster=homelab');
    await request('/api/vms/101/tasks?limit=20&errors=1');
    await request('/api/vms/101/tasks?since=1700000000&typefilter=qmsnapshot');
    await request('/api/vms/101/ha');
    await request(`/api/tasks/${encodeURIComponent(UPID)}/log?start=10&limit=100`);
    await request('/api/nodes/pve1/rrd?timeframe=decade');
    const guest = { vmid: 101, node: 'pve1', type: 'qemu' };
    expect(queries.asked).toEqual([
      { cluster: 'homelab', what: 'guest-rrd', request: { guest, timeframe: 'hour', cf: 'AVERAGE' } },
      { cluster: 'homelab', what: 'guest-rrd', request: { guest, timeframe: 'year', cf: 'MAX' } },
      { cluster: 'homelab', what: 'guest-tasks', request: { guest, limit: 20, since: 0, errorsOnly: true, typefilter: '' } },
      { cluster: 'homelab', what: 'guest-tasks', request: { guest, limit: 50, since: 1_700_000_000, errorsOnly: false, typefilter: 'qmsnapshot' } },
      { cluster: 'homelab', what: 'ha-status', request: { vmid: 101 } },
      { cluster: 'homelab', what: 'task-log', request: { upid: UPID, start: 10, limit: 100 } },
      { cluster: 'homelab', what: 'node-rrd', request: { node: 'pve1', timeframe: 'decade', cf: 'AVERAGE' } },
    ]);
  });

  it("a node's history by column, each of Proxmox's node columns named", async () => {
    const points = [
      { time: 1_700_000_000, cpu: 0.25, loadavg: 1.5, memused: 2e9, memtotal: 8e9 },
      { time: 1_700_000_060, cpu: 0.5, memused: 3e9, memtotal: 8e9 },
    ];
    const { request } = app({ 'node-rrd': () => ({ result: { $case: 'rrd', value: { node: 'pve1', timeframe: 'hour', cf: 'AVERAGE', stepS: 60, points } }, fetchedAtMs: Date.now() }) });
    const r = await request('/api/nodes/pve1/rrd');
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ node: 'pve1', stepS: 60, time: [1_700_000_000, 1_700_000_060] });
    expect(r.body.data.values).toMatchObject({ cpu: [0.25, 0.5], loadavg: [1.5, null], memused: [2e9, 3e9], memtotal: [8e9, 8e9], iowait: [null, null] });
    expect(Object.keys(r.body.data.values).sort()).toEqual(
      ['arcsize', 'cpu', 'iowait', 'loadavg', 'maxcpu', 'memavailable', 'memtotal', 'memused', 'netin', 'netout', 'rootused', 'roottotal', 'swaptotal', 'swapused'].sort(),
    );
    expect(r.body.data).not.toHaveProperty('points');
  });

  it('a read that is not history is not kept by the browser either way (no Cache-Control max-age)', async () => {
    const r = await app().request('/api/vms/101/config');
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control') ?? '').not.toMatch(/max-age=[1-9]/);
  });

  it.each([
    ['/api/vms/101/rrd?timeframe=decade', 'timeframe'],
    ['/api/vms/101/rrd?cf=MIN', 'cf'],
    ['/api/vms/abc/rrd', 'vmid'],
    ['/api/vms/0x65/config', 'vmid'],
    ['/api/vms/99/config', 'vmid'],
    ['/api/vms/101/config?cluster=a.b', 'cluster'],
    ['/api/vms/101/tasks?limit=0x10', 'limit'],
    ['/api/vms/101/tasks?limit=501', 'limit'],
    ['/api/vms/101/tasks?errors=yes', 'errors'],
    ['/api/vms/101/tasks?since=1e9', 'since'],
    ['/api/vms/101/tasks?typefilter=a%20b', 'typefilter'],
    ['/api/vms/abc/ha', 'vmid'],
    ['/api/nodes/-pve/rrd', 'node'],
    ['/api/nodes/pve1/rrd?timeframe=century', 'timeframe'],
    ['/api/tasks/not-a-upid/log', 'upid'],
    [`/api/tasks/${encodeURIComponent(UPID)}/log?limit=5001`, 'limit'],
    [`/api/tasks/${encodeURIComponent(UPID)}/log?start=-1`, 'start'],
  ])('GET %s → 400 naming %s, and nothing is asked', async (path, field) => {
    const { request, queries } = app();
    const r = await request(path);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', details: { field } });
    expect(queries.asked).toEqual([]);
  });

  it('a guest, node or cluster the api does not know is 404 without asking', async () => {
    const { request, queries } = app();
    expect((await request('/api/vms/999/snapshots')).status).toBe(404);
    expect((await request('/api/nodes/pve9/rrd')).status).toBe(404);
    expect((await request('/api/vms/101/config?cluster=elsewhere')).status).toBe(404);
    expect(queries.asked).toEqual([]);
  });

  it("a cluster whose guests the api does not know yet: the adapter is asked (no hints), so its answer or the missing adapter's 503 is what the page sees", async () => {
    const queries = fakeQueries({
      'guest-config': () => queryErrorReply('guest-config', commandError('no_adapter', 'no proxmox adapter answers for "homelab" (guest-config)', { remedy: 'Start the proxmox-adapter for homelab (MOLTEN_CLUSTER=homelab), or check its logs.' })),
    });
    const { request } = routeApp({
      app: { queries },
      reads: {
        guests: () => ({ cluster: 'homelab', lastSeenMs: 0, stale: true, demo: false, data: [] }),
        guest: (vmid) => {
          throw notFound(`guest ${vmid} is not in cluster "homelab"`);
        },
      },
    });
    const r = await request('/api/vms/101/config');
    expect(r.status).toBe(503);
    expect(r.body.error.details).toMatchObject({ reason: 'no_adapter', remedy: expect.stringContaining('Start the proxmox-adapter') });
    expect(queries.asked).toEqual([{ cluster: 'homelab', what: 'guest-config', request: { guest: { vmid: 101, node: '', type: '' } } }]);
  });

  it("a privilege Proxmox refused is a 403 naming it, with the pveum remedy; the page's other reads answer", async () => {
    const { request } = app({
      'guest-addresses': () =>
        queryErrorReply(
          'guest-addresses',
          commandError('forbidden', 'Permission check failed (/vms/101, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)', {
            upstreamStatus: '403',
            privilege: 'VM.GuestAgent.Audit',
            remedy: 'pveum role modify MoltenOperator -append 1 -privs VM.GuestAgent.Audit',
          }),
        ),
    });
    const r = await request('/api/vms/101/addresses', { as: 'viewer' });
    expect(r.status).toBe(403);
    expect(r.body.error).toEqual({
      code: 'forbidden',
      message: expect.stringContaining('VM.GuestAgent.Audit'),
      details: { reason: 'forbidden', privilege: 'VM.GuestAgent.Audit', upstreamStatus: '403', remedy: expect.stringContaining('pveum role modify') },
    });
    for (const panel of ['rrd', 'config', 'tasks', 'snapshots']) expect((await request(`/api/vms/101/${panel}`, { as: 'viewer' })).status, panel).toBe(200);
  });

  it('no adapter is a 503 naming what to start; a guest Proxmox does not know 404', async () => {
    const { request } = app({
      'guest-snapshots': () =>
        queryErrorReply('guest-snapshots', commandError('no_adapter', 'no proxmox adapter answers for "homelab" (guest-snapshots)', { remedy: 'Start the proxmox-adapter for homelab (MOLTEN_CLUSTER=homelab), or check its logs.' })),
      'guest-config': () => queryErrorReply('guest-config', commandError('not_found', "Configuration file 'nodes/pve1/qemu-server/101.conf' does not exist", { upstreamStatus: '500' })),
    });
    const none = await request('/api/vms/101/snapshots');
    expect(none.status).toBe(503);
    expect(none.body.error).toMatchObject({ code: 'upstream_unavailable', details: { reason: 'no_adapter', remedy: expect.stringContaining('Start the proxmox-adapter') } });
    const gone = await request('/api/vms/101/config');
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('not_found');
  });

  it('agent not running is an answer (200) that says so, not an error', async () => {
    const { request } = app({
      'guest-addresses': () => ({
        result: { $case: 'addresses', value: { vmid: 101, source: 'qemu-agent', unavailable: 'agent_not_running', message: 'QEMU guest agent is not running: install and start qemu-guest-agent', interfaces: [] } },
        fetchedAtMs: Date.now(),
      }),
    });
    const r = await request('/api/vms/101/addresses');
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ unavailable: 'agent_not_running', message: expect.stringMatching(/guest agent is not running/), interfaces: [] });
  });

  it('without the Queries port the routes are not there (404), and the guest list still is', async () => {
    const { request } = routeApp();
    expect((await request('/api/vms/101/rrd')).status).toBe(404);
    expect((await request('/api/vms')).status).toBe(200);
  });
});

describe('guest page commands', () => {
  it.each([
    ['POST', '/api/vms/101/snapshots', JSON.stringify({ name: 'before-upgrade' })],
    ['POST', '/api/vms/101/snapshots/before-upgrade/rollback', undefined],
    ['DELETE', '/api/vms/101/snapshots/before-upgrade', undefined],
    ['POST', '/api/vms/101/suspend', undefined],
    ['POST', '/api/vms/101/resume', undefined],
  ])('%s %s: operator', async (method, path, body) => {
    await expectRoles(app().request, method, path, 'operator', body);
  });

  it('queues each with who asked, its reason and Idempotency-Key, and answers 202 with a Location', async () => {
    const { request, commands } = app();
    const send = (path: string, body?: unknown, method = 'POST') =>
      request(path, { method, headers: { 'idempotency-key': `key-${method}-${path.length}` }, body: body === undefined ? undefined : JSON.stringify(body) });
    const rs = [
      await send('/api/vms/101/snapshots?cluster=homelab', { name: 'before-upgrade', description: 'pre 12.1', vmstate: true, reason: 'upgrade' }),
      await send('/api/vms/101/snapshots/before-upgrade/rollback', { reason: 'it broke' }),
      await send('/api/vms/101/snapshots/before-upgrade', undefined, 'DELETE'),
      await send('/api/vms/101/suspend', { todisk: true }),
      await send('/api/vms/101/resume'),
    ];
    for (const r of rs) {
      expect(r.status).toBe(202);
      expect(r.headers.get('location')).toMatch(/^\/api\/commands\/[0-9A-Z]{26}$/);
      expect(r.body).toMatchObject({ duplicate: false, data: { id: expect.any(String) } });
    }
    expect(commands.calls.map((c) => [c.kind, c.req, c.caller.reason, c.caller.idempotencyKey?.startsWith('key-')])).toEqual([
      ['snapshot', { cluster: 'homelab', vmid: 101, action: 'create', name: 'before-upgrade', description: 'pre 12.1', vmstate: true }, 'upgrade', true],
      ['snapshot', { cluster: undefined, vmid: 101, action: 'rollback', name: 'before-upgrade' }, 'it broke', true],
      ['snapshot', { cluster: undefined, vmid: 101, action: 'delete', name: 'before-upgrade' }, undefined, true],
      ['suspendResume', { cluster: undefined, vmid: 101, action: 'suspend', todisk: true }, undefined, true],
      ['suspendResume', { cluster: undefined, vmid: 101, action: 'resume' }, undefined, true],
    ]);
  });

  it.each([
    ['POST', '/api/vms/101/snapshots', {}, 'name'],
    ['POST', '/api/vms/101/snapshots', { name: 'x'.repeat(41) }, 'name'],
    ['POST', '/api/vms/101/snapshots', { name: 'ok-name', vmstate: 'yes' }, 'vmstate'],
    ['POST', '/api/vms/101/snapshots', { name: 'ok-name', extra: 1 }, 'body'],
    ['POST', '/api/vms/101/suspend', { todisk: 1 }, 'todisk'],
    ['POST', '/api/vms/101/resume', { todisk: true }, 'body'],
    ['POST', '/api/vms/abc/resume', {}, 'vmid'],
    ['POST', `/api/vms/101/snapshots/${'y'.repeat(41)}/rollback`, {}, 'name'],
    ['DELETE', '/api/vms/101/snapshots/a?cluster=a.b', {}, 'cluster'],
  ])('%s %s %j → 400 naming %s, nothing queued', async (method, path, body, field) => {
    const { request, commands } = app();
    const r = await request(path, { method, body: JSON.stringify(body) });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', details: { field } });
    expect(commands.calls).toEqual([]);
  });

  it('/suspend and /resume are not taken for power actions, and /stop still is one', async () => {
    const { request, commands } = app();
    expect((await request('/api/vms/101/stop', { method: 'POST' })).status).toBe(202);
    expect((await request('/api/vms/101/suspend', { method: 'POST' })).status).toBe(202);
    expect((await request('/api/vms/101/explode', { method: 'POST' })).status).toBe(400);
    expect(commands.calls.map((c) => c.kind)).toEqual(['power', 'suspendResume']);
  });
});
