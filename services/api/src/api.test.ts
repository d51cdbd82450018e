import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandWorker, StatePublisher, connectBus, startHeartbeat, type Bus, type CommandHandler } from '@molten/bus';
import { ServerStatus, type Guest } from '@molten/contracts';
import { testLogger, waitFor } from '@molten/testkit';
import { AGENT, OPERATOR, VIEWER, apiFixture, sseReader } from './test/api-fixture.js';

const guest = (vmid: number, over: Partial<Guest> = {}): Guest => ({
  cluster: 'homelab', vmid, name: `vm${vmid}`, node: 'pve1', type: 'qemu', status: 'running', qmpstatus: 'running',
  cpu: 0.1, maxcpu: 2, mem: 1, maxmem: 2, disk: 0, maxdisk: 10, uptime: 100, tags: ['web'], template: false,
  netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [], ...over,
});

describe('api', () => {
  let fx: Awaited<ReturnType<typeof apiFixture>>;
  let adapterBus: Bus;
  let publisher: StatePublisher;

  beforeAll(async () => {
    fx = await apiFixture({ MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS: '1500', MOLTEN_RATE_LIMIT: '600', MOLTEN_RATE_BURST: '1000' });
    adapterBus = await connectBus({ servers: fx.nats.url, name: 'fake-adapter', log: testLogger() });
    publisher = new StatePublisher(adapterBus, 'proxmox', 'homelab');
    await publisher.put('qemu', '101', guest(101));
    await publisher.put('qemu', '102', guest(102, { status: 'stopped', qmpstatus: 'stopped', uptime: 0 }));
    await publisher.put('lxc', '200', guest(200, { type: 'lxc', qmpstatus: undefined, tags: ['dns'] }));
    await waitFor(async () => (await fx.json('/api/vms')).body.data.length === 3, { message: 'guests visible' });
  });
  afterAll(async () => {
    await adapterBus.close();
    await fx.dispose();
  });

  describe('auth', () => {
    it('answers 401 with the error shape without a token, and with a wrong one', async () => {
      for (const token of [null, 'wrong-token-0123456789']) {
        const r = await fx.json('/api/vms', { token });
        expect(r.status).toBe(401);
        expect(r.body.error.code).toBe('unauthorized');
        expect(r.body.error.message).toMatch(/token|sign in/);
        expect(r.headers.get('www-authenticate')).toMatch(/Bearer/);
      }
    });

    it('lets a viewer read but not act', async () => {
      expect((await fx.json('/api/vms', { token: VIEWER })).status).toBe(200);
      const r = await fx.json('/api/vms/101/stop', { method: 'POST', token: VIEWER });
      expect(r.status).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'forbidden' });
      expect(r.body.error.message).toMatch(/operator role/);
    });

    it('lets an agent token read but not use the REST power, tool-call or agent-run routes', async () => {
      expect((await fx.json('/api/vms', { token: AGENT })).status).toBe(200);
      expect((await fx.json('/api/commands', { token: AGENT })).status).toBe(200);
      for (const p of ['/api/vms/101/stop', '/api/vms/101/start', '/api/servers/mcp-homelab/tools/echo/call', '/api/agents/main/run']) {
        const r = await fx.json(p, { method: 'POST', token: AGENT, body: JSON.stringify({ arguments: {}, message: 'hi' }) });
        expect(r.status, p).toBe(403);
        expect(r.body.error.code).toBe('forbidden');
        expect(r.body.error.message).toMatch(/operator role.*agent role/);
      }
    });

    it('signs in with a token into an httpOnly SameSite=Strict session, and out again', async () => {
      const bad = await fx.json('/api/session', { method: 'POST', token: null, body: JSON.stringify({ token: 'nope' }) });
      expect(bad.status).toBe(401);
      const res = await fx.call('/api/session', { method: 'POST', token: null, body: JSON.stringify({ token: VIEWER }) });
      expect(res.status).toBe(200);
      const cookie = res.headers.get('set-cookie')!;
      expect(cookie).toMatch(/molten_session=/);
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Strict/i);
      const pair = cookie.split(';')[0]!;
      const me = await fx.json('/api/session', { token: null, headers: { cookie: pair } });
      expect(me.body.data).toMatchObject({ role: 'viewer' });
      expect((await fx.json('/api/vms', { token: null, headers: { cookie: pair } })).status).toBe(200);
      expect((await fx.json('/api/vms', { token: null, headers: { cookie: `${pair}x` } })).status).toBe(401);
      const out = await fx.call('/api/session', { method: 'DELETE', token: null, headers: { cookie: pair } });
      expect(out.headers.get('set-cookie')).toMatch(/molten_session=;/);
    });

    it('refuses a cross-site action made with the session cookie', async () => {
      const res = await fx.call('/api/session', { method: 'POST', token: null, body: JSON.stringify({ token: OPERATOR }) });
      const pair = res.headers.get('set-cookie')!.split(';')[0]!;
      const r = await fx.json('/api/vms/101/stop', { method: 'POST', token: null, headers: { cookie: pair, origin: 'https://evil.example' } });
      expect(r.status).toBe(403);
    });

    it('keeps /api/health open for probes but detailed only for callers with a token', async () => {
      const open = await fx.json('/api/health', { token: null });
      expect(open.status).toBe(200);
      expect(Object.keys(open.body)).toEqual(['status']);
      const full = await fx.json('/api/health');
      expect(full.body.bus.connected).toBe(true);
      expect(full.body.clusters.map((c: { id: string }) => c.id)).toEqual(['homelab']);
    });
  });

  describe('bad input', () => {
    it.each([
      ['GET', '/api/vms/abc/status', 400, 'vmid'],
      ['GET', '/api/vms/99/status', 400, 'vmid'],
      ['GET', '/api/vms/1000000000/status', 400, 'vmid'],
      ['GET', '/api/vms/12.5/status', 400, 'vmid'],
      ['POST', '/api/vms/101/explode', 400, 'action'],
      ['POST', '/api/vms/abc/stop', 400, 'vmid'],
      ['GET', '/api/vms?type=docker', 400, 'type'],
      ['GET', '/api/vms?cluster=a.b', 400, 'cluster'],
      ['GET', '/api/commands/not-an-id', 400, 'id'],
      ['GET', '/api/commands?limit=100000', 400, 'limit'],
    ])('%s %s → %i naming %s', async (method, p, status, field) => {
      const r = await fx.json(p, { method });
      expect(r.status).toBe(status);
      expect(r.body.error.code).toBe('invalid_request');
      expect(r.body.error.details.field).toBe(field);
    });

    it('answers bad JSON, unknown fields and a non-JSON body with a 4xx that says why', async () => {
      const bad = await fx.json('/api/vms/101/stop', { method: 'POST', body: '{nope' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/not valid JSON/);
      const extra = await fx.json('/api/vms/101/stop', { method: 'POST', body: JSON.stringify({ force: true }) });
      expect(extra.status).toBe(400);
      const text = await fx.json('/api/vms/101/stop', { method: 'POST', body: 'stop please', headers: { 'content-type': 'text/plain' } });
      expect(text.status).toBe(415);
    });

    it('answers unknown routes and unknown guests with 404', async () => {
      expect((await fx.json('/api/nope')).status).toBe(404);
      expect((await fx.json('/api/vms/999/status')).body.error.code).toBe('not_found');
      expect((await fx.json('/api/vms/999/stop', { method: 'POST' })).status).toBe(404);
      expect((await fx.json('/api/vms?cluster=elsewhere')).status).toBe(404);
    });
  });

  describe('reads', () => {
    it('lists guests with Proxmox field names plus cluster, lastSeen and stale', async () => {
      const r = await fx.json('/api/vms');
      expect(r.body.data.map((g: { vmid: number }) => g.vmid)).toEqual([101, 102, 200]);
      const vm = r.body.data[0];
      for (const k of ['vmid', 'name', 'node', 'type', 'status', 'qmpstatus', 'cpu', 'maxcpu', 'mem', 'maxmem', 'disk', 'maxdisk', 'uptime', 'tags', 'cluster', 'lastSeen', 'stale']) {
        expect(vm).toHaveProperty(k);
      }
      expect(vm.tags).toEqual(['web']);
      expect(r.body.data[2]).not.toHaveProperty('qmpstatus');
      // No adapter heartbeat ever: nothing vouches for the data.
      expect(vm.stale).toBe(true);
      expect((await fx.json('/api/vms?type=lxc')).body.data.map((g: { vmid: number }) => g.vmid)).toEqual([200]);
      expect((await fx.json('/api/vms?tag=web')).body.data.map((g: { vmid: number }) => g.vmid)).toEqual([101, 102]);
      expect((await fx.json('/api/vms/102/status')).body.data).toMatchObject({ vmid: 102, status: 'stopped' });
    });

    it('follows removals', async () => {
      await publisher.put('qemu', '150', guest(150));
      await waitFor(async () => (await fx.json('/api/vms/150/status')).status === 200);
      await publisher.remove('qemu', '150');
      await waitFor(async () => (await fx.json('/api/vms/150/status')).status === 404, { message: 'guest removed' });
    });
  });

  describe('commands', () => {
    it('answers 503 no_adapter at once, naming what to start, when no adapter serves the cluster', async () => {
      // Past the api's first heartbeats (3 × 500 ms + 250 ms after its start), no heartbeat and no worker: nothing would take it.
      await waitFor(() => fx.api.plane.liveness.unavailable('proxmox', 'homelab')?.reason === 'no_adapter', { timeoutMs: 5_000, message: 'first heartbeats past' });
      const before = (await fx.json('/api/commands')).body.data.length;
      const r = await fx.json('/api/vms/102/reboot', { method: 'POST' });
      expect(r.status).toBe(503);
      expect(r.body.error).toMatchObject({ code: 'upstream_unavailable', details: { reason: 'no_adapter' } });
      expect(r.body.error.message).toMatch(/no proxmox-adapter is running for proxmox "homelab"/);
      expect(r.body.error.details.remedy).toMatch(/Start services\/proxmox-adapter/);
      expect((await fx.json('/api/commands')).body.data.length).toBe(before);
    });

    it('runs a command through an adapter and streams its lifecycle on SSE', async () => {
      const handler: CommandHandler = {
        async execute(ctx) {
          await ctx.beforeUpstreamCall();
          await ctx.running('UPID:pve1:0000ABCD:00000001:65F00000:qmstop:101:root@pam!molten:');
          await publisher.put('qemu', '101', guest(101, { status: 'stopped', qmpstatus: 'stopped', uptime: 0 }));
          return { status: 'succeeded', message: 'stopped', resultJson: '{"status":"stopped"}' };
        },
        resume: async () => ({ status: 'failed', message: 'unexpected' }),
      };
      const worker = new CommandWorker(adapterBus, { domain: 'proxmox', scope: 'homelab', instance: 'fake', handler, log: testLogger() });
      await worker.start();
      const sse = sseReader(await fx.call('/api/events'));
      await waitFor(() => sse.events.find((e) => e.event === 'snapshot'));
      const r = await fx.json('/api/vms/101/stop', { method: 'POST' });
      expect(r.status).toBe(202);
      const id = r.body.data.id;
      await waitFor(() => sse.events.some((e) => e.event === 'command' && e.data.id === id && e.data.status === 'succeeded'), { message: 'succeeded on SSE' });
      const statuses = sse.events.filter((e) => e.event === 'command' && e.data.id === id).map((e) => e.data.status);
      expect(statuses).toEqual(['requested', 'accepted', 'running', 'succeeded']);
      expect(sse.events.some((e) => e.event === 'guest' && e.data.value.vmid === 101 && e.data.value.status === 'stopped')).toBe(true);
      const final = (await fx.json(`/api/commands/${id}`)).body.data;
      expect(final.upstreamTaskId).toMatch(/^UPID:/);
      expect(final.result).toEqual({ status: 'stopped' });
      expect(final.actor).toEqual({ kind: 'user', name: 'operator', role: 'operator' });
      expect(final.transitions.map((t: { status: string }) => t.status)).toEqual(['requested', 'accepted', 'running', 'succeeded']);
      sse.close();
      await worker.stop();
    });

    describe('queued while an adapter that beats has not taken them yet', () => {
      let heartbeat: { stop(): void };
      beforeAll(async () => {
        heartbeat = startHeartbeat(adapterBus, {
          domain: 'proxmox', instance: 'busy', version: 't', intervalMs: 1_000,
          upstreams: () => [{ serverId: 'pve-homelab', scope: 'homelab', status: ServerStatus.SERVER_STATUS_CONNECTED, lastOkMs: Date.now(), pollMs: 1_000, latencyMs: 1, leader: true, capabilities: [], privileges: [] }],
        });
        await waitFor(() => fx.api.plane.liveness.unavailable('proxmox', 'homelab') === undefined, { message: 'the adapter is seen' });
      });
      afterAll(() => heartbeat.stop());

      it('maps a repeated Idempotency-Key to the same command', async () => {
        const a = await fx.json('/api/vms/200/reboot', { method: 'POST', headers: { 'idempotency-key': 'reboot-200-once' } });
        const b = await fx.json('/api/vms/200/reboot', { method: 'POST', headers: { 'idempotency-key': 'reboot-200-once' } });
        expect(a.status).toBe(202);
        expect(b.status).toBe(200);
        expect(b.body.duplicate).toBe(true);
        expect(b.body.data.id).toBe(a.body.data.id);
      });

      it('refuses an Idempotency-Key reused on a different request with 422 naming the key', async () => {
        const a = await fx.json('/api/vms/101/start', { method: 'POST', headers: { 'idempotency-key': 'key-for-101' } });
        expect(a.status).toBe(202);
        const other = await fx.json('/api/vms/102/reboot', { method: 'POST', headers: { 'idempotency-key': 'key-for-101' } });
        expect(other.status).toBe(422);
        expect(other.body.error.code).toBe('idempotency_key_reused');
        expect(other.body.error.message).toMatch(/key-for-101/);
        expect(other.body.error.details).toMatchObject({ idempotencyKey: 'key-for-101', commandId: a.body.data.id });
      });

      it('refuses a second command on a guest that has one in flight (409)', async () => {
        const first = await fx.json('/api/vms/102/shutdown', { method: 'POST' });
        expect(first.status).toBe(202);
        const second = await fx.json('/api/vms/102/start', { method: 'POST' });
        expect(second.status).toBe(409);
        expect(second.body.error.details.commandId).toBe(first.body.data.id);
      });

      it('rate-limits actions per token with 429 and Retry-After', async () => {
        for (const vmid of [300, 301, 302]) await publisher.put('qemu', String(vmid), guest(vmid, { status: 'stopped' }));
        const limited = await apiFixture({ MOLTEN_RATE_LIMIT: '60', MOLTEN_RATE_BURST: '2' }, fx.nats);
        try {
          await waitFor(async () => (await limited.json('/api/vms/302/status')).status === 200);
          const codes: number[] = [];
          let retry: string | null = null;
          for (const vmid of [300, 301, 302]) {
            const r = await limited.json(`/api/vms/${vmid}/start`, { method: 'POST' });
            codes.push(r.status);
            retry ??= r.headers.get('retry-after');
          }
          expect(codes).toEqual([202, 202, 429]);
          expect(Number(retry)).toBeGreaterThanOrEqual(1);
        } finally {
          await limited.dispose();
        }
      });
    });
  });

  describe('events', () => {
    it('resumes from Last-Event-ID with only the missed events', async () => {
      const first = sseReader(await fx.call('/api/events'));
      const snap = await waitFor(() => first.events.find((e) => e.event === 'snapshot'));
      first.close();
      await publisher.put('qemu', '101', guest(101, { name: 'renamed-while-away' }));
      await waitFor(async () => (await fx.json('/api/vms/101/status')).body.data.name === 'renamed-while-away');
      const resumed = sseReader(await fx.call('/api/events', { headers: { 'last-event-id': snap.id! } }));
      await waitFor(() => resumed.events.find((e) => e.event === 'guest' && e.data.value.name === 'renamed-while-away'), { message: 'missed event replayed' });
      expect(resumed.events.some((e) => e.event === 'snapshot')).toBe(false);
      expect(resumed.events[0]!.event).toBe('resume');
      resumed.close();
    });

    it('sends a snapshot to a client too far behind to resume', async () => {
      const r = sseReader(await fx.call('/api/events', { headers: { 'last-event-id': '-5' } }));
      const snap = await waitFor(() => r.events.find((e) => e.event === 'snapshot'));
      expect(snap.data.clusters[0].guests.length).toBeGreaterThanOrEqual(3);
      r.close();
    });
  });
});

