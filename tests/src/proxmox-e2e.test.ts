import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuestView } from '@molten/simulators/pve';
import { waitFor } from '@molten/testkit';
import { sseReader } from '../../services/api/src/test/api-fixture.js';
import { DEMO_TOKEN } from '@molten/simulators/pve';
import { OPERATOR, guestPicker, startStack, type Stack } from './stack.js';

/** Issue 2's end-to-end checks: the api, the proxmox-adapter and the PVE simulator on a real nats-server. */
describe('Proxmox control plane end to end', () => {
  let stack: Stack;
  const picker = guestPicker();
  const take = (pred: (g: GuestView) => boolean) => picker.take(stack.sim.guests(), pred);

  beforeAll(async () => {
    stack = await startStack();
    // Listed and live: the first test asserts both, and on a loaded machine the list can stand
    // before its freshness does.
    await waitFor(async () => {
      const r = (await stack.json('/api/vms')).body;
      return r.data?.length === stack.sim.guests().length && r.meta.stale === false;
    }, { message: 'all guests listed, live', timeoutMs: 20_000 });
  });
  afterAll(() => stack?.stop());

  it('lists nodes, guests, storage and cluster status as the cluster has them', async () => {
    const vms = (await stack.json('/api/vms')).body;
    expect(vms.meta).toMatchObject({ cluster: 'homelab', stale: false });
    const byId = new Map(vms.data.map((g: { vmid: number }) => [g.vmid, g]));
    for (const g of stack.sim.guests()) {
      expect(byId.get(g.vmid), `guest ${g.vmid}`).toMatchObject({ vmid: g.vmid, name: g.name, node: g.node, type: g.type, status: g.status, tags: g.tags, stale: false, cluster: 'homelab' });
    }
    const paused = stack.sim.guests().find((g) => g.qmpstatus === 'paused');
    if (paused) await waitFor(async () => (await stack.json(`/api/vms/${paused.vmid}/status`)).body.data.qmpstatus === 'paused', { message: 'paused VM shows qmpstatus paused', timeoutMs: 20_000 });
    const locked = stack.sim.guests().find((g) => g.lock);
    if (locked) expect(byId.get(locked.vmid)).toMatchObject({ lock: locked.lock });

    const nodes = (await stack.json('/api/nodes')).body.data;
    expect(nodes.map((n: { node: string }) => n.node)).toEqual([...stack.sim.nodes].sort());
    expect(nodes.every((n: { status: string }) => n.status === 'online')).toBe(true);

    const storage = (await stack.json('/api/storage')).body.data;
    expect(storage.length).toBeGreaterThan(0);
    for (const s of storage) expect(s.total).toBeGreaterThan(0);

    const status = (await stack.json('/api/cluster/status')).body.data;
    expect(status).toMatchObject({ name: 'homelab', standalone: false, quorate: true });
    expect(status.counts.guests).toBe(stack.sim.guests().length);
    expect(status.counts.running).toBe(stack.sim.guests().filter((g) => g.status === 'running').length);
  });

  it('stops a VM with one call: 202, then accepted, running, succeeded and its new status on the SSE stream', async () => {
    const vm = take((g) => g.type === 'qemu' && g.status === 'running' && g.qmpstatus === 'running');
    const sse = sseReader(await stack.call('/api/events'));
    await waitFor(() => sse.events.find((e) => e.event === 'snapshot'));
    const r = await stack.json(`/api/vms/${vm.vmid}/stop`, { method: 'POST', body: JSON.stringify({ reason: 'replacing its disk' }), headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(202);
    const id = r.body.data.id;
    await waitFor(() => sse.events.find((e) => e.event === 'command' && e.data.id === id && e.data.status === 'succeeded'), { message: 'succeeded on the stream' });
    // The reason given is kept with the command: on the stream and in its record.
    expect(sse.events.find((e) => e.event === 'command' && e.data.id === id)!.data.reason).toBe('replacing its disk');
    expect((await stack.json(`/api/commands/${id}`)).body.data.reason).toBe('replacing its disk');
    const statuses = sse.events.filter((e) => e.event === 'command' && e.data.id === id).map((e) => e.data.status);
    expect(statuses).toEqual(['requested', 'accepted', 'running', 'succeeded']);
    const running = sse.events.find((e) => e.event === 'command' && e.data.id === id && e.data.status === 'running')!;
    expect(running.data.upstreamTaskId).toMatch(new RegExp(`^UPID:${vm.node}:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmstop:${vm.vmid}:${DEMO_TOKEN.id.replace('!', '!')}:$`));
    // The new state is published as soon as the task ends, before the command is acknowledged.
    const succeededAt = sse.events.findIndex((e) => e.event === 'command' && e.data.id === id && e.data.status === 'succeeded');
    const guestAt = sse.events.findIndex((e) => e.event === 'guest' && e.data.value?.vmid === vm.vmid && e.data.value.status === 'stopped');
    expect(guestAt).toBeGreaterThan(-1);
    expect(guestAt).toBeLessThan(succeededAt);
    expect(stack.sim.guest(vm.vmid)!.status).toBe('stopped');
    expect(stack.sim.countRequests({ method: 'POST', vmid: vm.vmid })).toBe(1);
    sse.close();
  });

  it('waits for the HA manager before calling an HA-managed guest stopped', async () => {
    const ha = stack.sim.guests().find((g) => g.hastate === 'started' && g.status === 'running' && !g.lock);
    expect(ha, 'the demo cluster has an HA-managed guest').toBeDefined();
    const r = await stack.json(`/api/vms/${ha!.vmid}/shutdown`, { method: 'POST' });
    const c = await stack.waitCommand(r.body.data.id, ['succeeded', 'failed', 'timed_out'], 30_000);
    expect(c.status).toBe('succeeded');
    expect(c.upstreamTaskId).toMatch(/:hastop:/);
    expect(c.result.status).toBe('stopped');
    expect(stack.sim.guest(ha!.vmid)!.status).toBe('stopped');
    expect((await stack.json(`/api/vms/${ha!.vmid}/status`)).body.data.status).toBe('stopped');
  });

  it('ends a start of a locked guest failed with Proxmox’s reason', async () => {
    const ct = take((g) => g.status === 'stopped');
    stack.sim.lock(ct.vmid, 'backup');
    const r = await stack.json(`/api/vms/${ct.vmid}/start`, { method: 'POST' });
    expect(r.status).toBe(202);
    const c = await stack.waitCommand(r.body.data.id, ['failed', 'succeeded']);
    expect(c.status).toBe('failed');
    expect(c.error.code).toBe('locked');
    expect(c.error.message).toMatch(/is locked \(backup\)/);
    expect(c.error.remedy).toMatch(/unlock/);
    stack.sim.lock(ct.vmid, undefined);
  });

  it('ends an action refused with 403 failed, naming the missing privilege', async () => {
    stack.sim.addToken({ id: 'auditor@pve!molten', secret: 'b2f0c1de-0000-4000-8000-000000000001', privileges: ['VM.Audit', 'Sys.Audit', 'Datastore.Audit'] });
    const restricted = await stack.startAdapter({ MOLTEN_CLUSTER: 'audit', MOLTEN_INSTANCE: 'auditor', PVE_TOKEN: 'auditor@pve!molten=b2f0c1de-0000-4000-8000-000000000001' });
    try {
      const vm = take((g) => g.status === 'running');
      await waitFor(async () => (await stack.json(`/api/vms/${vm.vmid}/status?cluster=audit`)).status === 200, { message: 'audit cluster visible' });
      const r = await stack.json(`/api/vms/${vm.vmid}/shutdown?cluster=audit`, { method: 'POST' });
      const c = await stack.waitCommand(r.body.data.id, ['failed', 'succeeded']);
      expect(c.status).toBe('failed');
      expect(c.error).toMatchObject({ code: 'forbidden', privilege: 'VM.PowerMgmt', upstreamStatus: '403' });
      expect(c.error.message).toContain('VM.PowerMgmt');
      expect(stack.sim.guest(vm.vmid)!.status).toBe('running');
      // The capability is now reported unavailable, so a confirm dialog can say so up front.
      await waitFor(async () => {
        const s = (await stack.json('/api/servers/pve-audit')).body.data;
        return s?.capabilities.find((x: { action: string }) => x.action === 'vm-shutdown')?.available === false;
      }, { message: 'capability marked unavailable' });
    } finally {
      await restricted.stop();
    }
  });

  it('reports a rejected token in /api/health and /api/servers with the pveum commands that fix it', async () => {
    const bad = await stack.startAdapter({ MOLTEN_CLUSTER: 'badtoken', MOLTEN_INSTANCE: 'badtoken', PVE_TOKEN: `${DEMO_TOKEN.id}=00000000-0000-4000-8000-000000000000` });
    try {
      const server = await waitFor(async () => {
        const s = (await stack.json('/api/servers/pve-badtoken')).body?.data;
        return s?.status === 'auth_failed' ? s : undefined;
      }, { message: 'auth_failed reported' });
      expect(server.authenticated).toBe(false);
      expect(server.reachable).toBe(true);
      expect(server.remedy).toMatch(/pveum user token add/);
      for (const p of ['VM.Audit', 'VM.PowerMgmt', 'Sys.Audit', 'Datastore.Audit']) expect(server.remedy).toContain(p);
      expect(JSON.stringify(server)).not.toContain('00000000-0000-4000-8000-000000000000');
      const health = (await stack.json('/api/health')).body;
      const cluster = health.servers.find((s: { id: string }) => s.id === 'pve-badtoken');
      expect(cluster).toMatchObject({ status: 'auth_failed' });
      expect(cluster.remedy).toMatch(/pveum/);
    } finally {
      await bad.stop();
    }
  });

  it('marks the cluster stale within three poll intervals when the upstream goes down, and live again when it is back', async () => {
    await stack.sim.stop();
    const downAt = Date.now();
    try {
      const vms = await waitFor(async () => {
        const r = (await stack.json('/api/vms')).body;
        return r.meta.stale ? r : undefined;
      }, { timeoutMs: 3 * 1000 + 2_000, message: 'stale within three polls' });
      expect(Date.now() - downAt).toBeLessThan(3 * 1000 + 2_000);
      expect(vms.data.every((g: { stale: boolean }) => g.stale)).toBe(true);
      const health = (await stack.json('/api/health')).body;
      const c = health.clusters.find((x: { id: string }) => x.id === 'homelab');
      expect(c.stale).toBe(true);
      expect(c.ageSeconds).toBeGreaterThan(0);
      expect(health.status).toBe('degraded');
      const server = await waitFor(async () => {
        const s = (await stack.json('/api/servers/pve-homelab')).body.data;
        return s.status === 'down' ? s : undefined;
      });
      expect(server.statusReason).toMatch(/cannot reach|did not answer/);
      expect(server.remedy).toMatch(/PVE_URL/);
      // Actions on a cluster known to be down answer 503 with the reason instead of queueing.
      const vm = picker.peek(stack.sim.guests(), (g) => g.status === 'running');
      const r = await stack.json(`/api/vms/${vm.vmid}/stop`, { method: 'POST' });
      expect(r.status).toBe(503);
      expect(r.body.error.details.remedy).toMatch(/PVE_URL/);
    } finally {
      await stack.sim.start();
    }
    await waitFor(async () => !(await stack.json('/api/vms')).body.meta.stale, { message: 'live again', timeoutMs: 10_000 });
  });

  it('keeps secrets out of every answer', async () => {
    const all = JSON.stringify([(await stack.json('/api/servers')).body, (await stack.json('/api/health')).body, (await stack.json('/api/commands?limit=500')).body]);
    expect(all).not.toContain(DEMO_TOKEN.secret);
    expect(all).not.toContain(OPERATOR);
  });
});
