import { describe, expect, it } from 'vitest';
import { guestFromCurrent, guestFromRow, nodeFromRow, storageFromRow } from './pve-driver.js';
import { pveHttpError } from './pve-errors.js';
import { clusterStatusRow, guestCurrent, nodeStatus, taskStatus } from './pve-schemas.js';
import { ResourceRows, checkResourceRow } from './resource-rows.js';

// Real captures quoted in shared/upstreams/proxmox-ve-api.md (go-proxmox test mocks, PVE 7/8).
const resources = {
  data: [
    { id: 'qemu/100', type: 'qemu', vmid: 100, name: 'server1', node: 'node2', status: 'running', template: 0, cpu: 0.0249060195469461, maxcpu: 1, mem: 842551296, maxmem: 1073741824, disk: 0, maxdisk: 34359738368, diskread: 4510777856, diskwrite: 6059209728, netin: 2456116121, netout: 545248946, uptime: 874350 },
    { id: 'qemu/101', type: 'qemu', vmid: 101, name: 'leap154', node: 'node1', status: 'stopped', template: 1, cpu: 0, maxcpu: 4, mem: 0, maxmem: 16777216000, disk: 0, maxdisk: 68719476736, uptime: 0, diskread: 0, diskwrite: 0, netin: 0, netout: 0, tags: 'web;prod', lock: 'backup', hastate: 'started' },
    { id: 'node/node1', type: 'node', node: 'node1', status: 'online', level: '', 'cgroup-mode': 2, cpu: 0.00336910406788121, maxcpu: 8, mem: 2113265664, maxmem: 65919459328, disk: 10486546432, maxdisk: 951055941632, uptime: 872854 },
    { id: 'storage/node1/local', type: 'storage', storage: 'local', node: 'node1', plugintype: 'dir', status: 'available', shared: 0, content: 'backup,vztmpl,iso', disk: 10486546432, maxdisk: 951055941632 },
    { id: 'pool/lab', type: 'pool', pool: 'lab' },
    { id: 'sdn/node1/localnetwork', type: 'sdn', sdn: 'localnetwork', node: 'node1', status: 'ok' },
  ],
};

