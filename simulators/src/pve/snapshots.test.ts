import { waitFor } from '@molten/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPID_PATTERN, decodeUpid, type PveSimulator } from './index.js';
import { enc, pveClient, startTestSimulator, waitForTask, type Client } from '../../test/pve-client.js';

type Row = Record<string, any>;
const FAST_SNAPSHOTS = { snapshot: 60, rollback: 60, delsnapshot: 40 };

/** Snapshots as Proxmox tasks (snapshots.ts). */
describe('snapshots as tasks', () => {
  let sim: PveSimulator;
  let c: Client;
  beforeAll(async () => {
    sim = await startTestSimulator({ taskDurations: FAST_SNAPSHOTS });
    c = pveClient(sim);
  });
  afterAll(async () => {
    await c?.close();
    await sim?.close();
  });

  const list = async (path: string) => (await c.get(path)).body.data as Row[];

  it('lists snapshots and a last `current` entry pointing at the snapshot it descends from', async () => {
    const rows = await list('/nodes/pve3/qemu/304/snapshot');
    expect(rows.at(-1)).toEqual({ name: 'current', digest: expect.stringMatching(/^[0-9a-f]{40}$/), running: 0, description: 'You are here!', parent: 'world-v2' });
    expect(rows.find((r) => r.name === 'world-v2')).toEqual({ name: 'world-v2', snaptime: expect.any(Number), description: 'After the nether update', vmstate: 0, parent: 'world-v1' });
    expect((await list('/nodes/pve1/lxc/100/snapshot'))[0]).not.toHaveProperty('vmstate');
  });

  it('create with RAM: a qmsnapshot task; lock `snapshot` and snapstate `prepare` while it runs', async () => {
    sim.setTaskDurations({ snapshot: 60_000 });
    const r = await c.post('/nodes/pve2/qemu/202/snapshot', { snapname: 'before-drain', description: 'before draining the node', vmstate: 1 });
    expect(r.status).toBe(200);
    expect(decodeUpid(r.body.data)).toMatchObject({ node: 'pve2', type: 'qmsnapshot', id: '202', user: 'root@pam!molten' });
    await waitFor(() => sim.guest(202)?.lock === 'snapshot');
    expect((await c.get('/nodes/pve2/qemu/202/status/current')).body.data.lock).toBe('snapshot');
    expect((await list('/nodes/pve2/qemu/202/snapshot')).find((s) => s.name === 'before-drain')).toMatchObject({ snapstate: 'prepare' });
    // Anything else on the guest meanwhile meets the lock.
    const reboot = await c.post('/nodes/pve2/qemu/202/status/reboot');
    expect((await waitForTask(c, 'pve2', reboot.body.data)).exitstatus).toBe('VM is locked (snapshot)');
    await c.del(`/nodes/pve2/tasks/${enc(r.body.data)}`); // interrupted: cleaned up
    expect((await waitForTask(c, 'pve2', r.body.data)).exitstatus).toBe('received interrupt');
    expect(sim.guest(202)).not.toHaveProperty('lock');
    expect(sim.snapshots(202).list).toEqual([]);

    sim.setTaskDurations(FAST_SNAPSHOTS);
    const ok = await c.post('/nodes/pve2/qemu/202/snapshot', { snapname: 'before-drain', description: 'before draining the node', vmstate: 1 });
    const done = await waitForTask(c, 'pve2', ok.body.data);
    expect(done.exitstatus).toBe('OK');
    const log = (await c.get(`/nodes/pve2/tasks/${enc(ok.body.data)}/log`)).body.data.map((l: Row) => l.t);
    expect(log[0]).toBe("saving VM state and RAM using storage 'local-lvm'");
    expect(log.at(-1)).toBe('TASK OK');
    expect((await list('/nodes/pve2/qemu/202/snapshot')).find((s) => s.name === 'before-drain')).toMatchObject({ vmstate: 1, description: 'before draining the node' });
    expect(sim.snapshots(202).parent).toBe('before-drain');
    expect(sim.guest(202)).not.toHaveProperty('lock');
  });

  it('rollback to a snapshot with RAM stops the VM, then it runs again from that state', async () => {
    const events: string[] = [];
    const off = sim.onChange((e) => e.kind === 'guest' && e.vmid === 202 && e.change === 'status' && events.push(e.status));
    const r = await c.post('/nodes/pve2/qemu/202/snapshot/before-drain/rollback');
    expect(decodeUpid(r.body.data)).toMatchObject({ type: 'qmrollback', id: '202' });
    expect((await waitForTask(c, 'pve2', r.body.data)).exitstatus).toBe('OK');
    off();
    expect(events).toEqual(['stopped', 'running']);
    expect(sim.guest(202)).toMatchObject({ status: 'running', qmpstatus: 'running' });
  });

  it('rollback without RAM leaves the guest stopped, unless start=1', async () => {
    const create = await c.post('/nodes/pve1/lxc/103/snapshot', { snapname: 'plain' });
    expect(decodeUpid(create.body.data)?.type).toBe('vzsnapshot');
    await waitForTask(c, 'pve1', create.body.data);
    const back = await c.post('/nodes/pve1/lxc/103/snapshot/plain/rollback');
    expect(decodeUpid(back.body.data)?.type).toBe('vzrollback');
    await waitForTask(c, 'pve1', back.body.data);
    expect(sim.guest(103)?.status).toBe('stopped');
    const again = await c.post('/nodes/pve1/lxc/103/snapshot/plain/rollback', { start: 1 });
    expect((await waitForTask(c, 'pve1', again.body.data)).exitstatus).toBe('OK');
    expect(sim.guest(103)?.status).toBe('running');
  });

  it('delete: qmdelsnapshot under lock `snapshot-delete`; children now descend from its parent', async () => {
    sim.setTaskDurations({ delsnapshot: 60_000 });
    const r = await c.del('/nodes/pve3/qemu/304/snapshot/world-v1');
    expect(decodeUpid(r.body.data)).toMatchObject({ type: 'qmdelsnapshot', id: '304' });
    await waitFor(() => sim.guest(304)?.lock === 'snapshot-delete');
    expect((await list('/nodes/pve3/qemu/304/snapshot')).find((s) => s.name === 'world-v1')).toMatchObject({ snapstate: 'delete' });
    sim.setTaskDurations(FAST_SNAPSHOTS);
    await c.del(`/nodes/pve3/tasks/${enc(r.body.data)}`);
    await waitForTask(c, 'pve3', r.body.data);
    sim.lock(304, undefined); // what `qm unlock` does after a failed delete

    const ok = await c.del('/nodes/pve3/qemu/304/snapshot/world-v1', );
    // A snapshot left in `delete` state can be removed again.
    expect((await waitForTask(c, 'pve3', ok.body.data)).exitstatus).toBe('OK');
    expect(sim.snapshots(304)).toEqual({ parent: 'world-v2', list: [expect.objectContaining({ name: 'world-v2' })] });
    expect(sim.snapshots(304).list[0]).not.toHaveProperty('parent');
  });

  it('what fails synchronously and what fails in the task', async () => {
    const reserved = await c.post('/nodes/pve3/qemu/304/snapshot', { snapname: 'current' });
    expect([reserved.status, reserved.statusText]).toEqual([500, "unable to use snapshot name 'current' (reserved name)"]);
    const pending = await c.post('/nodes/pve3/qemu/304/snapshot', { snapname: 'Pending' });
    expect(pending.statusText).toBe("unable to use snapshot name 'pending' (reserved name)");
    const vzdump = await c.post('/nodes/pve1/lxc/100/snapshot', { snapname: 'vzdump' });
    expect(vzdump.statusText).toBe("unable to use snapshot name 'vzdump' (reserved name)");
    const bad = await c.post('/nodes/pve3/qemu/304/snapshot', { snapname: '1st' });
    expect(bad.body.errors).toEqual({ snapname: "invalid format - invalid configuration ID '1st'\n" });
    const long = await c.post('/nodes/pve3/qemu/304/snapshot', { snapname: `a${'b'.repeat(40)}` });
    expect(long.body.errors).toEqual({ snapname: 'value may only be 40 characters long' });
    const ctState = await c.post('/nodes/pve1/lxc/100/snapshot', { snapname: 'x1', vmstate: 1 });
    expect(ctState.body.errors).toEqual({ vmstate: 'property is not defined in schema and the schema does not allow additional properties' });

    const cases: [string, Record<string, string>, string][] = [
      ['/nodes/pve3/qemu/304/snapshot', { snapname: 'world-v2' }, "snapshot name 'world-v2' already used"],
      ['/nodes/pve1/qemu/102/snapshot', { snapname: 'x1' }, 'VM is locked (backup)'],
      ['/nodes/pve1/qemu/9000/snapshot', { snapname: 'x1' }, "you can't take a snapshot if it's a template"],
      ['/nodes/pve3/qemu/304/snapshot/nope/rollback', {}, "snapshot 'nope' does not exist"],
    ];
    for (const [path, form, exit] of cases) {
      const r = await c.post(path, form);
      expect(r.body.data, path).toMatch(UPID_PATTERN);
      expect((await waitForTask(c, path.split('/')[2]!, r.body.data)).exitstatus, path).toBe(exit);
    }
    const del = await c.del('/nodes/pve3/qemu/304/snapshot/nope');
    expect((await waitForTask(c, 'pve3', del.body.data)).exitstatus).toBe("snapshot 'nope' does not exist");
    expect(sim.guest(102)?.lock).toBe('backup');
  });

  it('a task that fails half-way is cleaned up (failNextTask)', async () => {
    sim.failNextTask({ vmid: 305, action: 'snapshot' }, 'lvcreate failed - out of space');
    const r = await c.post('/nodes/pve3/lxc/305/snapshot', { snapname: 'doomed' });
    const done = await waitForTask(c, 'pve3', r.body.data);
    expect(done.exitstatus).toBe('lvcreate failed - out of space');
    const log = (await c.get(`/nodes/pve3/tasks/${enc(r.body.data)}/log`)).body.data.map((l: Row) => l.t);
    expect(log.slice(-2)).toEqual(['snapshot create failed: starting cleanup', 'TASK ERROR: lvcreate failed - out of space']);
    expect(sim.snapshots(305).list).toEqual([]);
    expect(sim.guest(305)).not.toHaveProperty('lock');
  });

  it('privileges: VM.Snapshot to take and delete, VM.Snapshot.Rollback (or VM.Snapshot) to roll back', async () => {
    sim.addToken({ id: 'ops@pve!rb', secret: 's-rb', privileges: ['VM.Audit', 'VM.Snapshot.Rollback'] });
    sim.addToken({ id: 'ops@pve!ro', secret: 's-ro', privileges: ['VM.Audit'] });
    const rb = pveClient(sim, { token: 'ops@pve!rb' });
    const ro = pveClient(sim, { token: 'ops@pve!ro' });
    const take = await rb.post('/nodes/pve3/qemu/304/snapshot', { snapname: 'x2' });
    expect([take.status, take.statusText]).toEqual([403, 'Permission check failed (/vms/304, VM.Snapshot)']);
    const delDenied = await rb.del('/nodes/pve3/qemu/304/snapshot/world-v2');
    expect(delDenied.statusText).toBe('Permission check failed (/vms/304, VM.Snapshot)');
    const back = await rb.post('/nodes/pve3/qemu/304/snapshot/world-v2/rollback');
    expect((await waitForTask(c, 'pve3', back.body.data)).exitstatus).toBe('OK');
    const withStart = await rb.post('/nodes/pve3/qemu/304/snapshot/world-v2/rollback', { start: 1 });
    expect(withStart.statusText).toBe('Permission check failed (/vms/304, VM.PowerMgmt)');
    const none = await ro.post('/nodes/pve3/qemu/304/snapshot/world-v2/rollback');
    expect([none.status, none.statusText]).toEqual([403, 'Permission check failed (/vms/304, VM.Snapshot|VM.Snapshot.Rollback)']);
    expect((await ro.get('/nodes/pve3/qemu/304/snapshot')).status).toBe(200);
    await rb.close();
    await ro.close();
  });
});
