import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@molten/testkit';
import { startStack, VIEWER, type Stack } from './stack.js';

/**
 * The guest page with a Proxmox token that lacks privileges, for real (the simulator checks its
 * ACL as pveproxy does; no injected answers): nats-server, the api, the proxmox-adapter and the
 * PVE simulator. A missing privilege degrades what needs it, naming it with the pveum line, and
 * the rest of the page answers.
 */
const LIMITED = { id: 'molten@pve!readonly', secret: '0b6a3c1e-7d5f-4e2a-9c8b-1a2b3c4d5e6f' };

describe('a guest page with a token short of privileges', () => {
  let stack: Stack;
  /** A running VM whose guest agent answers (the simulator's view), so only the privilege is missing. */
  let vmid: number;

  beforeAll(async () => {
    stack = await startStack({
      sim: { tokens: [{ ...LIMITED, privileges: ['VM.Audit', 'Sys.Audit', 'Datastore.Audit', 'VM.PowerMgmt'] }] },
      env: { PVE_TOKEN: `${LIMITED.id}=${LIMITED.secret}` },
    });
    await waitFor(async () => {
      const r = (await stack.json('/api/vms')).body;
      return r.data?.length === stack.sim.guests().length && r.meta.stale === false;
    }, { message: 'all guests listed, live', timeoutMs: 20_000 });
    const candidates = stack.sim.guests().filter((g) => g.type === 'qemu' && g.status === 'running' && !g.lock && !g.template && !g.hastate);
    for (const g of candidates) {
      if ((await stack.json(`/api/vms/${g.vmid}/config`)).body.data?.agentEnabled) {
        vmid = g.vmid;
        break;
      }
    }
    expect(vmid, 'a running VM with the guest agent enabled').toBeDefined();
    stack.sim.setAgentRunning(vmid, true);
  });
  afterAll(() => stack?.stop());

  it('without VM.GuestAgent.Audit: addresses are a 403 naming it and the pveum line; history, config, snapshots and tasks answer', async () => {
    const before = stack.sim.countRequests({ path: /agent\/network-get-interfaces/, vmid });
    const r = await stack.json(`/api/vms/${vmid}/addresses`, { token: VIEWER });
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('VM.GuestAgent.Audit'),
      details: { reason: 'forbidden', privilege: 'VM.GuestAgent.Audit', upstreamStatus: '403', remedy: expect.stringContaining('pveum role modify MoltenOperator -append 1 -privs VM.GuestAgent.Audit') },
    });
    // Proxmox itself refused it (no injected fault): the simulator answered the adapter's one read with 403.
    const reads = stack.sim.requests.filter((q) => /agent\/network-get-interfaces/.test(q.path) && q.vmid === vmid).slice(before);
    expect(reads.map((q) => q.status)).toEqual([403]);
    for (const panel of ['rrd?timeframe=hour', 'config', 'snapshots', 'tasks']) {
      const ok = await stack.json(`/api/vms/${vmid}/${panel}`, { token: VIEWER });
      expect(ok.status, panel).toBe(200);
    }
  });

  it('without VM.Snapshot: a snapshot command is asked once and fails naming the privilege, with the remedy', async () => {
    const posts = () => stack.sim.countRequests({ method: 'POST', vmid, action: 'snapshot' });
    const before = posts();
    const r = await stack.json(`/api/vms/${vmid}/snapshots`, { method: 'POST', body: JSON.stringify({ name: 'before-upgrade' }) });
    expect(r.status).toBe(202);
    const done = await stack.waitCommand(r.body.data.id, ['failed', 'succeeded'], 30_000);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'forbidden', privilege: 'VM.Snapshot', upstreamStatus: '403', remedy: expect.stringContaining('pveum') } });
    expect(posts() - before).toBe(1);
    expect(stack.sim.snapshots(vmid).list.map((s) => s.name)).not.toContain('before-upgrade');
  });
});

describe('a guest page with a token without Sys.Audit on one node', () => {
  const NO_AUDIT = { id: 'molten@pve!vmsonly', secret: '0b6a3c1e-7d5f-4e2a-9c8b-1a2b3c4d5e70' };
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      sim: { tokens: [{ ...NO_AUDIT, privileges: { '/': ['VM.Audit', 'Datastore.Audit', 'Sys.Audit'], '/nodes/pve3': ['VM.Audit'] } }] },
      env: { PVE_TOKEN: `${NO_AUDIT.id}=${NO_AUDIT.secret}` },
    });
    await waitFor(async () => (await stack.json('/api/vms')).body.data?.length === stack.sim.guests().length, { message: 'all guests listed', timeoutMs: 20_000 });
  });
  afterAll(() => stack?.stop());

  it("a guest's task list holds only Molten's own tasks, and another user's task log is a 403 naming Sys.Audit", async () => {
    // Sys.Audit everywhere but on pve3 (an ACL on /nodes/pve3 without it: the deepest entry wins).
    // The simulator's history has other users' tasks on pve3; this token sees none of them.
    const someone = stack.sim.tasks({ node: 'pve3' }).find((t) => stack.sim.guest(Number(t.id)) && !t.user.startsWith('molten@pve'))!;
    expect(someone).toBeDefined();
    const list = await stack.json(`/api/vms/${someone.id}/tasks`, { token: VIEWER });
    expect(list.status).toBe(200);
    expect(list.body.data.tasks.filter((t: { user: string }) => !t.user.startsWith('molten@pve'))).toEqual([]);
    const log = await stack.json(`/api/tasks/${encodeURIComponent(someone.upid)}/log`, { token: VIEWER });
    expect(log.status).toBe(403);
    expect(log.body.error).toMatchObject({ code: 'forbidden', details: { privilege: 'Sys.Audit', remedy: expect.stringContaining('pveum') } });
  });
});
