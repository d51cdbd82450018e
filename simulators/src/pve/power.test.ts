import { waitFor } from '@molten/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UPID_PATTERN, decodeUpid, type PveSimEvent, type PveSimulator } from './index.js';
import { FAST_TASKS, enc, pveClient, startTestSimulator, waitForTask, type Client } from '../../test/pve-client.js';

/** A UPID as the docs' regex wants it, started by the demo token on `node`. */
function expectUpid(upid: unknown, node: string, type: string, vmid: number): string {
  expect(typeof upid).toBe('string');
  expect(upid).toMatch(UPID_PATTERN);
  expect(decodeUpid(upid as string)).toMatchObject({ node, type, id: String(vmid), user: 'root@pam!molten' });
  return upid as string;
}

describe('power actions', () => {
  let sim: PveSimulator;
  let c: Client;

  beforeAll(async () => {
    sim = await startTestSimulator({ preset: 'empty', configLockTimeoutMs: 400 });
    c = pveClient(sim);
  });
  afterAll(async () => {
    await c?.close();
    await sim?.close();
  });
  beforeEach(() => {
    sim.setTaskDurations(FAST_TASKS);
    sim.addGuest({ vmid: 100, type: 'qemu', node: 'pve1', name: 'vm', status: 'stopped' });
    sim.addGuest({ vmid: 101, type: 'lxc', node: 'pve1', name: 'ct', status: 'running' });
  });
  afterEach(() => {
    sim.clearFaults();
    for (const g of sim.guests()) sim.removeGuest(g.vmid);
  });

  it('start: a UPID at once, the task runs, then stops with OK; the VM runs only once the task ended', async () => {
    sim.setTaskDurations({ start: 60_000 });
    const r = await c.post('/nodes/pve1/qemu/100/status/start');
    expect(r.status).toBe(200);
    const upid = expectUpid(r.body.data, 'pve1', 'qmstart', 100);
    const running = (await c.get(`/nodes/pve1/tasks/${enc(upid)}/status`)).body.data;
    expect(running).toMatchObject({ upid, node: 'pve1', type: 'qmstart', id: '100', user: 'root@pam', tokenid: 'molten', status: 'running' });
    expect(running).not.toHaveProperty('exitstatus');
    expect(sim.guest(100)?.status).toBe('stopped');
    // Stop it the way a client can (DELETE): it dies with "received interrupt" and changes nothing.
    expect((await c.del(`/nodes/pve1/tasks/${enc(upid)}`)).body).toEqual({ data: null });
    expect(await waitForTask(c, 'pve1', upid)).toMatchObject({ exitstatus: 'received interrupt' });
    expect(sim.guest(100)?.status).toBe('stopped');

    sim.setTaskDurations({ start: FAST_TASKS.start });
    const ok = await c.post('/nodes/pve1/qemu/100/status/start');
    const done = await waitForTask(c, 'pve1', ok.body.data);
    expect(done).toMatchObject({ status: 'stopped', exitstatus: 'OK' });
    expect(sim.guest(100)).toMatchObject({ status: 'running', qmpstatus: 'running' });
    const log = (await c.get(`/nodes/pve1/tasks/${enc(ok.body.data)}/log`)).body;
    expect(log).toEqual({ data: [{ n: 1, t: 'TASK OK' }], total: 1 });
  });

  it('accepts JSON bodies as well as forms', async () => {
    const r = await c.postJson('/nodes/pve1/qemu/100/status/start', { timeout: 30 });
    expect(await waitForTask(c, 'pve1', r.body.data)).toMatchObject({ exitstatus: 'OK' });
    const bad = await c.postJson('/nodes/pve1/qemu/100/status/shutdown', { forceStop: 'yes' });
    expect(bad.body.errors).toEqual({ forceStop: "type check ('boolean') failed - got 'yes'" });
  });

  it('starting a running VM gives a task that fails: VM 100 already running', async () => {
    sim.setStatus(100, 'running');
    const r = await c.post('/nodes/pve1/qemu/100/status/start');
    expect(r.status).toBe(200);
    expect(await waitForTask(c, 'pve1', r.body.data)).toMatchObject({ exitstatus: 'VM 100 already running' });
    const log = (await c.get(`/nodes/pve1/tasks/${enc(r.body.data)}/log`)).body.data;
    expect(log.at(-1)).toEqual({ n: log.length, t: 'TASK ERROR: VM 100 already running' });
  });

  it('stop, shutdown and reboot: state changes when the task ends', async () => {
    sim.setStatus(100, 'running');
    const events: PveSimEvent[] = [];
    const off = sim.onChange((e) => events.push(e));
    const pid = sim.guest(100)!.pid;
    const reboot = await c.post('/nodes/pve1/qemu/100/status/reboot');
    expect(await waitForTask(c, 'pve1', reboot.body.data)).toMatchObject({ exitstatus: 'OK' });
    expect(sim.guest(100)).toMatchObject({ status: 'running' });
    expect(sim.guest(100)!.pid).not.toBe(pid);
    const shutdown = await c.post('/nodes/pve1/qemu/100/status/shutdown', { timeout: 30 });
    expectUpid(shutdown.body.data, 'pve1', 'qmshutdown', 100);
    expect(await waitForTask(c, 'pve1', shutdown.body.data)).toMatchObject({ exitstatus: 'OK' });
    expect(sim.guest(100)).toMatchObject({ status: 'stopped', qmpstatus: 'stopped', cpu: 0, mem: 0, uptime: 0 });
    // Stopping a stopped VM is not an error for qemu-server.
    const stop = await c.post('/nodes/pve1/qemu/100/status/stop');
    expect(await waitForTask(c, 'pve1', stop.body.data)).toMatchObject({ exitstatus: 'OK' });
    off();
    const statusEvents = events.filter((e) => e.kind === 'guest' && e.change === 'status');
    expect(statusEvents.map((e) => (e.kind === 'guest' ? e.status : ''))).toEqual(['running', 'stopped']);
    expect(events.some((e) => e.kind === 'task' && e.change === 'finished' && e.exitstatus === 'OK')).toBe(true);
  });

  it('reboot and reset of a stopped VM fail at once: 500 VM 100 not running', async () => {
    const before = sim.tasks({ vmid: 100 }).length;
    for (const action of ['reboot', 'reset', 'suspend']) {
      const r = await c.post(`/nodes/pve1/qemu/100/status/${action}`);
      expect([r.status, r.statusText], action).toEqual([500, 'VM 100 not running']);
    }
    expect(sim.tasks({ vmid: 100 })).toHaveLength(before);
  });

  it('a VM that is not on the node: sync 500 for reset, a failing task for start', async () => {
    const reset = await c.post('/nodes/pve1/qemu/555/status/reset');
    expect(reset.statusText).toBe("unable to find configuration file for VM 555 on node 'pve1'");
    const start = await c.post('/nodes/pve1/qemu/555/status/start');
    expect(await waitForTask(c, 'pve1', start.body.data)).toMatchObject({
      exitstatus: "Configuration file 'nodes/pve1/qemu-server/555.conf' does not exist",
    });
  });

  it('a paused VM reads running/paused; shutdown refuses, forceStop stops it; resume unpauses', async () => {
    sim.setStatus(100, 'paused');
    expect((await c.get('/nodes/pve1/qemu/100/status/current')).body.data).toMatchObject({ status: 'running', qmpstatus: 'paused' });
    for (const action of ['shutdown', 'reboot']) {
      const r = await c.post(`/nodes/pve1/qemu/100/status/${action}`);
      expect([r.status, r.statusText]).toEqual([500, 'VM is paused - cannot shutdown']);
    }
    const resume = await c.post('/nodes/pve1/qemu/100/status/resume');
    expect(await waitForTask(c, 'pve1', resume.body.data)).toMatchObject({ type: 'qmresume', exitstatus: 'OK' });
    expect(sim.guest(100)?.qmpstatus).toBe('running');
    const pause = await c.post('/nodes/pve1/qemu/100/status/suspend');
    expectUpid(pause.body.data, 'pve1', 'qmpause', 100);
    await waitForTask(c, 'pve1', pause.body.data);
    expect(sim.guest(100)?.qmpstatus).toBe('paused');
    const force = await c.post('/nodes/pve1/qemu/100/status/shutdown', { forceStop: 1 });
    expect(await waitForTask(c, 'pve1', force.body.data)).toMatchObject({ exitstatus: 'OK' });
    expect(sim.guest(100)?.status).toBe('stopped');
  });

  it('a locked guest: the task fails with VM is locked (backup) / CT is locked (backup); tokens cannot skiplock', async () => {
    sim.setStatus(100, 'running');
    sim.lock(100, 'backup');
    sim.lock(101, 'backup');
    const vm = await c.post('/nodes/pve1/qemu/100/status/shutdown');
    expect(await waitForTask(c, 'pve1', vm.body.data)).toMatchObject({ exitstatus: 'VM is locked (backup)' });
    const ct = await c.post('/nodes/pve1/lxc/101/status/shutdown');
    expect(await waitForTask(c, 'pve1', ct.body.data)).toMatchObject({ exitstatus: 'CT is locked (backup)' });
    expect(sim.guest(100)?.status).toBe('running');
    const skip = await c.post('/nodes/pve1/qemu/100/status/stop', { skiplock: 1 });
    expect([skip.status, skip.body.errors]).toEqual([400, { skiplock: 'Only root may use this option.' }]);
    sim.lock(100, undefined);
    expect(sim.guest(100)).not.toHaveProperty('lock');
  });

  it('containers: start of a running CT and stop of a stopped CT fail at once; no reset', async () => {
    const start = await c.post('/nodes/pve1/lxc/101/status/start');
    expect([start.status, start.statusText, start.body]).toEqual([500, 'CT 101 already running', { data: null, message: 'CT 101 already running\n' }]);
    const reset = await c.post('/nodes/pve1/lxc/101/status/reset');
    expect([reset.status, reset.statusText]).toEqual([501, "Method 'POST /nodes/pve1/lxc/101/status/reset' not implemented"]);
    const stop = await c.post('/nodes/pve1/lxc/101/status/stop');
    expectUpid(stop.body.data, 'pve1', 'vzstop', 101);
    await waitForTask(c, 'pve1', stop.body.data);
    expect(sim.guest(101)?.status).toBe('stopped');
    for (const action of ['stop', 'shutdown', 'suspend']) {
      const r = await c.post(`/nodes/pve1/lxc/101/status/${action}`);
      expect([r.status, r.statusText], action).toEqual([500, 'CT 101 not running']);
    }
    // pve-container says "VM" here, really.
    expect((await c.post('/nodes/pve1/lxc/101/status/reboot')).statusText).toBe('VM 101 not running');
  });

  it('containers: suspend checkpoints and stops, resume restores; resume without checkpoint fails', async () => {
    const suspend = await c.post('/nodes/pve1/lxc/101/status/suspend');
    expect(await waitForTask(c, 'pve1', suspend.body.data)).toMatchObject({ type: 'vzsuspend', exitstatus: 'OK' });
    expect(sim.guest(101)?.status).toBe('stopped');
    const resume = await c.post('/nodes/pve1/lxc/101/status/resume');
    expect(await waitForTask(c, 'pve1', resume.body.data)).toMatchObject({ exitstatus: 'OK' });
    expect(sim.guest(101)?.status).toBe('running');
    expect((await c.post('/nodes/pve1/lxc/101/status/resume')).statusText).toBe('CT 101 already running');
    sim.setStatus(101, 'stopped');
    const cold = await c.post('/nodes/pve1/lxc/101/status/resume');
    expect((await waitForTask(c, 'pve1', cold.body.data)).exitstatus).toMatch(/^command 'lxc-checkpoint -n 101 -r/);
  });

  it('failNextTask: WARNINGS: n is a success with the state applied; an error text fails without it', async () => {
    sim.failNextTask({ vmid: 100, action: 'start' }, 'WARNINGS: 2');
    const warn = await c.post('/nodes/pve1/qemu/100/status/start');
    expect(await waitForTask(c, 'pve1', warn.body.data)).toMatchObject({ exitstatus: 'WARNINGS: 2' });
    expect(sim.guest(100)?.status).toBe('running');
    const log = (await c.get(`/nodes/pve1/tasks/${enc(warn.body.data)}/log`)).body.data.map((l: { t: string }) => l.t);
    expect(log).toEqual(['WARN: simulated warning 1 of 2', 'WARN: simulated warning 2 of 2', 'TASK WARNINGS: 2']);

    sim.failNextTask({ vmid: 100 }, 'VM quit/powerdown failed - got timeout');
    const fail = await c.post('/nodes/pve1/qemu/100/status/shutdown');
    expect(await waitForTask(c, 'pve1', fail.body.data)).toMatchObject({ exitstatus: 'VM quit/powerdown failed - got timeout' });
    expect(sim.guest(100)?.status).toBe('running');
    // Consumed: the next one works again.
    const again = await c.post('/nodes/pve1/qemu/100/status/shutdown');
    expect(await waitForTask(c, 'pve1', again.body.data)).toMatchObject({ exitstatus: 'OK' });
  });

  it('a guest that ignores ACPI: shutdown times out, forceStop terminates it with a warning', async () => {
    sim.addGuest({ vmid: 102, type: 'qemu', node: 'pve1', name: 'win', status: 'running', ignoresShutdown: true });
    const plain = await c.post('/nodes/pve1/qemu/102/status/shutdown');
    expect(await waitForTask(c, 'pve1', plain.body.data)).toMatchObject({ exitstatus: 'VM quit/powerdown failed - got timeout' });
    const forced = await c.post('/nodes/pve1/qemu/102/status/shutdown', { forceStop: 1 });
    expect(await waitForTask(c, 'pve1', forced.body.data)).toMatchObject({ exitstatus: 'WARNINGS: 1' });
    const log = (await c.get(`/nodes/pve1/tasks/${enc(forced.body.data)}/log`)).body.data.map((l: { t: string }) => l.t);
    expect(log).toContain('WARN: VM still running - terminating now with SIGTERM');
    expect(sim.guest(102)?.status).toBe('stopped');
  });

  it('tasks on one guest wait for its config lock; a stop behind a long shutdown times out on the lock', async () => {
    sim.setStatus(100, 'running');
    sim.setTaskDurations({ shutdown: 60_000 });
    const shutdown = (await c.post('/nodes/pve1/qemu/100/status/shutdown')).body.data;
    const stop = (await c.post('/nodes/pve1/qemu/100/status/stop')).body.data;
    expect(await waitForTask(c, 'pve1', stop)).toMatchObject({
      exitstatus: "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout",
    });
    // overrule-shutdown aborts the pending shutdown first, then stops the VM.
    const overrule = (await c.post('/nodes/pve1/qemu/100/status/stop', { 'overrule-shutdown': 1 })).body.data;
    expect(await waitForTask(c, 'pve1', overrule)).toMatchObject({ exitstatus: 'OK' });
    expect(sim.task(shutdown)).toMatchObject({ status: 'stopped', exitstatus: 'received interrupt' });
    expect(sim.task(overrule)!.log[0]).toBe(`overruled qmshutdown tasks: ${shutdown}`);
    expect(sim.guest(100)?.status).toBe('stopped');
  });

  it('HA-managed guests: hastart/hastop hand over to the HA stack, which runs its own task as root@pam', async () => {
    sim.addGuest({ vmid: 103, type: 'qemu', node: 'pve1', name: 'ha-vm', status: 'stopped', ha: true });
    const r = await c.post('/nodes/pve1/qemu/103/status/start');
    const upid = expectUpid(r.body.data, 'pve1', 'hastart', 103);
    expect(await waitForTask(c, 'pve1', upid)).toMatchObject({ exitstatus: 'OK' });
    expect(sim.task(upid)!.log).toEqual(['Requesting HA start for VM 103', 'TASK OK']);
    await waitFor(() => sim.guest(103)?.status === 'running');
    const lrm = sim.tasks({ vmid: 103 }).find((t) => t.type === 'qmstart')!;
    expect(lrm).toMatchObject({ user: 'root@pam', exitstatus: 'OK' });
    expect((await c.get('/cluster/resources', { type: 'vm' })).body.data.find((x: { vmid: number }) => x.vmid === 103)).toMatchObject({ hastate: 'started' });

    const overrule = await c.post('/nodes/pve1/qemu/103/status/stop', { 'overrule-shutdown': 1 });
    expect(overrule.body.errors).toEqual({ 'overrule-shutdown': 'Not applicable for HA resources.' });
    const stop = await c.post('/nodes/pve1/qemu/103/status/shutdown');
    expectUpid(stop.body.data, 'pve1', 'hastop', 103);
    await waitFor(() => sim.guest(103)?.status === 'stopped');
    expect(sim.guest(103)?.hastate).toBe('stopped');
  });

  it('suspend to disk needs VM.Config.Disk besides VM.PowerMgmt', async () => {
    sim.setStatus(100, 'running');
    sim.addToken({ id: 'ops@pve!power', secret: 'power-only-secret', privileges: ['VM.Audit', 'VM.PowerMgmt'] });
    const power = pveClient(sim, { token: 'ops@pve!power' });
    const r = await power.post('/nodes/pve1/qemu/100/status/suspend', { todisk: 1 });
    expect([r.status, r.statusText]).toEqual([403, 'Permission check failed (/vms/100, VM.Config.Disk)']);
    await power.close();
    sim.removeToken('ops@pve!power');
  });

  it('suspend to disk hibernates: the VM ends stopped, locked `suspended`, with its vmstate; resume starts it from there', async () => {
    sim.setStatus(100, 'running');
    const r = await c.post('/nodes/pve1/qemu/100/status/suspend', { todisk: 1 });
    expectUpid(r.body.data, 'pve1', 'qmsuspend', 100);
    await waitForTask(c, 'pve1', r.body.data);
    expect(sim.guest(100)).toMatchObject({ status: 'stopped', qmpstatus: 'stopped', lock: 'suspended' });
    expect((await c.get('/nodes/pve1/qemu/100/config')).body.data.vmstate).toMatch(/^local-lvm:vm-100-state-suspend-\d{4}-\d{2}-\d{2}$/);
    const resume = await c.post('/nodes/pve1/qemu/100/status/resume');
    expectUpid(resume.body.data, 'pve1', 'qmresume', 100);
    const done = await waitForTask(c, 'pve1', resume.body.data);
    expect(done.exitstatus).toBe('OK');
    expect(sim.guest(100)).toMatchObject({ status: 'running', qmpstatus: 'running' });
    expect(sim.guest(100)).not.toHaveProperty('lock');
    const log = (await c.get(`/nodes/pve1/tasks/${enc(resume.body.data)}/log`)).body.data.map((l: { t: string }) => l.t);
    expect(log).toContain('resuming VM 100 from suspended state');
  });
});
