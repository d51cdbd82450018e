import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PveSimulator } from './index.js';
import { pveClient, startTestSimulator, waitForTask, type Client } from '../../test/pve-client.js';

type Row = Record<string, any>;

/** GET /cluster/ha/status/current (ha-status.ts). */
describe('HA status', () => {
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

  it('HA status: quorum, master, one line per LRM and per resource; an HA stop shows while it is requested', async () => {
    const rows = (await c.get('/cluster/ha/status/current')).body.data as Row[];
    expect(rows[0]).toEqual({ id: 'quorum', type: 'quorum', node: 'pve1', status: 'OK', quorate: 1 });
    expect(rows.find((r) => r.type === 'master')).toMatchObject({ node: 'pve1', status: expect.stringMatching(/^pve1 \(active, \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\)$/) });
    expect(rows.filter((r) => r.type === 'lrm').map((r) => r.id)).toEqual(['lrm:pve1', 'lrm:pve2', 'lrm:pve3']);
    expect(rows.find((r) => r.id === 'service:vm:101')).toEqual({
      id: 'service:vm:101', type: 'service', sid: 'vm:101', node: 'pve1', crm_state: 'started', state: 'started',
      status: 'vm:101 (pve1, started)', request_state: 'started', max_restart: 1, max_relocate: 1, failback: 1,
    });
    expect(rows.some((r) => r.type === 'fencing')).toBe(false); // PVE 9.0

    sim.setTaskDurations({ haManager: 60_000 });
    const stop = await c.post('/nodes/pve1/qemu/101/status/shutdown');
    await waitForTask(c, 'pve1', stop.body.data);
    const during = (await c.get('/cluster/ha/status/current')).body.data as Row[];
    expect(during.find((r) => r.id === 'service:vm:101')).toMatchObject({ crm_state: 'request_stop', request_state: 'stopped', state: 'request_stop' });
    sim.setTaskDurations({ haManager: 40 });
  });

  it('HA status needs Sys.Audit on /; PVE 9.2 adds the fencing entry', async () => {
    sim.addToken({ id: 'audit@pve!vm', secret: 's-vm', privileges: { '/vms': ['VM.Audit'] } });
    const v = pveClient(sim, { token: 'audit@pve!vm' });
    const r = await v.get('/cluster/ha/status/current');
    expect([r.status, r.statusText]).toEqual([403, 'Permission check failed (/, Sys.Audit)']);
    await v.close();
    const newer = await startTestSimulator({ version: '9.2.11' });
    const nc = pveClient(newer);
    const rows = (await nc.get('/cluster/ha/status/current')).body.data as Row[];
    expect(rows.find((x) => x.type === 'fencing')).toEqual({ id: 'fencing', type: 'fencing', node: 'pve1', status: 'armed (CRM watchdog active)', 'armed-state': 'armed' });
    expect(rows.find((x) => x.id === 'lrm:pve1')!.status).toMatch(/^pve1 \(active, watchdog active, /);
    await nc.close();
    await newer.close();
  });
});
