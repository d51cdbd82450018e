import { waitFor } from '@molten/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPID_PATTERN, decodeUpid, type PveSimulator } from './index.js';
import { enc, pveClient, startTestSimulator, waitForTask, type Client } from './test-client.js';

type Row = Record<string, any>;
const FAST_SNAPSHOTS = { snapshot: 60, rollback: 60, delsnapshot: 40 };
const usage = ['cpu', 'mem', 'netin', 'netout', 'diskread', 'diskwrite'];

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

describe('config, addresses and HA', () => {
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

  it('qemu config: numbers where PVE parses them, memory as a property string, cipassword masked', async () => {
    const r = await c.get('/nodes/pve1/qemu/110/config');
    expect(r.body.data).toMatchObject({
      name: 'k3s-server-1', cores: 2, sockets: 1, memory: '4096', numa: 0, agent: '1', ostype: 'l26',
      boot: 'order=scsi0;ide2;net0', scsi0: 'local-lvm:vm-110-disk-0,iothread=1,size=40G', cipassword: '**********',
      ciuser: 'debian', ipconfig0: 'ip=192.168.1.110/24,gw=192.168.1.1', parent: 'pre-k3s-1-33',
    });
    expect(r.body.data.digest).toMatch(/^[0-9a-f]{40}$/);
    expect(r.body.data.net0).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0,firewall=1$/);
    // PVE 8.0 and before wrote memory as an integer.
    const old = await startTestSimulator({ version: '8.0.4' });
    const oc = pveClient(old);
    expect((await oc.get('/nodes/pve1/qemu/110/config')).body.data.memory).toBe(4096);
    await oc.close();
    await old.close();
  });

  it('lxc config carries what PVE keeps in clear (an OCI container env with its secrets)', async () => {
    const r = await c.get('/nodes/pve3/lxc/302/config');
    expect(r.body.data).toMatchObject({ hostname: 'vaultwarden', cores: 1, memory: 512, swap: 512, unprivileged: 1, ostype: 'unmanaged' });
    expect(r.body.data.env).toContain('ADMIN_TOKEN=');
    expect(r.body.data.net0).toMatch(/^name=eth0,bridge=vmbr0,firewall=1,gw=192\.168\.1\.1,hwaddr=BC:24:11:.*,ip=192\.168\.1\.\d+\/24,type=veth$/);
  });

  it('config of a snapshot, and the current/snapshot parameter clash', async () => {
    const snap = (await c.get('/nodes/pve3/qemu/304/config', { snapshot: 'world-v1' })).body.data;
    expect(snap).toMatchObject({ name: 'minecraft', snaptime: expect.any(Number), description: 'Survival world, day 1' });
    expect(snap).not.toHaveProperty('digest');
    const clash = await c.get('/nodes/pve3/qemu/304/config', { snapshot: 'world-v1', current: 1 });
    expect(clash.body.errors).toEqual({ snapshot: "cannot use 'snapshot' parameter with 'current'", current: "cannot use 'snapshot' parameter with 'current'" });
    const missing = await c.get('/nodes/pve3/qemu/304/snapshot/nope/config');
    expect([missing.status, missing.statusText]).toEqual([500, "snapshot 'nope' does not exist"]);
  });

  it('the guest agent: interfaces when it answers, and each of qemu-server\'s refusals', async () => {
    const ok = await c.get('/nodes/pve1/qemu/110/agent/network-get-interfaces');
    expect(ok.status).toBe(200);
    const ens18 = ok.body.data.result.find((i: Row) => i.name === 'ens18');
    expect(ens18).toMatchObject({ 'hardware-address': expect.stringMatching(/^bc:24:11:/) });
    expect(ens18['ip-addresses']).toContainEqual({ 'ip-address-type': 'ipv4', 'ip-address': '192.168.1.110', prefix: 24 });
    expect(ok.body.data.result.map((i: Row) => i.name)).toEqual(['lo', 'ens18', 'flannel.1', 'cni0']);

    const refusals: [string, string][] = [
      ['/nodes/pve3/qemu/300/agent/network-get-interfaces', 'QEMU guest agent is not running'], // enabled, not answering
      ['/nodes/pve3/qemu/303/agent/network-get-interfaces', 'No QEMU guest agent configured'],
      ['/nodes/pve3/qemu/304/agent/network-get-interfaces', 'VM 304 is not running'],
    ];
    for (const [path, reason] of refusals) {
      const r = await c.get(path);
      expect([r.status, r.statusText], path).toEqual([500, reason]);
    }
    sim.setAgentRunning(110, false);
    expect((await c.get('/nodes/pve1/qemu/110/agent/network-get-interfaces')).statusText).toBe('QEMU guest agent is not running');
    sim.setAgentRunning(110, true);
  });

  it('the agent needs VM.GuestAgent.Audit (or .Unrestricted) on PVE 9, VM.Monitor before', async () => {
    sim.addToken({ id: 'audit@pve!ro', secret: 's-ro', privileges: ['VM.Audit'] });
    const ro = pveClient(sim, { token: 'audit@pve!ro' });
    const r = await ro.get('/nodes/pve1/qemu/110/agent/network-get-interfaces');
    expect([r.status, r.statusText]).toEqual([403, 'Permission check failed (/vms/110, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)']);
    await ro.close();
    sim.removeToken('audit@pve!ro');

    const old = await startTestSimulator({ version: '8.4.1', tokens: [{ id: 'audit@pve!ro', secret: 's-ro', privileges: ['VM.Audit', 'VM.GuestAgent.Audit'] }] });
    const oc = pveClient(old);
    const denied = await oc.get('/nodes/pve1/qemu/110/agent/network-get-interfaces');
    expect([denied.status, denied.statusText]).toEqual([403, 'Permission check failed (/vms/110, VM.Monitor)']);
    await oc.close();
    await old.close();
  });

  it('container interfaces: `ip a` of a running CT (families inet/inet6), null for a stopped one', async () => {
    const r = await c.get('/nodes/pve1/lxc/100/interfaces');
    const eth0 = r.body.data.find((i: Row) => i.name === 'eth0');
    expect(eth0).toMatchObject({ inet: expect.stringMatching(/^192\.168\.1\.\d+\/24$/), hwaddr: eth0['hardware-address'] });
    expect(eth0['ip-addresses'][0]).toMatchObject({ 'ip-address-type': 'inet', prefix: 24 });
    sim.setStatus(103, 'stopped');
    expect((await c.get('/nodes/pve1/lxc/103/interfaces')).body).toEqual({ data: null });
    sim.setStatus(103, 'running');
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
