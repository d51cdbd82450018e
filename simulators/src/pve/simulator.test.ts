import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSimulator, type PveSimEvent, type PveSimulator } from './index.js';
import { pveClient, startTestSimulator, type Client } from '../../test/pve-client.js';

describe('control API', () => {
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

  it('describes itself: url, nodes, cluster, tokens, release', () => {
    expect(sim.apiUrl).toBe(`${sim.url}/api2/json`);
    expect(sim.nodes).toEqual(['pve1', 'pve2', 'pve3']);
    expect(sim.clusterName).toBe('homelab');
    expect(sim.tokens.map((t) => t.id)).toEqual(['root@pam!molten']);
    expect(sim.authHeader()).toBe(`PVEAPIToken=root@pam!molten=${sim.tokens[0]!.secret}`);
    expect(() => sim.authHeader('nobody@pve!x1')).toThrow(/no token 'nobody@pve!x1' configured/);
    expect(sim.release).toMatchObject({ version: '9.0.10', errorMessageInBody: true, uniformAuthFailure: false });
  });

  it('reads guests and filters them', () => {
    expect(sim.guest(303)).toMatchObject({ name: 'kali-lab', type: 'qemu', status: 'running', qmpstatus: 'paused' });
    expect(sim.guest(100)).not.toHaveProperty('qmpstatus');
    expect(sim.guest(12345)).toBeUndefined();
    expect(sim.guests({ node: 'pve3', type: 'lxc' }).map((g) => g.name).sort()).toEqual(['unifi', 'uptime-kuma', 'vaultwarden']);
  });

  it('announces out-of-band changes with a timestamp, and the API shows them at once', async () => {
    const events: PveSimEvent[] = [];
    const off = sim.onChange((e) => events.push(e));
    const t0 = Date.now();
    sim.setStatus(304, 'running');
    sim.setLoad(304, { cpu: 0.5, mem: 2 * 1024 ** 3 });
    sim.lock(304, 'snapshot');
    sim.setStatus(304, 'paused');
    off();
    sim.setStatus(304, 'stopped'); // not seen: unsubscribed
    expect(events.map((e) => (e.kind === 'guest' ? `${e.change}:${e.status}:${e.qmpstatus}` : e.kind))).toEqual([
      'status:running:running',
      'load:running:running',
      'lock:running:running',
      'status:running:paused',
    ]);
    expect(events.every((e) => e.at >= t0 && e.at <= Date.now())).toBe(true);
    expect(events[1]).toMatchObject({ cpu: 0.5, mem: 2 * 1024 ** 3 });
    const cur = (await c.get('/nodes/pve3/qemu/304/status/current')).body.data;
    expect(cur).toMatchObject({ status: 'stopped', lock: 'snapshot' });
    sim.lock(304, undefined);
    expect(() => sim.setStatus(100, 'paused')).toThrow(/container 100 cannot be paused/);
    expect(() => sim.setLoad(304, { cpu: 0.1 })).toThrow(/not running/);
    expect(() => sim.lock(4242, 'backup')).toThrow(/no guest 4242/);
  });

  it('adds and removes guests, which the API lists at once', async () => {
    const events: PveSimEvent[] = [];
    const off = sim.onChange((e) => events.push(e));
    const view = sim.addGuest({ vmid: 777, type: 'lxc', node: 'pve2', name: 'new-ct', status: 'running', tags: ['new'] });
    expect(view).toMatchObject({ vmid: 777, status: 'running', tags: ['new'] });
    const rows = (await c.get('/nodes/pve2/lxc')).body.data as { vmid: number; tags: string }[];
    expect(rows.find((r) => r.vmid === 777)).toMatchObject({ tags: 'new' });
    expect(() => sim.addGuest({ vmid: 777, type: 'qemu', node: 'pve1' })).toThrow(/vmid 777 is already used/);
    expect(() => sim.addGuest({ vmid: 99, type: 'qemu', node: 'pve1' })).toThrow(/out of range/);
    expect(() => sim.addGuest({ vmid: 778, type: 'qemu', node: 'pve7' })).toThrow(/no node 'pve7'/);
    expect(sim.removeGuest(777)).toBe(true);
    expect(sim.removeGuest(777)).toBe(false);
    off();
    expect(events.map((e) => (e.kind === 'guest' ? e.change : e.kind))).toEqual(['added', 'removed']);
    expect((await c.get('/nodes/pve2/lxc/777/status/current')).status).toBe(500);
  });

  it('announces nodes going offline and back', () => {
    const events: PveSimEvent[] = [];
    const off = sim.onChange((e) => events.push(e));
    sim.setNodeOnline('pve2', false, { reason: 'Connection refused' });
    sim.setNodeOnline('pve2', false); // no change, no event
    sim.setNodeOnline('pve2', true);
    off();
    expect(events).toMatchObject([
      { kind: 'node', change: 'offline', node: 'pve2' },
      { kind: 'node', change: 'online', node: 'pve2' },
    ]);
    expect(() => sim.setNodeOnline('nope', false)).toThrow(/no node 'nope'/);
  });

  it('lists its tasks and validates scripted failures', async () => {
    const upid = (await c.post('/nodes/pve2/qemu/203/status/start')).body.data as string;
    expect(sim.task(upid)).toMatchObject({ upid, node: 'pve2', type: 'qmstart', id: '203', user: 'root@pam!molten' });
    expect(sim.tasks({ vmid: 203 }).map((t) => t.upid)).toContain(upid);
    expect(() => sim.failNextTask({ vmid: 203 }, 'two\nlines')).toThrow(/one non-empty line/);
    expect(() => sim.failNextRequest({}, 42, 'x')).toThrow(/HTTP status code/);
    expect(() => sim.setLatency(-1)).toThrow(/>= 0/);
    expect(() => sim.setTaskDurations({ start: -5 })).toThrow(/taskDurations.start/);
  });

  it('keeps only the newest requests', async () => {
    const small = await startTestSimulator({ requestLogLimit: 3 });
    const sc = pveClient(small);
    try {
      for (let i = 0; i < 5; i++) await sc.get('/version', { i });
      expect(small.requests.map((r) => r.query)).toEqual(['i=2', 'i=3', 'i=4']);
      small.clearRequests();
      expect(small.countRequests()).toBe(0);
    } finally {
      await sc.close();
      await small.close();
    }
  });
});

describe('options', () => {
  it('refuses combinations that make no sense, with a hint', async () => {
    await expect(startPveSimulator({ standalone: true })).rejects.toThrow(/demo preset is a 3-node cluster/);
    await expect(startPveSimulator({ preset: 'nope' as never })).rejects.toThrow(/unknown preset 'nope'/);
    await expect(startPveSimulator({ taskDurations: { start: -1 } })).rejects.toThrow(/taskDurations.start must be a number >= 0/);
    await expect(startPveSimulator({ version: '9' })).rejects.toThrow(/major.minor.patch/);
    await expect(startPveSimulator({ preset: 'empty', guests: [{ vmid: 100, type: 'lxc', node: 'pve1', status: 'paused' }] })).rejects.toThrow(
      /container 100 cannot be paused/,
    );
  });

  it('a closed simulator cannot be started again', async () => {
    const sim = await startTestSimulator({ preset: 'empty', nodes: 1 });
    await sim.close();
    await expect(sim.start()).rejects.toThrow(/closed/);
  });
});
