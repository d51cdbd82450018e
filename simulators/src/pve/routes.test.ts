import { waitFor } from '@molten/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pveClient, startTestSimulator, type Client } from '../../test/pve-client.js';
import type { PveSimulator } from './index.js';

type Row = Record<string, any>;

/** No key of any object, at any depth, is null: PVE omits absent keys. */
function expectNoNulls(value: unknown, path = '$'): void {
  if (value === null) throw new Error(`${path} is null`);
  if (Array.isArray(value)) value.forEach((v, i) => expectNoNulls(v, `${path}[${i}]`));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) expectNoNulls(v, `${path}.${k}`);
}

describe('read endpoints on the demo cluster', () => {
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

  it('/cluster/status: the cluster entry and one entry per node, booleans as 0/1', async () => {
    const { data } = (await c.get('/cluster/status')).body;
    expect(data[0]).toEqual({ type: 'cluster', id: 'cluster', name: 'homelab', nodes: 3, quorate: 1, version: 5 });
    expect(data.slice(1)).toEqual([
      { type: 'node', id: 'node/pve1', name: 'pve1', nodeid: 1, local: 1, online: 1, ip: '192.168.1.11', level: '' },
      { type: 'node', id: 'node/pve2', name: 'pve2', nodeid: 2, local: 0, online: 1, ip: '192.168.1.12', level: '' },
      { type: 'node', id: 'node/pve3', name: 'pve3', nodeid: 3, local: 0, online: 1, ip: '192.168.1.13', level: '' },
    ]);
  });

  it('/cluster/resources: guests, nodes and storage in one array with PVE ids', async () => {
    const { data } = (await c.get('/cluster/resources')).body as { data: Row[] };
    expectNoNulls(data);
    const byId = new Map(data.map((r) => [r.id, r]));
    expect(byId.get('qemu/101')).toMatchObject({
      type: 'qemu', vmid: 101, node: 'pve1', name: 'home-assistant', status: 'running', template: 0,
      tags: 'automation;home', hastate: 'started', maxcpu: 2, maxmem: 4 * 1024 ** 3, disk: 0,
    });
    expect(byId.get('lxc/100')).toMatchObject({ type: 'lxc', vmid: 100, name: 'pihole', tags: 'dns;infra' });
    expect(byId.get('qemu/102')).toMatchObject({ lock: 'backup' });
    expect(byId.get('qemu/9000')).toMatchObject({ template: 1, status: 'stopped', cpu: 0, mem: 0, uptime: 0 });
    // pvestatd broadcasts the QMP status, so a paused VM reads `paused` here (but `running` on the node).
    expect(byId.get('qemu/303')).toMatchObject({ status: 'paused' });
    expect(byId.get('node/pve2')).toMatchObject({ type: 'node', node: 'pve2', status: 'online', level: '', 'cgroup-mode': 2 });
    expect(byId.get('storage/pve1/local')).toMatchObject({
      type: 'storage', storage: 'local', node: 'pve1', plugintype: 'dir', status: 'available', shared: 0, content: 'backup,iso,vztmpl',
    });
    expect(byId.get('storage/pve3/nas-backup')).toMatchObject({ plugintype: 'nfs', shared: 1 });
    for (const r of data.filter((x) => x.type === 'qemu' || x.type === 'lxc')) {
      expect(Number.isInteger(r.vmid)).toBe(true);
      expect(r).not.toHaveProperty('qmpstatus');
    }
    // vmids in Perl's string order.
    const vmids = data.filter((r) => r.vmid !== undefined).map((r) => String(r.vmid));
    expect(vmids).toEqual([...vmids].sort());
  });

  it('/cluster/resources?type= filters, and refuses unknown types with 400', async () => {
    const vms = (await c.get('/cluster/resources', { type: 'vm' })).body.data as Row[];
    expect(new Set(vms.map((r) => r.type))).toEqual(new Set(['qemu', 'lxc']));
    expect(vms).toHaveLength(17);
    const nodes = (await c.get('/cluster/resources', { type: 'node' })).body.data as Row[];
    expect(nodes.map((r) => r.id)).toEqual(['node/pve1', 'node/pve2', 'node/pve3']);
    const storage = (await c.get('/cluster/resources', { type: 'storage' })).body.data as Row[];
    expect(storage).toHaveLength(9);
    const bad = await c.get('/cluster/resources', { type: 'pool' });
    expect([bad.status, bad.statusText]).toEqual([400, 'Parameter verification failed.']);
    expect(bad.body.errors).toEqual({ type: "value 'pool' does not have a value in the enumeration 'vm, storage, node, sdn'" });
  });

  it('/nodes: node rows with stats and ssl_fingerprint', async () => {
    const { data } = (await c.get('/nodes')).body as { data: Row[] };
    expect(data.map((n) => n.node)).toEqual(['pve1', 'pve2', 'pve3']);
    expect(data[0]).toMatchObject({ id: 'node/pve1', type: 'node', status: 'online', maxcpu: 16, maxmem: 64 * 1024 ** 3, ssl_fingerprint: sim.fingerprint });
    expect(data[0]!.cpu).toBeGreaterThan(0);
    expect(data[0]!.uptime).toBeGreaterThanOrEqual(1_734_512);
  });

  it('/nodes/{node}/status: the node summary with string load averages and no status field', async () => {
    const { data } = (await c.get('/nodes/pve3/status')).body;
    expect(data).toMatchObject({
      cpuinfo: { model: 'Intel(R) N100', sockets: 1, cores: 4, cpus: 4 },
      memory: { total: 16 * 1024 ** 3 },
      pveversion: 'pve-manager/9.0.10/deb1ca707ec72a89',
      'boot-info': { mode: 'efi', secureboot: 0 },
    });
    expect(data.loadavg).toHaveLength(3);
    for (const l of data.loadavg) expect(l).toMatch(/^\d+\.\d\d$/);
    expect(data).not.toHaveProperty('status');
    expect(data.memory.used + data.memory.available).toBe(data.memory.total);
  });

  it('/nodes/{node}/qemu: qmpstatus only with full=1; optional keys omitted', async () => {
    const plain = (await c.get('/nodes/pve3/qemu')).body.data as Row[];
    expect(plain.map((r) => r.vmid).sort()).toEqual([300, 303, 304]);
    const paused = plain.find((r) => r.vmid === 303)!;
    expect(paused.status).toBe('running');
    expect(paused).not.toHaveProperty('qmpstatus');
    const stopped = plain.find((r) => r.vmid === 304)!;
    expect(stopped).not.toHaveProperty('pid');
    expect(stopped).not.toHaveProperty('lock');
    expect(stopped).not.toHaveProperty('template');
    expect(stopped).toMatchObject({ status: 'stopped', uptime: 0, cpu: 0, mem: 0, tags: 'games' });

    const full = (await c.get('/nodes/pve3/qemu', { full: 1 })).body.data as Row[];
    expect(full.find((r) => r.vmid === 303)).toMatchObject({ status: 'running', qmpstatus: 'paused' });
    expect(full.find((r) => r.vmid === 304)).toMatchObject({ status: 'stopped', qmpstatus: 'stopped' });
    expectNoNulls(full);
  });

  it('/nodes/{node}/lxc: containers only, type lxc, integer vmids, no qmpstatus', async () => {
    const rows = (await c.get('/nodes/pve3/lxc')).body.data as Row[];
    expect(rows.map((r) => r.vmid).sort()).toEqual([301, 302, 305]);
    for (const r of rows) {
      expect(r).toMatchObject({ type: 'lxc', status: 'running' });
      expect(typeof r.vmid).toBe('number');
      expect(r).not.toHaveProperty('qmpstatus');
      expect(r).toHaveProperty('maxswap');
    }
  });

  it('status/current: qemu with ha, agent and qmpstatus; lxc without qmpstatus', async () => {
    const paused = (await c.get('/nodes/pve3/qemu/303/status/current')).body.data;
    expect(paused).toMatchObject({ vmid: 303, name: 'kali-lab', status: 'running', qmpstatus: 'paused', ha: { managed: 0 } });
    expect(paused).not.toHaveProperty('agent');
    const ha = (await c.get('/nodes/pve1/qemu/101/status/current')).body.data;
    expect(ha).toMatchObject({ status: 'running', qmpstatus: 'running', agent: 1, ha: { managed: 1, state: 'started' } });
    expect(ha.pid).toBeGreaterThan(0);
    const ct = (await c.get('/nodes/pve1/lxc/100/status/current')).body.data;
    expect(ct).toMatchObject({ vmid: 100, type: 'lxc', status: 'running', name: 'pihole', ha: { managed: 0 } });
    expect(ct).not.toHaveProperty('qmpstatus');
  });

  it('a vmid that is not on the node: 500 naming the config file that does not exist', async () => {
    for (const [path, file] of [
      ['/nodes/pve1/qemu/999/status/current', 'nodes/pve1/qemu-server/999.conf'],
      ['/nodes/pve1/qemu/200/status/current', 'nodes/pve1/qemu-server/200.conf'], // 200 lives on pve2
      ['/nodes/pve1/lxc/101/status/current', 'nodes/pve1/lxc/101.conf'], // 101 is a VM
    ] as const) {
      const r = await c.get(path);
      expect(r.status).toBe(500);
      expect(r.statusText).toBe(`Configuration file '${file}' does not exist`);
      expect(r.body).toEqual({ data: null, message: `Configuration file '${file}' does not exist\n` });
    }
  });

  it('malformed input: 400 with per-field errors; a node that does not exist: hostname lookup 500', async () => {
    const r = await c.get('/nodes/pve1/qemu/abc/status/current');
    expect([r.status, r.statusText]).toEqual([400, 'Parameter verification failed.']);
    expect(r.body.errors).toEqual({ vmid: "type check ('integer') failed - got 'abc'" });
    const extra = await c.get('/nodes/pve1/qemu', { foo: 1 });
    expect(extra.body.errors).toEqual({ foo: 'property is not defined in schema and the schema does not allow additional properties' });
    const dup = await c.get('/nodes/pve1/qemu', { node: 'pve2' });
    expect(dup.body.errors).toEqual({ node: 'duplicate parameter (already defined in URI) with conflicting values!' });
    const nowhere = await c.get('/nodes/pve9/qemu');
    expect([nowhere.status, nowhere.statusText]).toEqual([
      500,
      "hostname lookup 'pve9' failed - failed to get address info for: pve9: Name or service not known",
    ]);
  });

  it("'localhost' means the node that answers", async () => {
    const rows = (await c.get('/nodes/localhost/lxc')).body.data as Row[];
    expect(rows.map((r) => r.vmid).sort()).toEqual([100, 103]);
  });

  it('storage: per node with usage, one status, and the cluster config', async () => {
    const list = (await c.get('/nodes/pve1/storage')).body.data as Row[];
    expect(list.map((s) => s.storage)).toEqual(['local', 'local-lvm', 'nas-backup']);
    for (const s of list) {
      expect(s).toMatchObject({ active: 1, enabled: 1 });
      expect(s.used + s.avail).toBe(s.total);
      expect(s.used_fraction).toBeCloseTo(s.used / s.total);
    }
    expect((await c.get('/nodes/pve1/storage', { content: 'images' })).body.data.map((s: Row) => s.storage)).toEqual(['local-lvm']);
    const status = (await c.get('/nodes/pve2/storage/local-lvm/status')).body.data;
    expect(status).toMatchObject({ type: 'lvmthin', content: 'images,rootdir', shared: 0, active: 1, enabled: 1 });
    const missing = await c.get('/nodes/pve2/storage/nope/status');
    expect([missing.status, missing.body.errors]).toEqual([400, { storage: 'No such storage.' }]);
    const config = (await c.get('/storage')).body.data as Row[];
    expect(config.find((s) => s.storage === 'nas-backup')).toMatchObject({ type: 'nfs', shared: 1, server: '192.168.1.20' });
    expect(config.find((s) => s.storage === 'local')).toMatchObject({ type: 'dir', path: '/var/lib/vz' });
    expect(config.find((s) => s.storage === 'local')).not.toHaveProperty('total');
    expect(new Set(config.map((s) => s.digest)).size).toBe(1);
  });
});

