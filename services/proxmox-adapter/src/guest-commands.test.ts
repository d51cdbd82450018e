import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext, CommandOutcome } from '@molten/bus';
import { CommandStatus, type Command, type Guest } from '@molten/contracts';
import { DEMO_TOKEN, decodeUpid, type PveSimulator } from '@molten/simulators/pve';
import { testLogger, waitFor } from '@molten/testkit';
import { startTestSimulator } from '../../../simulators/test/pve-client.js';
import type { GuestRef } from './driver.js';
import { PowerHandler } from './power-handler.js';
import { PveDriver } from './pve/pve-driver.js';

/**
 * Snapshot and pause/hibernate/resume commands run by the adapter's handler against the PVE
 * simulator, with the command context the worker gives it (what it records is captured here).
 */
const log = testLogger('guest-commands');
const FAST = { snapshot: 80, rollback: 80, delsnapshot: 60, suspend: 60, resume: 60, start: 60 };
let sim: PveSimulator;
let driver: PveDriver;
const published: Guest[] = [];
let handler: PowerHandler;

beforeAll(async () => {
  sim = await startTestSimulator({ taskDurations: FAST });
  driver = new PveDriver('homelab', { url: sim.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, tls: { caFile: sim.caFile } });
  handler = new PowerHandler({ driver, locate: locateIn(sim), publishGuest: async (g) => void published.push(g) });
});
afterAll(async () => {
  await driver?.close();
  await sim?.close();
});
afterEach(() => {
  sim.clearFaults();
  sim.setTaskDurations(FAST);
});

function locateIn(s: PveSimulator) {
  return async (vmid: number): Promise<GuestRef | undefined> => {
    const g = s.guest(vmid);
    return g && { vmid, node: g.node, type: g.type };
  };
}

type Payload = Command['payload'];
let seq = 0;
function ctx(action: string, payload: Payload, record: { upstreamTaskId?: string; upstreamCallAtMs?: number } = {}) {
  const calls: string[] = [];
  const id = `01TESTGUESTCMD${String(++seq).padStart(12, '0')}`;
  const command: Command = {
    id,
    correlationId: id,
    domain: 'proxmox',
    scope: 'homelab',
    action,
    createdAtMs: Date.now(),
    acceptByMs: Date.now() + 5_000,
    deadlineMs: Date.now() + 20_000,
    idempotencyKey: '', reason: '',
    payload,
  };
  const c: CommandContext = {
    command,
    record: {
      command,
      status: CommandStatus.COMMAND_STATUS_ACCEPTED,
      transitions: [],
      upstreamTaskId: record.upstreamTaskId ?? '',
      upstreamCallAtMs: record.upstreamCallAtMs ?? 0,
      resultJson: '',
      updatedAtMs: Date.now(),
    },
    signal: new AbortController().signal,
    log,
    beforeUpstreamCall: async () => void calls.push('beforeUpstreamCall'),
    running: async (taskId) => void calls.push(`running:${taskId}`),
    progress: async () => {},
  };
  return { c, calls };
}

const snapshot = (vmid: number, action: 'create' | 'rollback' | 'delete', name: string, o: { vmstate?: boolean; description?: string } = {}): Payload => ({
  $case: 'snapshot',
  value: { vmid, action, name, description: o.description ?? '', vmstate: o.vmstate ?? false, node: '', type: '' },
});
const suspendResume = (vmid: number, action: 'suspend' | 'resume', todisk = false): Payload => ({ $case: 'suspendResume', value: { vmid, action, todisk, node: '', type: '' } });

/** Runs a command; checks the one mutating call and the order: call, running (UPID), task end, publish, ack. */
async function run(action: string, payload: Payload, vmid: number) {
  const before = sim.countRequests({ vmid, method: 'POST' }) + sim.countRequests({ vmid, method: 'DELETE' });
  const publishedBefore = published.length;
  const { c, calls } = ctx(action, payload);
  const outcome = await handler.execute(c);
  const mutating = sim.countRequests({ vmid, method: 'POST' }) + sim.countRequests({ vmid, method: 'DELETE' }) - before;
  return { outcome, calls, mutating, published: published.slice(publishedBefore) };
}

