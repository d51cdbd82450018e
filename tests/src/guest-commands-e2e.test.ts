import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuestView } from '@molten/simulators/pve';
import { waitFor } from '@molten/testkit';
import { guestPicker, isRunningVm, startStack, type Stack } from './stack.js';

/**
 * The guest page's commands on real components (nats-server, the api, the proxmox-adapter, the
 * PVE simulator), beyond the happy path of guest-page-e2e: hibernating, the state rules, an
 * Idempotency-Key, and one command at a time per guest.
 */
describe('guest page commands over the api', () => {
  let stack: Stack;
  const picker = guestPicker();
  const take = (pred: (g: GuestView) => boolean) => picker.take(stack.sim.guests(), pred);
  const runningVm = isRunningVm;
  const send = (p: string, body: unknown = {}, headers: Record<string, string> = {}, method = 'POST') => stack.json(p, { method, body: JSON.stringify(body), headers });
  const mutating = (vmid: number) => stack.sim.countRequests({ vmid, method: 'POST' }) + stack.sim.countRequests({ vmid, method: 'DELETE' });

  beforeAll(async () => {
    stack = await startStack({ sim: { taskDurations: { start: 150, stop: 100, shutdown: 200, reboot: 200, suspend: 150, resume: 150, snapshot: 200, rollback: 200, delsnapshot: 150 } } });
    await waitFor(async () => {
      const r = (await stack.json('/api/vms')).body;
      return r.data?.length === stack.sim.guests().length && r.meta.stale === false;
    }, { message: 'all guests listed, live', timeoutMs: 20_000 });
  });
  afterAll(() => stack?.stop());

  it('suspend {"todisk": true} hibernates (one qmsuspend, the VM stopped and locked suspended); resume brings it back', async () => {
    const vm = take(runningVm);
    const before = mutating(vm.vmid);
    const r = await send(`/api/vms/${vm.vmid}/suspend`, { todisk: true, reason: 'saving power' });
    expect(r.status).toBe(202);
    expect(r.body.data).toMatchObject({ action: 'vm-suspend', reason: 'saving power' });
    const done = await stack.waitCommand(r.body.data.id, ['succeeded', 'failed'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.upstreamTaskId).toMatch(/:qmsuspend:/);
    expect(mutating(vm.vmid) - before).toBe(1);
    expect(stack.sim.guest(vm.vmid)).toMatchObject({ status: 'stopped', lock: 'suspended' });
    // The api's view follows (the adapter re-read the guest before acknowledging).
    await waitFor(async () => (await stack.json(`/api/vms/${vm.vmid}/status`)).body.data?.lock === 'suspended', { message: 'the api shows the VM hibernated' });

    const resumed = await send(`/api/vms/${vm.vmid}/resume`);
    const back = await stack.waitCommand(resumed.body.data.id, ['succeeded', 'failed'], 30_000);
    expect(back.status, JSON.stringify(back.error)).toBe('succeeded');
    expect(mutating(vm.vmid) - before).toBe(2);
    expect(stack.sim.guest(vm.vmid)!.status).toBe('running');
  });

  it('the state rules: resuming a running VM fails as a conflict without a call to Proxmox', async () => {
    const vm = take(runningVm);
    const before = mutating(vm.vmid);
    const r = await send(`/api/vms/${vm.vmid}/resume`);
    expect(r.status).toBe(202);
    const done = await stack.waitCommand(r.body.data.id, ['succeeded', 'failed'], 30_000);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'conflict' } });
    expect(done.error.message).toMatch(/running/);
    expect(mutating(vm.vmid) - before).toBe(0);
  });

  it('an Idempotency-Key: the same snapshot request twice is one command and one POST; the key on another request is 422', async () => {
    const vm = take(runningVm);
    const before = stack.sim.countRequests({ vmid: vm.vmid, method: 'POST', action: 'snapshot' });
    const headers = { 'idempotency-key': `snap-${vm.vmid}` };
    const first = await send(`/api/vms/${vm.vmid}/snapshots`, { name: 'nightly-1' }, headers);
    const again = await send(`/api/vms/${vm.vmid}/snapshots`, { name: 'nightly-1' }, headers);
    expect([first.status, again.status]).toEqual([202, 200]);
    expect(again.body).toMatchObject({ duplicate: true, data: { id: first.body.data.id } });
    const other = await send(`/api/vms/${vm.vmid}/snapshots`, { name: 'nightly-2' }, headers);
    expect(other.status).toBe(422);
    expect(other.body.error).toMatchObject({ code: 'idempotency_key_reused', details: { commandId: first.body.data.id } });
    await stack.waitCommand(first.body.data.id, ['succeeded'], 30_000);
    expect(stack.sim.countRequests({ vmid: vm.vmid, method: 'POST', action: 'snapshot' }) - before).toBe(1);
    expect(stack.sim.snapshots(vm.vmid).list.map((s) => s.name)).toContain('nightly-1');
  });

  it('one command at a time per guest: a rollback while a snapshot is being taken is 409 naming it', async () => {
    const vm = take(runningVm);
    stack.sim.setTaskDurations({ snapshot: 2_000 });
    try {
      const taking = await send(`/api/vms/${vm.vmid}/snapshots`, { name: 'slow-one' });
      expect(taking.status).toBe(202);
      const busy = await send(`/api/vms/${vm.vmid}/snapshots/slow-one/rollback`);
      expect(busy.status).toBe(409);
      expect(busy.body.error).toMatchObject({ code: 'conflict', details: { commandId: taking.body.data.id } });
      const power = await send(`/api/vms/${vm.vmid}/stop`);
      expect(power.status).toBe(409);
      await stack.waitCommand(taking.body.data.id, ['succeeded'], 30_000);
    } finally {
      stack.sim.setTaskDurations({ snapshot: 200 });
    }
    // Once it ended, the guest takes the next one.
    const rolled = await send(`/api/vms/${vm.vmid}/snapshots/slow-one/rollback`);
    expect(rolled.status).toBe(202);
    expect((await stack.waitCommand(rolled.body.data.id, ['succeeded', 'failed'], 30_000)).status).toBe('succeeded');
  });

  it('a container: no RAM snapshot (400 vmstate), and no pause (409)', async () => {
    const ct = take((g) => g.type === 'lxc' && g.status === 'running');
    const ram = await send(`/api/vms/${ct.vmid}/snapshots`, { name: 'with-ram', vmstate: true });
    expect(ram.status).toBe(400);
    expect(ram.body.error.details.field).toBe('vmstate');
    expect((await send(`/api/vms/${ct.vmid}/suspend`)).status).toBe(409);
    expect(mutating(ct.vmid)).toBe(0);
  });
});