describe('shape variants', () => {
  it('standalone: no cluster entry, node id 0', async () => {
    const sim = await startTestSimulator({ standalone: true, preset: 'generated', guestsPerNode: 3 });
    const c = pveClient(sim);
    try {
      const { data } = (await c.get('/cluster/status')).body;
      expect(data).toEqual([{ type: 'node', id: 'node/pve', name: 'pve', nodeid: 0, local: 1, online: 1, ip: '10.0.0.11', level: '' }]);
      expect(sim.clusterName).toBeUndefined();
    } finally {
      await c.close();
      await sim.close();
    }
  });

  it('legacyStringVmid: chosen containers send vmid as a string, VMs never do', async () => {
    const sim = await startTestSimulator({ legacyStringVmid: [100] });
    const c = pveClient(sim);
    try {
      const cts = (await c.get('/nodes/pve1/lxc')).body.data as Row[];
      expect(cts.find((r) => r.name === 'pihole')!.vmid).toBe('100');
      expect(cts.find((r) => r.name === 'gitea')!.vmid).toBe(103);
      expect((await c.get('/nodes/pve1/lxc/100/status/current')).body.data.vmid).toBe('100');
      const res = (await c.get('/cluster/resources', { type: 'vm' })).body.data as Row[];
      expect(res.find((r) => r.id === 'lxc/100')!.vmid).toBe('100');
      expect(res.find((r) => r.id === 'qemu/101')!.vmid).toBe(101);
    } finally {
      await c.close();
      await sim.close();
    }
  });

  it('PVE before 8.4 has no message in error bodies', async () => {
    const sim = await startTestSimulator({ version: '8.2.4' });
    const c = pveClient(sim);
    try {
      const r = await c.get('/nodes/pve1/qemu/999/status/current');
      expect(r.body).toEqual({ data: null });
      expect((await c.get('/version')).body.data).toMatchObject({ version: '8.2.4', release: '8.2' });
      expect((await c.get('/nodes/pve1/qemu')).body.data[0]).not.toHaveProperty('memhost');
    } finally {
      await c.close();
      await sim.close();
    }
  });
});