describe('api during its first heartbeats', () => {
  let fx: Awaited<ReturnType<typeof apiFixture>>;

  beforeAll(async () => {
    // A long heartbeat: for its first 30 s the api cannot know yet that no adapter runs.
    fx = await apiFixture({ MOLTEN_HEARTBEAT_MS: '10000', MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS: '1500' });
    const adapterBus = await connectBus({ servers: fx.nats.url, name: 'fake-adapter', log: testLogger() });
    await new StatePublisher(adapterBus, 'proxmox', 'homelab').put('qemu', '102', guest(102, { status: 'stopped', qmpstatus: 'stopped', uptime: 0 }));
    await adapterBus.close();
    await waitFor(async () => (await fx.json('/api/vms')).body.data.length === 1, { message: 'guest visible' });
  });
  afterAll(async () => {
    await fx.dispose();
  });

  it('accepts a command, and it ends timed_out naming the missing adapter when none takes it', async () => {
    const r = await fx.json('/api/vms/102/start', { method: 'POST' });
    expect(r.status).toBe(202);
    expect(r.headers.get('location')).toBe(`/api/commands/${r.body.data.id}`);
    const done = await waitFor(async () => {
      const c = (await fx.json(`/api/commands/${r.body.data.id}`)).body.data;
      return c.status === 'timed_out' ? c : undefined;
    }, { timeoutMs: 8_000 });
    expect(done.error.code).toBe('no_adapter');
    expect(done.message).toMatch(/no proxmox-adapter took the command for "homelab"/);
    expect(done.error.remedy).toMatch(/proxmox-adapter/);
  });
});
