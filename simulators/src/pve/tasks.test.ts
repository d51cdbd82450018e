import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeUpid, type PveSimulator } from './index.js';
import { enc, pveClient, startTestSimulator, waitForTask, type Client } from '../../test/pve-client.js';

type TaskRow = { upid: string; type: string; id: string; status: string; user: string; tokenid?: string; endtime?: number; starttime: number };

describe('task list, status and log', () => {
  let sim: PveSimulator;
  let c: Client;
  const upids: Record<string, string> = {};
  let running: string;

  beforeAll(async () => {
    sim = await startTestSimulator({ preset: 'empty' });
    c = pveClient(sim);
    sim.addGuest({ vmid: 100, type: 'qemu', node: 'pve1', status: 'stopped' });
    sim.addGuest({ vmid: 101, type: 'lxc', node: 'pve1', status: 'running' });
    sim.addGuest({ vmid: 102, type: 'qemu', node: 'pve1', status: 'stopped' });
    sim.addGuest({ vmid: 103, type: 'qemu', node: 'pve1', status: 'stopped' });
    sim.addGuest({ vmid: 200, type: 'qemu', node: 'pve2', status: 'stopped' });
    const run = async (name: string, path: string) => {
      upids[name] = (await c.post(path)).body.data;
      await waitForTask(c, path.split('/')[2]!, upids[name]!);
    };
    await run('start100', '/nodes/pve1/qemu/100/status/start');
    await run('again100', '/nodes/pve1/qemu/100/status/start'); // fails: already running
    await run('shutdown101', '/nodes/pve1/lxc/101/status/shutdown');
    sim.failNextTask({ vmid: 102, action: 'start' }, 'WARNINGS: 1');
    await run('start102', '/nodes/pve1/qemu/102/status/start');
    await run('start200', '/nodes/pve2/qemu/200/status/start');
    sim.failNextTask({ vmid: 103, action: 'start' }, 'OK', { durationMs: 60_000 });
    running = (await c.post('/nodes/pve1/qemu/103/status/start')).body.data;
  });
  afterAll(async () => {
    await c?.close();
    await sim?.close();
  });

  const list = async (query: Record<string, string | number> = {}) => {
    const r = await c.get('/nodes/pve1/tasks', query);
    expect(r.status).toBe(200);
    return r.body as { data: TaskRow[]; total?: number };
  };

  it('by default lists finished tasks of the node, newest first, with endtime and exit status', async () => {
    const { data, total } = await list();
    expect(data.map((t) => t.upid)).toEqual([upids.start102, upids.shutdown101, upids.again100, upids.start100]);
    expect(total).toBe(4);
    expect(data[0]).toMatchObject({ type: 'qmstart', id: '102', status: 'WARNINGS: 1', user: 'root@pam', tokenid: 'molten', node: 'pve1' });
    expect(data[0]!.endtime).toBeGreaterThanOrEqual(data[0]!.starttime);
    expect(data[2]).toMatchObject({ status: 'VM 100 already running' });
  });

  it('running tasks only with source=active or all, marked RUNNING', async () => {
    const active = await list({ source: 'active' });
    expect(active.data.map((t) => t.upid)).toEqual([running]);
    expect(active.data[0]).toMatchObject({ status: 'RUNNING' });
    expect(active.data[0]).not.toHaveProperty('endtime');
    const all = await list({ source: 'all' });
    expect(all.data.map((t) => t.upid)).toEqual([running, upids.start102, upids.shutdown101, upids.again100, upids.start100]);
  });

  it('filters by vmid, type, status, errors and user', async () => {
    expect((await list({ vmid: 100 })).data.map((t) => t.upid)).toEqual([upids.again100, upids.start100]);
    expect((await list({ typefilter: 'vzshutdown' })).data.map((t) => t.upid)).toEqual([upids.shutdown101]);
    expect((await list({ statusfilter: 'error' })).data.map((t) => t.upid)).toEqual([upids.again100]);
    expect((await list({ statusfilter: 'ok,warning' })).data.map((t) => t.upid)).toEqual([upids.start102, upids.shutdown101, upids.start100]);
    expect((await list({ errors: 1 })).data.map((t) => t.upid)).toEqual([upids.start102, upids.again100]);
    expect((await list({ userfilter: 'nobody' })).data).toEqual([]);
    expect((await list({ userfilter: 'molten' })).data).toHaveLength(4);
    // A running task has no status yet: it counts as "unknown".
    expect((await list({ source: 'all', statusfilter: 'unknown' })).data.map((t) => t.upid)).toEqual([running]);
    const bad = await c.get('/nodes/pve1/tasks', { statusfilter: 'running' });
    expect(bad.body.errors).toEqual({ statusfilter: "invalid format - invalid status 'running'\n" });
  });

  it('filters by start time and pages with start/limit; total counts all matches', async () => {
    const t0 = sim.task(upids.start100!)!.starttime;
    expect((await list({ since: t0 + 3600 })).data).toEqual([]);
    expect((await list({ until: t0 - 3600 })).data).toEqual([]);
    expect((await list({ since: t0 - 1, until: t0 + 3600 })).data).toHaveLength(4);
    const page = await list({ start: 1, limit: 2 });
    expect(page.data.map((t) => t.upid)).toEqual([upids.shutdown101, upids.again100]);
    expect(page.total).toBe(4);
  });

  it('each node has its own tasks', async () => {
    const r = await c.get('/nodes/pve2/tasks');
    expect(r.body.data.map((t: TaskRow) => t.upid)).toEqual([upids.start200]);
    // Another node does not know the task: 400 no such task; garbage: unable to parse.
    const elsewhere = await c.get(`/nodes/pve1/tasks/${enc(upids.start200!)}/status`);
    expect([elsewhere.status, elsewhere.body.errors]).toEqual([400, { upid: 'no such task' }]);
    const garbage = await c.get('/nodes/pve1/tasks/not-a-upid/status');
    expect(garbage.body.errors).toEqual({ upid: 'unable to parse worker upid' });
  });

  it('logs page with start/limit, say "no content" while empty, and cannot open unknown tasks', async () => {
    const log = await c.get(`/nodes/pve1/tasks/${enc(upids.start102!)}/log`, { start: 1, limit: 1 });
    expect(log.body).toEqual({ data: [{ n: 2, t: 'TASK WARNINGS: 1' }], total: 2 });
    const empty = await c.get(`/nodes/pve1/tasks/${enc(running)}/log`);
    expect(empty.body).toEqual({ data: [{ n: 1, t: 'no content' }], total: 1 });
    const ghost = encodeUpid({ node: 'pve1', pid: 1, pstart: 1, starttime: 1, type: 'qmstart', id: '100', user: 'root@pam!molten' });
    expect((await c.get(`/nodes/pve1/tasks/${enc(ghost)}/log`)).body.data).toEqual([{ n: 1, t: 'unable to open file - No such file or directory' }]);
  });

  it('DELETE on a finished task changes nothing; on an unknown one it is a 400', async () => {
    expect((await c.del(`/nodes/pve1/tasks/${enc(upids.start100!)}`)).body).toEqual({ data: null });
    expect(sim.task(upids.start100!)?.exitstatus).toBe('OK');
    const ghost = encodeUpid({ node: 'pve1', pid: 1, pstart: 1, starttime: 1, type: 'qmstart', id: '100', user: 'root@pam!molten' });
    expect((await c.del(`/nodes/pve1/tasks/${enc(ghost)}`)).body.errors).toEqual({ upid: 'no such task' });
  });
});