function expectSucceeded(r: Awaited<ReturnType<typeof run>>, type: string, vmid: number) {
  expect(r.outcome.status, JSON.stringify(r.outcome)).toBe('succeeded');
  expect(r.mutating).toBe(1);
  expect(r.calls[0]).toBe('beforeUpstreamCall');
  const upid = r.calls[1]!.replace(/^running:/, '');
  expect(decodeUpid(upid)).toMatchObject({ type, id: String(vmid), user: DEMO_TOKEN.id });
  expect(r.outcome.upstreamTaskId).toBe(upid);
  // Acknowledged only after the task ended, with the guest re-read and published first.
  expect(sim.task(upid)).toMatchObject({ status: 'stopped', exitstatus: 'OK' });
  expect(r.published.map((g) => g.vmid)).toEqual([vmid]);
  return { upid, guest: r.published[0]!, result: JSON.parse(r.outcome.resultJson ?? '{}') };
}

describe('snapshot commands', () => {
  it('create with RAM, then rollback (the VM runs again), then delete: one call each, acked after the task', async () => {
    const create = await run('snapshot-create', snapshot(202, 'create', 'before-drain', { vmstate: true, description: 'drain test' }), 202);
    const c = expectSucceeded(create, 'qmsnapshot', 202);
    expect(c.guest).toMatchObject({ vmid: 202, status: 'running' });
    expect(c.guest.lock).toBeUndefined();
    expect(c.result).toMatchObject({ vmid: 202, snapshot: 'before-drain', exitstatus: 'OK' });
    expect(create.outcome.message).toBe("snapshot 'before-drain' (with RAM) of VM 202 on pve2: done");
    expect(sim.snapshots(202)).toEqual({ parent: 'before-drain', list: [expect.objectContaining({ name: 'before-drain', vmstate: true, description: 'drain test' })] });

    const rollback = await run('snapshot-rollback', snapshot(202, 'rollback', 'before-drain'), 202);
    expect(expectSucceeded(rollback, 'qmrollback', 202).guest).toMatchObject({ status: 'running', qmpstatus: 'running' });

    const del = await run('snapshot-delete', snapshot(202, 'delete', 'before-drain'), 202);
    expectSucceeded(del, 'qmdelsnapshot', 202);
    expect(sim.countRequests({ method: 'DELETE', vmid: 202 })).toBe(1);
    expect(sim.snapshots(202).list).toEqual([]);
  });

  it('a container: vzsnapshot; rollback without RAM leaves it stopped', async () => {
    expectSucceeded(await run('snapshot-create', snapshot(204, 'create', 'pre'), 204), 'vzsnapshot', 204);
    const back = await run('snapshot-rollback', snapshot(204, 'rollback', 'pre'), 204);
    expect(expectSucceeded(back, 'vzrollback', 204).guest.status).toBe('stopped');
    sim.setStatus(204, 'running');
  });

  it('failures from the task come back classified: locked, not found, name used', async () => {
    const locked = await run('snapshot-create', snapshot(102, 'create', 'x1'), 102);
    expect(locked.outcome).toMatchObject({ status: 'failed', error: { code: 'locked', message: 'VM is locked (backup)' } });
    expect(locked.outcome.upstreamTaskId).toMatch(/:qmsnapshot:102:/);
    const missing = await run('snapshot-rollback', snapshot(304, 'rollback', 'nope'), 304);
    expect(missing.outcome).toMatchObject({ status: 'failed', error: { code: 'not_found', message: "snapshot 'nope' does not exist" } });
    const used = await run('snapshot-create', snapshot(304, 'create', 'world-v1'), 304);
    expect(used.outcome).toMatchObject({ status: 'failed', error: { message: "snapshot name 'world-v1' already used" } });
    expect([locked.mutating, missing.mutating, used.mutating]).toEqual([1, 1, 1]);
  });

  it('refused before any call: a name Proxmox would refuse, RAM for a container, a template, a token/payload mismatch', async () => {
    const cases: [string, Payload, number, string][] = [
      ['snapshot-create', snapshot(304, 'create', '1st'), 304, 'invalid'],
      ['snapshot-create', snapshot(304, 'create', 'current'), 304, 'invalid'],
      ['snapshot-create', snapshot(100, 'create', 'ram', { vmstate: true }), 100, 'invalid'],
      ['snapshot-create', snapshot(9000, 'create', 'tpl'), 9000, 'conflict'],
      ['snapshot-delete', snapshot(304, 'create', 'x2'), 304, 'invalid'],
    ];
    for (const [action, payload, vmid, code] of cases) {
      const r = await run(action, payload, vmid);
      expect(r.outcome, `${action} ${JSON.stringify(payload)}`).toMatchObject({ status: 'failed', error: { code } });
      expect(r.mutating).toBe(0);
      expect(r.calls).toEqual([]);
    }
  });

  it('403 without VM.Snapshot: failed naming the privilege, and the capability marked for the pre-flight', async () => {
    const token = { id: 'molten@pve!nosnap', secret: 'a1b2c3d4-0000-4000-8000-000000000003' };
    sim.addToken({ ...token, privileges: ['VM.Audit', 'VM.PowerMgmt', 'Sys.Audit'] });
    const limited = new PveDriver('homelab', { url: sim.url, token: `${token.id}=${token.secret}`, tls: { caFile: sim.caFile } });
    const h = new PowerHandler({ driver: limited, locate: locateIn(sim), publishGuest: async () => {} });
    try {
      const { c } = ctx('snapshot-create', snapshot(304, 'create', 'x3'));
      const out = await h.execute(c);
      expect(out).toMatchObject({ status: 'failed', error: { code: 'forbidden', privilege: 'VM.Snapshot', upstreamStatus: '403', remedy: expect.stringContaining('taking and deleting snapshots') } });
      const caps = Object.fromEntries(limited.capabilities().map((x) => [x.action, x]));
      expect(caps['snapshot-create']).toMatchObject({ available: false, reason: 'the API token lacks VM.Snapshot' });
      expect(caps['snapshot-delete']).toMatchObject({ available: false });
      expect(caps['vm-stop']).toMatchObject({ available: true });
      // Marked, but still tried next time: the privilege may have been granted meanwhile.
      sim.addToken({ ...token, privileges: ['VM.Audit', 'VM.PowerMgmt', 'Sys.Audit', 'VM.Snapshot'] });
      expect((await h.execute(ctx('snapshot-create', snapshot(304, 'create', 'x3')).c)).status).toBe('succeeded');
      expect(limited.capabilities().find((x) => x.action === 'snapshot-create')).toMatchObject({ available: true });
    } finally {
      await limited.close();
    }
  });
});

