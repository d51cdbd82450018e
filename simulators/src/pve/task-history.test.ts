import { waitFor } from '@molten/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPID_PATTERN, decodeUpid, type PveSimulator } from './index.js';
import { enc, pveClient, startTestSimulator, type Client } from '../../test/pve-client.js';

type Row = Record<string, any>;

/** A guest's tasks from the seeded history, and who may see them (task-history.ts). */
describe('tasks of a guest, whoever started them', () => {
  let sim: PveSimulator;
  let c: Client;
  beforeAll(async () => {
    sim = await startTestSimulator();
    c = pveClient(sim);
  });
  afterAll(async () => {
    await c?.close();
    await sim?.close();
  });

  it('the seeded history: nightly backups with vzdump logs, and another user\'s pause', async () => {
    const rows = (await c.get('/nodes/pve3/tasks', { vmid: 303, limit: 50 })).body.data as Row[];
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.every((r) => r.id === '303' && UPID_PATTERN.test(r.upid))).toBe(true);
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1]!.starttime).toBeGreaterThanOrEqual(rows[i]!.starttime);
    const pause = rows.find((r) => r.type === 'qmpause')!;
    expect(pause).toMatchObject({ user: 'alice@pve', status: 'OK' });
    const backup = rows.find((r) => r.type === 'vzdump')!;
    const log = (await c.get(`/nodes/pve3/tasks/${enc(backup.upid)}/log`, { start: 0, limit: 3 })).body;
    expect(log.data).toEqual([
      { n: 1, t: expect.stringMatching(/^INFO: starting new backup job: vzdump 303 /) },
      { n: 2, t: 'INFO: Starting Backup of VM 303 (qemu)' },
      { n: 3, t: expect.stringMatching(/^INFO: Backup started at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/) },
    ]);
    expect(log.total).toBeGreaterThan(10);
    const tail = (await c.get(`/nodes/pve3/tasks/${enc(backup.upid)}/log`, { start: log.total - 1, limit: 5 })).body.data;
    expect(tail).toEqual([{ n: log.total, t: backup.status === 'OK' ? 'TASK OK' : `TASK ${backup.status}` }]);
  });

  it('a token without Sys.Audit lists only its own tasks and may not read others\' logs', async () => {
    sim.addToken({ id: 'ops@pve!mine', secret: 's-mine', privileges: { '/vms': ['VM.Audit', 'VM.PowerMgmt'] } });
    const mine = pveClient(sim, { token: 'ops@pve!mine' });
    expect((await mine.get('/nodes/pve3/tasks', { vmid: 303 })).body.data).toEqual([]);
    const others = (await c.get('/nodes/pve3/tasks', { vmid: 303 })).body.data as Row[];
    const log = await mine.get(`/nodes/pve3/tasks/${enc(others[0]!.upid)}/log`);
    expect([log.status, log.statusText]).toEqual([403, 'Permission check failed (/nodes/pve3, Sys.Audit)']);
    const own = await mine.post('/nodes/pve3/lxc/305/status/reboot');
    await waitFor(async () => (await mine.get('/nodes/pve3/tasks', { vmid: 305 })).body.data.length === 1);
    expect(decodeUpid(own.body.data)).toMatchObject({ type: 'vzreboot', user: 'ops@pve!mine' });
    await mine.close();
  });
});