describe('Proxmox payloads', () => {
  it('parses /cluster/resources rows of every type, with 0/1 booleans and omitted keys', () => {
    const rows = resources.data.map(checkResourceRow);
    const vm = guestFromRow('homelab', rows[0]!);
    expect(vm).toMatchObject({ cluster: 'homelab', vmid: 100, node: 'node2', type: 'qemu', status: 'running', template: false, tags: [], maxmem: 1073741824 });
    expect(vm.lock).toBeUndefined();
    const tpl = guestFromRow('homelab', rows[1]!);
    expect(tpl).toMatchObject({ template: true, tags: ['web', 'prod'], lock: 'backup', hastate: 'started' });
    expect(nodeFromRow('homelab', rows[2]!)).toMatchObject({ node: 'node1', status: 'online', maxcpu: 8 });
    expect(storageFromRow('homelab', rows[3]!)).toMatchObject({ id: 'node1/local', storage: 'local', type: 'dir', shared: false, content: ['backup', 'vztmpl', 'iso'], used: 10486546432, total: 951055941632 });
  });

  it('splits the QMP status pvestatd broadcasts for a paused VM back into status and qmpstatus', () => {
    const row = checkResourceRow({ id: 'qemu/303', vmid: 303, type: 'qemu', node: 'pve3', status: 'paused', uptime: 10 });
    expect(guestFromRow('c', row)).toMatchObject({ status: 'running', qmpstatus: 'paused' });
    expect(guestFromRow('c', checkResourceRow({ id: 'qemu/1', vmid: 100, type: 'qemu', status: 'stopped' }))).toMatchObject({ status: 'stopped', qmpstatus: 'stopped' });
    expect(guestFromRow('c', checkResourceRow({ id: 'lxc/1', vmid: 100, type: 'lxc', status: 'running' })).qmpstatus).toBeUndefined();
  });

  it('accepts the string vmid older lxc lists send', () => {
    const row = checkResourceRow({ id: 'lxc/106', vmid: '106', name: 'test', type: 'lxc', status: 'running', cpu: 0, maxcpu: 1, mem: 34304000, maxmem: 536870912 });
    expect(guestFromRow('c', row).vmid).toBe(106);
    expect(guestCurrent.parse({ vmid: '106', status: 'running' }).vmid).toBe(106);
  });

  it('keeps qmpstatus apart from status (a paused VM reads running/paused)', () => {
    const cur = guestCurrent.parse({ vmid: 101, name: 'matt', status: 'running', qmpstatus: 'paused', agent: 1, cpus: 8, cpu: 0.01, mem: 1, maxmem: 2, uptime: 170815, ha: { managed: 0 } });
    expect(guestFromCurrent('c', { vmid: 101, node: 'n', type: 'qemu' }, cur)).toMatchObject({ status: 'running', qmpstatus: 'paused', maxcpu: 8 });
    const ct = guestCurrent.parse({ vmid: 200, status: 'stopped', type: 'lxc' });
    expect(guestFromCurrent('c', { vmid: 200, node: 'n', type: 'lxc' }, ct).qmpstatus).toBeUndefined();
  });

  it('parses cluster status for a cluster and for a standalone node', () => {
    const cluster = clusterStatusRow.array().parse([
      { type: 'cluster', id: 'cluster', name: 'clustername', nodes: 4, quorate: 1, version: 4 },
      { type: 'node', id: 'node/node1', name: 'node1', nodeid: 1, ip: '192.168.1.1', local: 1, online: 1, level: '' },
    ]);
    expect(cluster[0]).toMatchObject({ quorate: true, nodes: 4 });
    expect(cluster[1]).toMatchObject({ online: true, local: true });
    const alone = clusterStatusRow.array().parse([{ type: 'node', id: 'node/pve0', name: 'pve0', nodeid: 0, ip: '10.0.0.5', level: '', local: 1, online: 1 }]);
    expect(alone.some((r) => r.type === 'cluster')).toBe(false);
  });

  it('parses node status with string load averages', () => {
    const s = nodeStatus.parse({ cpu: 0.0026, cpuinfo: { model: 'Intel(R) Core(TM) i7-6700 CPU @ 3.40GHz', sockets: 1, cores: 4, cpus: 8, mhz: '3400.000' }, memory: { total: 65919459328, free: 57824059392, used: 8095399936 }, uptime: 2501631, loadavg: ['0.00', '0.01', '0.05'], pveversion: 'pve-manager/7.4-16/0f39f621' });
    expect(s.loadavg).toEqual(['0.00', '0.01', '0.05']);
    expect(s.cpuinfo?.cpus).toBe(8);
  });

  it('parses running and stopped task status', () => {
    expect(taskStatus.parse({ status: 'running', upid: 'x', type: 'qmstart', id: '100', user: 'root@pam!adapter', node: 'pve', pid: 987691, pstart: 94483139, starttime: 1710333619 }).exitstatus).toBeUndefined();
    expect(taskStatus.parse({ status: 'stopped', exitstatus: 'WARNINGS: 1' }).exitstatus).toBe('WARNINGS: 1');
  });

  it('rejects a payload that is not what Proxmox sends', async () => {
    const read = (doc: unknown) => new ResourceRows(() => 1).read(Buffer.from(JSON.stringify(doc)));
    await expect(read({ data: [{ type: 'qemu' }] })).rejects.toThrow('unexpected answer from GET /cluster/resources: row 0: id: expected a string, got undefined');
    await expect(read({ result: [] })).rejects.toThrow('data: expected an array, got undefined');
  });
});

describe('Proxmox errors', () => {
  it('names the missing privilege of a 403', () => {
    const e = pveHttpError(403, 'Permission check failed (/vms/100, VM.PowerMgmt)');
    expect(e.code).toBe('forbidden');
    expect(e.privilege).toBe('VM.PowerMgmt');
    expect(e.message).toContain('VM.PowerMgmt');
    expect(e.remedy).toMatch(/pveum acl modify \/vms\/100/);
  });

  it('says how to create a token on a 401', () => {
    const e = pveHttpError(401, "no such token 'molten' for user 'molten@pve'");
    expect(e.code).toBe('auth');
    expect(e.remedy).toMatch(/pveum user token add/);
    for (const p of ['VM.Audit', 'VM.PowerMgmt', 'Sys.Audit', 'Datastore.Audit']) expect(e.remedy).toContain(p);
  });

  it('keeps 400 field errors', () => {
    const e = pveHttpError(400, 'Parameter verification failed.', { vmid: 'VM 200 already exists' });
    expect(e.code).toBe('invalid');
    expect(e.fields).toEqual({ vmid: 'VM 200 already exists' });
    expect(e.message).toContain('vmid: VM 200 already exists');
  });

  it.each([
    [500, 'VM is locked (backup)', 'locked'],
    [500, 'CT is locked (backup)', 'locked'],
    [500, 'CT 101 already running', 'conflict'],
    [500, 'VM 100 not running', 'conflict'],
    [500, 'VM is paused - cannot shutdown', 'conflict'],
    [500, "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist", 'not_found'],
    [595, 'Errors during connection establishment, proxy handler: No route to host', 'node_unreachable'],
    [596, 'Connection timed out', 'node_unreachable'],
    [500, 'something else broke', 'upstream'],
  ])('classifies %i %j as %s, keeping the message', (status, reason, code) => {
    const e = pveHttpError(status, reason);
    expect(e.code).toBe(code);
    expect(e.message).toContain(reason);
  });
});