describe('capabilities learnt from a 403', () => {
  it('a 403 naming VM.PowerMgmt marks every power action; a later success of one clears them all', async () => {
    const token = { id: 'molten@pve!nopower', secret: 'a1b2c3d4-0000-4000-8000-000000000004' };
    sim.addToken({ ...token, privileges: ['VM.Audit', 'Sys.Audit'] });
    const limited = new PveDriver('homelab', { url: sim.url, token: `${token.id}=${token.secret}`, tls: { caFile: sim.caFile } });
    const h = new PowerHandler({ driver: limited, locate: locateIn(sim), publishGuest: async () => {} });
    const available = () => Object.fromEntries(limited.capabilities().map((x) => [x.action, x.available]));
    const vmid = sim.guests().find((g) => g.type === 'qemu' && g.status === 'running' && !g.lock && !g.hastate && !g.template)!.vmid;
    try {
      expect((await h.execute(ctx('vm-suspend', suspendResume(vmid, 'suspend')).c)).status).toBe('failed');
      expect(available()).toMatchObject({ 'vm-start': false, 'vm-stop': false, 'vm-suspend': false, 'vm-resume': false, 'snapshot-create': true });
      sim.addToken({ ...token, privileges: ['VM.Audit', 'Sys.Audit', 'VM.PowerMgmt'] });
      expect((await h.execute(ctx('vm-suspend', suspendResume(vmid, 'suspend')).c)).status).toBe('succeeded');
      expect(available()).toMatchObject({ 'vm-start': true, 'vm-stop': true, 'vm-suspend': true, 'vm-resume': true });
      expect((await h.execute(ctx('vm-resume', suspendResume(vmid, 'resume')).c)).status).toBe('succeeded');
    } finally {
      await limited.close();
    }
  });
});