describe('an offline node', () => {
  let sim: PveSimulator;
  let c: Client;

  beforeAll(async () => {
    // Expire an offline node's last broadcast at once (PVE keeps it 5 min; rrd.test.ts covers that).
    sim = await startTestSimulator({ statsExpireMs: 0 });
    c = pveClient(sim);
  });
  afterAll(async () => {
    await c?.close();
    await sim?.close();
  });

  it('answers 595 with an empty body for anything proxied to it', async () => {
    sim.setNodeOnline('pve2', false);
    for (const path of ['/nodes/pve2/qemu', '/nodes/pve2/status', '/nodes/pve2/qemu/200/status/current', '/nodes/pve2/tasks']) {
      const r = await c.get(path);
      expect([r.status, r.statusText, r.text], path).toEqual([595, 'No route to host', '']);
    }
    const before = sim.tasks({ vmid: 203 }).length; // the seeded history
    const post = await c.post('/nodes/pve2/qemu/203/status/start');
    expect(post.status).toBe(595);
    expect(sim.tasks({ vmid: 203 })).toHaveLength(before);
    expect((await c.get('/nodes/pve1/qemu')).status).toBe(200);
  });

  it('shows offline in /nodes and /cluster/status; its guests read unknown once its status expired', async () => {
    sim.setNodeOnline('pve3', false);
    const nodes = (await c.get('/nodes')).body.data as Row[];
    expect(nodes.find((n) => n.node === 'pve3')).toEqual({ id: 'node/pve3', node: 'pve3', type: 'node', status: 'offline', ssl_fingerprint: sim.fingerprint });
    const status = (await c.get('/cluster/status')).body.data as Row[];
    expect(status.find((n) => n.name === 'pve3')).toMatchObject({ online: 0 });
    expect(status[0]).toMatchObject({ quorate: 0 }); // pve2 and pve3 are both down: 1 of 3

    const rows = (await c.get('/cluster/resources')).body.data as Row[];
    expect(rows.find((r) => r.id === 'qemu/300')).toEqual({ id: 'qemu/300', vmid: 300, node: 'pve3', type: 'qemu', status: 'unknown', tags: 'k3s' });
    expect(rows.find((r) => r.id === 'node/pve3')).toEqual({ id: 'node/pve3', node: 'pve3', type: 'node', status: 'offline', 'cgroup-mode': 2 });
    expect(rows.find((r) => r.id === 'storage/pve3/local')).toMatchObject({ status: 'unknown' });
    expect(rows.find((r) => r.id === 'storage/pve3/local')).not.toHaveProperty('disk');
    expect(rows.find((r) => r.id === 'qemu/101')).toMatchObject({ status: 'running' });
  });

  it('without quorum, starts are refused; back online, everything answers again', async () => {
    const r = await c.post('/nodes/pve1/qemu/9000/status/start');
    expect([r.status, r.statusText]).toEqual([500, 'cluster not ready - no quorum?']);
    sim.setNodeOnline('pve2', true);
    sim.setNodeOnline('pve3', true);
    expect((await c.get('/nodes/pve3/qemu')).status).toBe(200);
    const rows = (await c.get('/cluster/resources', { type: 'vm' })).body.data as Row[];
    expect(rows.find((x) => x.vmid === 300)).toMatchObject({ status: 'running' });
  });
});

describe('/cluster/resources lags like pvestatd broadcasts', () => {
  it('with statsIntervalMs, a change shows on the node at once but cluster-wide only after the next broadcast', async () => {
    const sim = await startTestSimulator({ statsIntervalMs: 300 });
    const c = pveClient(sim);
    try {
      sim.setStatus(304, 'running');
      expect((await c.get('/nodes/pve3/qemu/304/status/current')).body.data.status).toBe('running');
      await waitFor(async () => {
        const rows = (await c.get('/cluster/resources', { type: 'vm' })).body.data as Row[];
        return rows.find((r) => r.vmid === 304)?.status === 'running';
      });
    } finally {
      await c.close();
      await sim.close();
    }
  });
});
