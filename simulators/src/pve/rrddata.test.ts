import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PveSimulator } from './index.js';
import { pveClient, startTestSimulator, type Client } from '../../test/pve-client.js';

type Row = Record<string, any>;
const usage = ['cpu', 'mem', 'netin', 'netout', 'diskread', 'diskwrite'];

/** GET …/rrddata: Proxmox's steps per release, gaps, cf, privileges (rrddata.ts). */
describe('rrddata at Proxmox steps', () => {
  let pve9: PveSimulator;
  let pve8: PveSimulator;
  let c9: Client;
  let c8: Client;
  beforeAll(async () => {
    pve9 = await startTestSimulator();
    pve8 = await startTestSimulator({ version: '8.4.1' });
    c9 = pveClient(pve9);
    c8 = pveClient(pve8);
  });
  afterAll(async () => {
    await c9?.close();
    await c8?.close();
    await pve9?.close();
    await pve8?.close();
  });

  /** Points are evenly spaced by `step`, aligned to it, and end at the last whole step. */
  function expectSteps(points: Row[], step: number, count: number) {
    expect(points.length === count || points.length === count - 1).toBe(true);
    for (let i = 1; i < points.length; i++) expect(points[i]!.time - points[i - 1]!.time).toBe(step);
    expect(points[0]!.time % step).toBe(0);
    expect(points.at(-1)!.time).toBeLessThanOrEqual(Date.now() / 1000);
  }

  it.each([
    ['hour', 60, 60],
    ['day', 60, 1440],
    ['week', 1800, 336],
    ['month', 1800, 1440],
    ['year', 21_600, 1440],
  ])('PVE 9 %s: one point every %i s, %i points', async (timeframe, step, count) => {
    const r = await c9.get('/nodes/pve1/qemu/101/rrddata', { timeframe });
    expect(r.status).toBe(200);
    expectSteps(r.body.data, step, count);
  });

  it.each([
    ['hour', 60, 70],
    ['day', 1800, 70],
    ['week', 10_800, 70],
    ['month', 43_200, 70],
    ['year', 604_800, 70],
  ])('PVE 8 %s: one point every %i s, %i points', async (timeframe, step, count) => {
    const r = await c8.get('/nodes/pve1/lxc/100/rrddata', { timeframe });
    expectSteps(r.body.data, step, count);
    expect(r.body.data.at(-1)).not.toHaveProperty('memhost'); // a PVE 9 column
  });

  it('nodes have a decade on PVE 9 (a week per point), not before', async () => {
    const r = await c9.get('/nodes/pve2/rrddata', { timeframe: 'decade' });
    expectSteps(r.body.data, 604_800, 570);
    expect(r.body.data.at(-1)).toMatchObject({ maxcpu: 12, memtotal: 32 * 1024 ** 3 });
    const old = await c8.get('/nodes/pve2/rrddata', { timeframe: 'decade' });
    expect([old.status, old.body.errors]).toEqual([400, { timeframe: "value 'decade' does not have a value in the enumeration 'hour, day, week, month, year'" }]);
    const guest = await c9.get('/nodes/pve1/qemu/101/rrddata', { timeframe: 'decade' });
    expect(guest.body.errors.timeframe).toMatch(/does not have a value in the enumeration 'hour, day, week, month, year'/);
  });

  it('checks its parameters as PVE does', async () => {
    expect((await c9.get('/nodes/pve1/qemu/101/rrddata')).body.errors).toEqual({ timeframe: 'property is missing and it is not optional' });
    expect((await c9.get('/nodes/pve1/qemu/101/rrddata', { timeframe: 'hour', cf: 'MIN' })).body.errors).toEqual({
      cf: "value 'MIN' does not have a value in the enumeration 'AVERAGE, MAX'",
    });
    const wrongNode = await c9.get('/nodes/pve2/qemu/101/rrddata', { timeframe: 'hour' });
    expect([wrongNode.status, wrongNode.statusText]).toEqual([500, "Configuration file 'nodes/pve2/qemu-server/101.conf' does not exist"]);
  });

  it('a running guest has usage; a stopped one only its limits; a template never ran', async () => {
    const running = (await c9.get('/nodes/pve1/qemu/110/rrddata', { timeframe: 'hour' })).body.data as Row[];
    const last = running.at(-1)!;
    for (const k of [...usage, 'maxcpu', 'maxmem', 'maxdisk', 'disk', 'memhost']) expect(typeof last[k], k).toBe('number');
    expect(last.maxcpu).toBe(2);
    expect(last.cpu).toBeGreaterThan(0);
    expect(last.cpu).toBeLessThanOrEqual(1);
    // The newest point follows the guest's current figures.
    expect(last.cpu).toBeCloseTo(pve9.guest(110)!.cpu, 6);

    const stopped = (await c9.get('/nodes/pve3/qemu/304/rrddata', { timeframe: 'hour' })).body.data as Row[];
    for (const p of stopped) {
      expect(Object.keys(p).sort()).toEqual(['disk', 'maxcpu', 'maxdisk', 'maxmem', 'time']);
      expect(p.disk).toBe(0);
    }
    const template = (await c9.get('/nodes/pve1/qemu/9000/rrddata', { timeframe: 'year' })).body.data as Row[];
    expect(template.some((p) => 'cpu' in p)).toBe(false);
  });

  it('a guest stopped and started again shows the gap; a new guest has only `time` before it existed', async () => {
    pve9.addGuest({ vmid: 777, type: 'qemu', node: 'pve1', name: 'fresh', status: 'running' });
    const fresh = (await c9.get('/nodes/pve1/qemu/777/rrddata', { timeframe: 'week' })).body.data as Row[];
    // Created 20 to 700 days ago: a week back it existed or not, but never half-way with usage.
    for (const p of fresh) if (!('maxcpu' in p)) expect(Object.keys(p)).toEqual(['time']);
    pve9.removeGuest(777);

    // k3s-agent-1 (202): running for a while after a short maintenance stop (its seeded history).
    const week = (await c9.get('/nodes/pve2/qemu/202/rrddata', { timeframe: 'week' })).body.data as Row[];
    expect(week.filter((p) => 'cpu' in p).length).toBeGreaterThan(0);
  });

  it('MAX is at least AVERAGE for every usage figure of every step', async () => {
    const [avg, max] = await Promise.all(['AVERAGE', 'MAX'].map((cf) => c9.get('/nodes/pve2/qemu/200/rrddata', { timeframe: 'day', cf })));
    const a = avg!.body.data as Row[];
    const m = max!.body.data as Row[];
    expect(m.map((p) => p.time)).toEqual(a.map((p) => p.time));
    for (let i = 0; i < a.length; i++) for (const k of usage) if (k in a[i]!) expect(m[i]![k], `${k} @${a[i]!.time}`).toBeGreaterThanOrEqual(a[i]![k]);
  });

  it('answers the same within a step (what a cache per step relies on)', async () => {
    const a = await c9.get('/nodes/pve1/lxc/103/rrddata', { timeframe: 'week' });
    const b = await c9.get('/nodes/pve1/lxc/103/rrddata', { timeframe: 'week' });
    if (Math.floor(Date.now() / 1_800_000) === Math.floor((Date.now() - 50) / 1_800_000)) expect(b.body).toEqual(a.body);
  });

  it('needs VM.Audit on the guest and Sys.Audit on the node', async () => {
    pve9.addToken({ id: 'viewer@pve!vms', secret: 's-vms', privileges: { '/vms': ['VM.Audit'] } });
    const v = pveClient(pve9, { token: 'viewer@pve!vms' });
    expect((await v.get('/nodes/pve1/qemu/101/rrddata', { timeframe: 'hour' })).status).toBe(200);
    const node = await v.get('/nodes/pve1/rrddata', { timeframe: 'hour' });
    expect([node.status, node.statusText]).toEqual([403, 'Permission check failed (/nodes/pve1, Sys.Audit)']);
    await v.close();
    pve9.removeToken('viewer@pve!vms');
  });
});