describe('the task id is recorded while the task is followed', () => {
  it("reads the task's status without waiting for the record write; publishes the guest and ends only once it landed", async () => {
    const vm = sim.guests().find((g) => g.type === 'qemu' && g.status === 'stopped' && !g.lock && !g.hastate && !g.template)!;
    const order: string[] = [];
    let recorded!: () => void;
    const h = new PowerHandler({ driver, locate: locateIn(sim), publishGuest: async (g) => void order.push(`published:${g.status}`) });
    const { c } = ctx('vm-start', { $case: 'power', value: { vmid: vm.vmid, action: 'start', node: '', type: '' } });
    c.running = (taskId) => {
      order.push('recording');
      return new Promise<void>((resolve) => (recorded = () => (order.push(`recorded:${taskId.split(':')[5]}`), resolve())));
    };
    const reads = () => sim.countRequests({ path: /\/status\/current$/, vmid: vm.vmid });
    const readsBefore = reads();
    const outcome = h.execute(c);
    // The record write hangs; meanwhile the task is followed to its end and the guest re-read.
    await waitFor(() => reads() > readsBefore, { message: 'the guest was re-read while the task id was being recorded' });
    expect(order).toEqual(['recording']);
    recorded();
    const out = await outcome;
    await out.published;
    expect(out.status).toBe('succeeded');
    expect(order).toEqual(['recording', 'recorded:qmstart', 'published:running']);
  });
});

