import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuestView } from '@molten/simulators/pve';
import { waitFor } from '@molten/testkit';
import { guestPicker, startStack, VIEWER, type Stack } from './stack.js';

/**
 * Issue 12's api on real components: nats-server, the api, the proxmox-adapter and the PVE
 * simulator. A guest's page is read from Proxmox through the adapter (history, config,
 * addresses, tasks, a task's log, snapshots); snapshots and suspend/resume are commands like the
 * power actions, each exactly one request at Proxmox.
 */
describe('a guest page over the api', () => {
  let stack: Stack;
  const picker = guestPicker();
  const take = (pred: (g: GuestView) => boolean) => picker.take(stack.sim.guests(), pred);
  const runningVm = (g: GuestView) => g.type === 'qemu' && g.status === 'running';
  /** A running VM whose config enables the QEMU guest agent (read through the api), not used yet. */
  const agentVm = async () => {
    for (const g of stack.sim.guests().filter((x) => runningVm(x) && !x.lock && !x.hastate && !picker.isUsed(x.vmid))) {
      if ((await stack.json(`/api/vms/${g.vmid}/config`)).body.data?.agentEnabled) {
        picker.use(g.vmid);
        return g;
      }
    }
    throw new Error('no running VM with the guest agent enabled');
  };
  const post = (p: string, body: unknown = {}) => stack.json(p, { method: 'POST', body: JSON.stringify(body) });

  beforeAll(async () => {
    stack = await startStack();
    await waitFor(async () => {
      const r = (await stack.json('/api/vms')).body;
      return r.data?.length === stack.sim.guests().length && r.meta.stale === false;
    }, { message: 'all guests listed, live', timeoutMs: 20_000 });
  });
  afterAll(() => stack?.stop());

  it("history at Proxmox's step; many readers cost one rrddata read per step", async () => {
    const vm = take(runningVm);
    const before = stack.sim.countRequests({ path: /rrddata/, vmid: vm.vmid });
    const answers = await Promise.all(Array.from({ length: 10 }, () => stack.json(`/api/vms/${vm.vmid}/rrd?timeframe=hour`, { token: VIEWER })));
    for (const a of answers) expect(a.status).toBe(200);
    const rrd = answers[0]!.body.data;
    expect(rrd).toMatchObject({ vmid: vm.vmid, node: vm.node, timeframe: 'hour', cf: 'AVERAGE', stepS: 60 });
    // By column: one time per step, every column as long, the newest step with figures.
    expect(rrd.time.length).toBeGreaterThan(50);
    for (const column of Object.values(rrd.values) as unknown[][]) expect(column).toHaveLength(rrd.time.length);
    expect({ cpu: rrd.values.cpu.at(-1), maxmem: rrd.values.maxmem.at(-1) }).toEqual({ cpu: expect.any(Number), maxmem: expect.any(Number) });
    expect(stack.sim.countRequests({ path: /rrddata/, vmid: vm.vmid }) - before).toBe(1);
    expect(answers[0]!.body.meta.freshUntil).toBeDefined();
    const day = await stack.json(`/api/vms/${vm.vmid}/rrd?timeframe=day&cf=MAX`);
    expect(day.body.data).toMatchObject({ timeframe: 'day', cf: 'MAX' });
    expect(day.body.data.time.at(-1) - day.body.data.time[0]).toBeGreaterThanOrEqual(23 * 3600);
    expect((await stack.json(`/api/vms/${vm.vmid}/rrd?timeframe=fortnight`)).status).toBe(400);
  });

  it("a node's history", async () => {
    const node = stack.sim.guests()[0]!.node;
    const r = await stack.json(`/api/nodes/${node}/rrd?timeframe=hour`);
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ node, stepS: 60 });
    expect(r.body.data.values.memtotal.at(-1)).toBeGreaterThan(0);
    expect(r.body.data.values.memtotal).toHaveLength(r.body.data.time.length);
    expect((await stack.json('/api/nodes/nosuchnode/rrd')).status).toBe(404);
  });

  it('config without secrets, and addresses from the guest agent or why not', async () => {
    const vm = await agentVm();
    stack.sim.setAgentRunning(vm.vmid, true);
    const config = await stack.json(`/api/vms/${vm.vmid}/config`);
    expect(config.status).toBe(200);
    expect(config.body.data).toMatchObject({ vmid: vm.vmid, type: 'qemu', agentEnabled: true });
    expect(config.body.data.memoryMib).toBeGreaterThan(0);
    expect(JSON.stringify(config.body)).not.toMatch(/cipassword/i);
    const addresses = await stack.json(`/api/vms/${vm.vmid}/addresses`);
    expect(addresses.body.data).toMatchObject({ source: 'qemu-agent', unavailable: '' });
    expect(addresses.body.data.interfaces.length).toBeGreaterThan(0);
    const quiet = await agentVm();
    stack.sim.setAgentRunning(quiet.vmid, false);
    const none = await stack.json(`/api/vms/${quiet.vmid}/addresses`);
    expect(none.status).toBe(200);
    expect(none.body.data).toMatchObject({ unavailable: 'agent_not_running', interfaces: [] });
    expect(none.body.data.message).toMatch(/guest agent/i);
  });

  it('a missing privilege degrades one panel with a 403 naming it; the rest of the page answers', async () => {
    const vm = await agentVm();
    stack.sim.setAgentRunning(vm.vmid, true);
    stack.sim.failNextRequest({ path: /agent\/network-get-interfaces/, vmid: vm.vmid }, 403, `Permission check failed (/vms/${vm.vmid}, VM.GuestAgent.Audit)`);
    const r = await stack.json(`/api/vms/${vm.vmid}/addresses`);
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'forbidden', details: { privilege: 'VM.GuestAgent.Audit' } });
    expect(r.body.error.details.remedy).toMatch(/pveum/);
    expect((await stack.json(`/api/vms/${vm.vmid}/config`)).status).toBe(200);
    expect((await stack.json(`/api/vms/${vm.vmid}/snapshots`)).status).toBe(200);
  });

  it('snapshots: create, roll back and delete are commands, one request each at Proxmox, acknowledged after the task', async () => {
    const vm = take(runningVm);
    const count = (action: string) => stack.sim.countRequests({ vmid: vm.vmid, action });
    const created = await post(`/api/vms/${vm.vmid}/snapshots`, { name: 'pre-upgrade', description: 'before the upgrade', reason: 'e2e' });
    expect(created.status).toBe(202);
    expect(created.body.data).toMatchObject({ action: 'snapshot-create', target: { kind: 'guest', vmid: vm.vmid, action: 'snapshot-create', snapshot: 'pre-upgrade' } });
    await stack.waitCommand(created.body.data.id, ['succeeded'], 30_000);
    expect(count('snapshot')).toBe(1);
    const list = await stack.json(`/api/vms/${vm.vmid}/snapshots`);
    expect(list.body.data.snapshots.map((s: { name: string }) => s.name)).toContain('pre-upgrade');

    const rolled = await post(`/api/vms/${vm.vmid}/snapshots/pre-upgrade/rollback`);
    expect(rolled.status).toBe(202);
    await stack.waitCommand(rolled.body.data.id, ['succeeded'], 30_000);
    expect(count('rollback')).toBe(1);

    const deleted = await stack.json(`/api/vms/${vm.vmid}/snapshots/pre-upgrade`, { method: 'DELETE' });
    expect(deleted.status).toBe(202);
    await stack.waitCommand(deleted.body.data.id, ['succeeded'], 30_000);
    expect(count('delsnapshot')).toBe(1);
    expect(stack.sim.snapshots(vm.vmid).list.map((s) => s.name)).not.toContain('pre-upgrade');

    // A name Proxmox would refuse never leaves the api.
    const bad = await post(`/api/vms/${vm.vmid}/snapshots`, { name: 'current' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe('name');
    expect((await stack.json(`/api/vms/${vm.vmid}/snapshots`, { method: 'POST', token: VIEWER, body: '{"name":"x1"}' })).status).toBe(403);
  });

  it("suspend pauses a running VM and resume brings it back; each one POST; the guest's tasks and a task's log show them", async () => {
    // Any running VM with no command in flight: the earlier checks' guests are done with theirs.
    const vm = stack.sim.guests().find((g) => runningVm(g) && !g.lock && !g.template && !g.hastate)!;
    const paused = await post(`/api/vms/${vm.vmid}/suspend`);
    expect(paused.status).toBe(202);
    await stack.waitCommand(paused.body.data.id, ['succeeded'], 30_000);
    expect(stack.sim.countRequests({ method: 'POST', vmid: vm.vmid, action: 'suspend' })).toBe(1);
    await waitFor(async () => (await stack.json(`/api/vms/${vm.vmid}/status`)).body.data.status === 'paused' || stack.sim.guest(vm.vmid)!.qmpstatus === 'paused', {
      message: 'the VM reads paused',
    });
    const resumed = await post(`/api/vms/${vm.vmid}/resume`);
    expect(resumed.status).toBe(202);
    const done = await stack.waitCommand(resumed.body.data.id, ['succeeded'], 30_000);
    expect(stack.sim.countRequests({ method: 'POST', vmid: vm.vmid, action: 'resume' })).toBe(1);
    expect(stack.sim.guest(vm.vmid)!.status).toBe('running');

    const tasks = await stack.json(`/api/vms/${vm.vmid}/tasks`);
    expect(tasks.status).toBe(200);
    const types = tasks.body.data.tasks.map((t: { type: string }) => t.type);
    expect(types).toEqual(expect.arrayContaining(['qmpause', 'qmresume']));
    const upid = done.upstreamTaskId as string;
    expect(upid).toMatch(/^UPID:/);
    const log = await stack.json(`/api/tasks/${encodeURIComponent(upid)}/log`);
    expect(log.status).toBe(200);
    expect(log.body.data.lines.at(-1).text).toMatch(/TASK OK/);
    expect((await stack.json('/api/tasks/not-a-upid/log')).status).toBe(400);
  });

  it("an HA-managed guest's HA state, and a guest HA does not manage", async () => {
    const ha = stack.sim.guests().find((g) => g.hastate)!;
    const r = await stack.json(`/api/vms/${ha.vmid}/ha`, { token: VIEWER });
    expect(r.status).toBe(200);
    expect(r.body.data.managed).toBe(true);
    expect(r.body.data.entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'quorum', quorate: true }),
        expect.objectContaining({ type: 'service', vmid: ha.vmid, sid: `${ha.type === 'lxc' ? 'ct' : 'vm'}:${ha.vmid}`, state: expect.any(String) }),
      ]),
    );
    const plain = stack.sim.guests().find((g) => !g.hastate)!;
    const other = await stack.json(`/api/vms/${plain.vmid}/ha`);
    expect(other.body.data.managed).toBe(false);
    expect(other.body.data.entries.filter((e: { type: string }) => e.type === 'service')).toEqual([]);
  });

  it('a container cannot be suspended (409), and an unknown guest is 404 on every panel', async () => {
    const ct = stack.sim.guests().find((g) => g.type === 'lxc')!;
    const r = await post(`/api/vms/${ct.vmid}/suspend`);
    expect(r.status).toBe(409);
    for (const panel of ['rrd', 'config', 'addresses', 'tasks', 'snapshots', 'ha']) expect((await stack.json(`/api/vms/999999/${panel}`)).status, panel).toBe(404);
  });
});