describe('suspend and resume', () => {
  it('pause a running VM, resume it: qmpause then qmresume', async () => {
    const pause = await run('vm-suspend', suspendResume(200, 'suspend'), 200);
    expect(expectSucceeded(pause, 'qmpause', 200).guest).toMatchObject({ status: 'running', qmpstatus: 'paused' });
    expect(pause.outcome.message).toBe('pause of VM 200 on pve2: done');
    const resume = await run('vm-resume', suspendResume(200, 'resume'), 200);
    expect(expectSucceeded(resume, 'qmresume', 200).guest).toMatchObject({ status: 'running', qmpstatus: 'running' });
  });

  it('hibernate: the VM ends stopped, locked suspended; resume starts it from its saved state', async () => {
    const sleep = await run('vm-suspend', suspendResume(110, 'suspend', true), 110);
    expect(expectSucceeded(sleep, 'qmsuspend', 110).guest).toMatchObject({ status: 'stopped', lock: 'suspended' });
    const wake = await run('vm-resume', suspendResume(110, 'resume'), 110);
    const w = expectSucceeded(wake, 'qmresume', 110);
    expect(w.guest).toMatchObject({ status: 'running', qmpstatus: 'running' });
    expect(w.guest.lock).toBeUndefined();
  });

  it('the paused demo VM resumes', async () => {
    expect(sim.guest(303)).toMatchObject({ qmpstatus: 'paused' });
    expectSucceeded(await run('vm-resume', suspendResume(303, 'resume'), 303), 'qmresume', 303);
  });

  it('state rules refuse before any call: suspend a stopped or paused VM, resume a running one, containers, hibernating an HA VM', async () => {
    sim.setStatus(200, 'paused');
    const cases: [string, Payload, number, string, RegExp][] = [
      ['vm-suspend', suspendResume(304, 'suspend'), 304, 'conflict', /is stopped: only a running VM can be paused/],
      ['vm-suspend', suspendResume(200, 'suspend'), 200, 'conflict', /is paused already/],
      ['vm-resume', suspendResume(202, 'resume'), 202, 'conflict', /is running, not paused or hibernated/],
      ['vm-resume', suspendResume(304, 'resume'), 304, 'conflict', /is stopped, not paused or hibernated/],
      ['vm-suspend', suspendResume(100, 'suspend'), 100, 'unsupported', /is a container/],
      ['vm-suspend', suspendResume(101, 'suspend', true), 101, 'conflict', /managed by HA.*Cannot suspend HA managed VM to disk/],
      ['vm-resume', suspendResume(202, 'suspend'), 202, 'invalid', /needs a suspendResume payload with action "resume"/],
    ];
    for (const [action, payload, vmid, code, message] of cases) {
      const r = await run(action, payload, vmid);
      expect(r.outcome, `${action} ${vmid}`).toMatchObject({ status: 'failed', error: { code } });
      expect(r.outcome.message).toMatch(message);
      expect(r.mutating).toBe(0);
    }
    sim.setStatus(200, 'running');
  });

  it('an HA-managed VM is paused directly, as Proxmox does', async () => {
    expectSucceeded(await run('vm-suspend', suspendResume(101, 'suspend'), 101), 'qmpause', 101);
    expectSucceeded(await run('vm-resume', suspendResume(101, 'resume'), 101), 'qmresume', 101);
  });
});

describe('redelivery never sends twice', () => {
  it('a lost answer: uncertain; the redelivered command finds the task on the node and follows it', async () => {
    sim.dropNextRequest({ method: 'POST', vmid: 301, action: 'snapshot' }, { afterProcessing: true });
    const callAt = Date.now();
    const { c } = ctx('snapshot-create', snapshot(301, 'create', 'lost'));
    const first = await handler.execute(c);
    expect(first.status).toBe('uncertain');
    const { c: again, calls } = ctx('snapshot-create', snapshot(301, 'create', 'lost'), { upstreamCallAtMs: callAt });
    const second = await handler.resume(again);
    expect(second.status).toBe('succeeded');
    expect(calls).toEqual([expect.stringMatching(/^running:UPID:pve3:.*:vzsnapshot:301:/)]);
    expect(sim.countRequests({ method: 'POST', vmid: 301 })).toBe(1);
  });

  it('a recorded task is followed, not posted again', async () => {
    const r = await run('vm-suspend', suspendResume(202, 'suspend'), 202);
    const { upid } = expectSucceeded(r, 'qmpause', 202);
    const { c, calls } = ctx('vm-suspend', suspendResume(202, 'suspend'), { upstreamTaskId: upid, upstreamCallAtMs: Date.now() });
    const out: CommandOutcome = await handler.resume(c);
    expect(out).toMatchObject({ status: 'succeeded', upstreamTaskId: upid });
    expect(calls).toEqual([]);
    expect(sim.countRequests({ method: 'POST', vmid: 202, action: 'suspend' })).toBe(1);
    await run('vm-resume', suspendResume(202, 'resume'), 202);
  });

  it('no task and the guest shows it happened: reconciled from state', async () => {
    sim.setStatus(305, 'running');
    const created = await run('snapshot-create', snapshot(305, 'create', 'seen'), 305);
    expect(created.outcome.status).toBe('succeeded');
    // As if the call's answer was lost and its task had already left the list.
    const { c } = ctx('snapshot-create', snapshot(305, 'create', 'seen'), { upstreamCallAtMs: Date.now() + 60_000 });
    const out = await handler.resume(c);
    expect(out).toMatchObject({ status: 'succeeded', message: expect.stringContaining('reconciled') });
  });
});
