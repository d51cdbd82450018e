import { describe, expect, it } from 'vitest';
import {
  agentEnabled,
  agentUnavailable,
  guestConfigSummary,
  haStatusOf,
  interfacesOf,
  observedStep,
  rrdStep,
  sizeBytes,
  snapshotsOf,
  taskOf,
} from './guest-reads.js';
import { pveHttpError } from './pve-errors.js';
import { GUEST_RRD_COLUMNS } from '@molten/contracts';
import { agentInterfaces, envelope, guestConfig, haStatusRow, lxcInterfaces, rrdPoints, snapshotRow, taskListRow } from './pve-schemas.js';

// Shapes as Proxmox sends them (pve-docs apidata.js; qemu-server, pve-container, pve-ha-manager).
const qemuConfig = {
  agent: 'enabled=1,fstrim_cloned_disks=1',
  args: '-smbios type=0,vendor=ACME,serial=very-secret-serial',
  balloon: 2048,
  bios: 'ovmf',
  boot: 'order=scsi0;ide2;net0',
  cipassword: '**********',
  ciuser: 'ops-admin',
  cores: 2,
  cpu: 'x86-64-v2-AES,flags=+aes',
  description: 'Admin password: hunter2',
  digest: '1ac0a42d3ead982a5631ee77a9444b44e5ff5456',
  efidisk0: 'local-lvm:vm-100-disk-1,efitype=4m,size=4M',
  hookscript: 'local:snippets/hook.pl',
  ide2: 'local-lvm:vm-100-cloudinit,media=cdrom',
  ide0: 'local:iso/debian-12.iso,media=cdrom,size=629M',
  ipconfig0: 'ip=192.168.1.50/24,gw=192.168.1.1',
  machine: 'q35',
  memory: '4096',
  name: 'web01',
  net0: 'virtio=BC:24:11:AA:BB:01,bridge=vmbr0,firewall=1',
  net1: 'e1000=BC:24:11:AA:BB:02,bridge=vmbr1,tag=20,link_down=1',
  numa: 0,
  onboot: 1,
  ostype: 'l26',
  parent: 'before-upgrade',
  scsi0: 'local-lvm:vm-100-disk-0,iothread=1,size=32G',
  scsi1: 'iscsi://chap-user:chap-secret@10.0.0.5/iqn.2003-01.org.linux-iscsi:tgt/0,size=100G',
  scsihw: 'virtio-scsi-single',
  sockets: 2,
  sshkeys: 'ssh-ed25519%20AAAAC3Nza%20admin%40homelab',
  tags: 'web;prod',
};

const lxcConfig = {
  arch: 'amd64',
  cores: 2,
  digest: 'abc',
  env: 'DB_PASSWORD=s3cr3t\0API_TOKEN=tok-123',
  hostname: 'vaultwarden',
  lock: 'backup',
  memory: 1024,
  mp0: 'local-lvm:vm-302-disk-1,mp=/data,size=8G',
  net0: 'name=eth0,bridge=vmbr0,firewall=1,gw=192.168.1.1,hwaddr=BC:24:11:B3:E2:BB,ip=192.168.1.120/24,ip6=dhcp,type=veth',
  ostype: 'debian',
  rootfs: 'local-lvm:vm-302-disk-0,size=4G',
  swap: 256,
  unprivileged: 1,
};

describe('guest config summary', () => {
  it('qemu: sizes, devices, boot order, agent, cloud-init; no secret-bearing key read', () => {
    const c = guestConfigSummary({ vmid: 100, node: 'pve1', type: 'qemu' }, guestConfig.parse(qemuConfig));
    expect(c).toMatchObject({
      vmid: 100, node: 'pve1', type: 'qemu', name: 'web01', ostype: 'l26', cores: 2, sockets: 2, vcpus: 4, cpuType: 'x86-64-v2-AES',
      memoryMib: 4096, balloonMib: 2048, bootOrder: ['scsi0', 'ide2', 'net0'], agentEnabled: true, bios: 'ovmf', machine: 'q35',
      onboot: true, cloudInit: true, parent: 'before-upgrade', digest: qemuConfig.digest, tags: ['web', 'prod'], template: false,
    });
    expect(c.disks).toEqual([
      { key: 'efidisk0', kind: 'efidisk', storage: 'local-lvm', volume: 'local-lvm:vm-100-disk-1', sizeBytes: 4 * 1024 ** 2, mountpoint: '' },
      { key: 'ide0', kind: 'cdrom', storage: 'local', volume: 'local:iso/debian-12.iso', sizeBytes: 629 * 1024 ** 2, mountpoint: '' },
      { key: 'ide2', kind: 'cloudinit', storage: 'local-lvm', volume: 'local-lvm:vm-100-cloudinit', sizeBytes: 0, mountpoint: '' },
      { key: 'scsi0', kind: 'disk', storage: 'local-lvm', volume: 'local-lvm:vm-100-disk-0', sizeBytes: 32 * 1024 ** 3, mountpoint: '' },
      { key: 'scsi1', kind: 'disk', storage: '', volume: 'iscsi://10.0.0.5/iqn.2003-01.org.linux-iscsi:tgt/0', sizeBytes: 100 * 1024 ** 3, mountpoint: '' },
    ]);
    expect(c.nics).toEqual([
      { key: 'net0', model: 'virtio', mac: 'BC:24:11:AA:BB:01', bridge: 'vmbr0', vlanTag: 0, firewall: true, linkDown: false, name: '', ip: '192.168.1.50/24', ip6: '', gateway: '192.168.1.1' },
      { key: 'net1', model: 'e1000', mac: 'BC:24:11:AA:BB:02', bridge: 'vmbr1', vlanTag: 20, firewall: false, linkDown: true, name: '', ip: '', ip6: '', gateway: '' },
    ]);
    const text = JSON.stringify(c);
    for (const secret of ['hunter2', 'very-secret-serial', '**********', 'chap-secret', 'chap-user', 'ssh-ed25519', 'hook.pl', 'ciuser', 'ops-admin']) expect(text).not.toContain(secret);
  });

  it('lxc: hostname, rootfs and mount points, veth with its own addresses; env never read', () => {
    const c = guestConfigSummary({ vmid: 302, node: 'pve3', type: 'lxc' }, guestConfig.parse(lxcConfig));
    expect(c).toMatchObject({ name: 'vaultwarden', cores: 2, sockets: 1, vcpus: 2, memoryMib: 1024, swapMib: 256, unprivileged: true, arch: 'amd64', lock: 'backup', bootOrder: [] });
    expect(c.balloonMib).toBeUndefined();
    expect(c.disks).toEqual([
      { key: 'mp0', kind: 'mountpoint', storage: 'local-lvm', volume: 'local-lvm:vm-302-disk-1', sizeBytes: 8 * 1024 ** 3, mountpoint: '/data' },
      { key: 'rootfs', kind: 'rootfs', storage: 'local-lvm', volume: 'local-lvm:vm-302-disk-0', sizeBytes: 4 * 1024 ** 3, mountpoint: '/' },
    ]);
    expect(c.nics[0]).toEqual({ key: 'net0', model: 'veth', mac: 'BC:24:11:B3:E2:BB', bridge: 'vmbr0', vlanTag: 0, firewall: true, linkDown: false, name: 'eth0', ip: '192.168.1.120/24', ip6: 'dhcp', gateway: '192.168.1.1' });
    expect(JSON.stringify(c)).not.toMatch(/s3cr3t|tok-123|PASSWORD|TOKEN/);
  });

  it('defaults for omitted keys, PVE 8 integers, legacy boot, agent forms', () => {
    const c = guestConfigSummary({ vmid: 101, node: 'n', type: 'qemu' }, guestConfig.parse({ memory: 2048, boot: 'cdn', bootdisk: 'virtio0', balloon: 0 }));
    expect(c).toMatchObject({ cores: 1, sockets: 1, vcpus: 1, memoryMib: 2048, balloonMib: 0, ostype: 'other', bios: 'seabios', bootOrder: ['virtio0', 'cdrom', 'network'], agentEnabled: false });
    expect(guestConfigSummary({ vmid: 101, node: 'n', type: 'qemu' }, { memory: 'current=3072' }).memoryMib).toBe(3072);
    expect(guestConfigSummary({ vmid: 101, node: 'n', type: 'qemu' }, {}).memoryMib).toBe(512);
    expect([agentEnabled('1'), agentEnabled(1), agentEnabled('0'), agentEnabled('enabled=0,type=isa'), agentEnabled(undefined), agentEnabled('enabled=1')]).toEqual([true, true, false, false, false, true]);
    expect([sizeBytes('32G'), sizeBytes('709474K'), sizeBytes('1T'), sizeBytes(undefined), sizeBytes('big')]).toEqual([32 * 1024 ** 3, 709474 * 1024, 1024 ** 4, 0, 0]);
  });
});

describe('history', () => {
  it('keeps a gap a gap: columns Proxmox left out stay unset, never 0', () => {
    const points = envelope(rrdPoints(GUEST_RRD_COLUMNS)).parse({
      data: [
        { time: 1796282520 }, // the guest did not exist
        { time: 1796282580, maxcpu: 4, maxmem: 6442450944, maxdisk: 34359738368, disk: 0 }, // stopped
        { time: 1796282640, maxcpu: 4, cpu: 0.0123, mem: 1.5e9, netin: 1234.5, diskwrite: '42.5', pressurecpusome: 0.1, bogus: 'x' },
      ],
    }).data;
    expect(points[0]).toEqual({ time: 1796282520 });
    expect(points[1]).toEqual({ time: 1796282580, maxcpu: 4, maxmem: 6442450944, maxdisk: 34359738368, disk: 0 });
    expect(points[1]).not.toHaveProperty('cpu');
    expect(points[2]).toEqual({ time: 1796282640, maxcpu: 4, cpu: 0.0123, mem: 1.5e9, netin: 1234.5, diskwrite: 42.5 });
    const guestPoints = rrdPoints(GUEST_RRD_COLUMNS);
    const bad = guestPoints.safeParse([{ time: 1 }, { cpu: 1 }]);
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]).toMatchObject({ path: [1], message: 'rrddata point without time' });
    expect(guestPoints.safeParse([{ time: 1 }, 'x']).error!.issues[0]!.message).toBe('rrddata point is not an object');
    expect(guestPoints.safeParse({ time: 1 }).success).toBe(false);
    expect(guestPoints.parse([{ time: 5.7, cpu: 'NaN', mem: Infinity, netin: '1e3' }])).toEqual([{ time: 5, netin: 1000 }]);
  });

  it('knows Proxmox\'s steps, and prefers the step the answer shows', () => {
    expect(['hour', 'day', 'week', 'month', 'year'].map((t) => rrdStep(t, 9))).toEqual([60, 60, 1800, 1800, 21_600]);
    expect(['hour', 'day', 'week', 'month', 'year'].map((t) => rrdStep(t, 8))).toEqual([60, 1800, 10_800, 43_200, 604_800]);
    expect(observedStep([{ time: 0 }, { time: 1800 }, { time: 3600 }], 'day', 9)).toBe(1800); // an upgraded cluster's old file
    expect(observedStep([{ time: 0 }], 'week', 9)).toBe(1800);
  });
});

describe('addresses, tasks, snapshots, HA', () => {
  it('agent and container interfaces become one shape (inet/inet6 → ipv4/ipv6)', () => {
    const agent = agentInterfaces.parse({
      result: [{ name: 'ens18', 'hardware-address': 'bc:24:11:aa:bb:01', 'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '192.168.1.5', prefix: 24 }], statistics: { 'rx-bytes': 1 } }, { name: 'docker0' }],
    });
    expect(interfacesOf(agent.result)).toEqual([
      { name: 'ens18', mac: 'bc:24:11:aa:bb:01', addresses: [{ address: '192.168.1.5', family: 'ipv4', prefix: 24 }] },
      { name: 'docker0', mac: '', addresses: [] },
    ]);
    const ct = lxcInterfaces.parse([{ name: 'eth0', hwaddr: 'bc:24:11:00:00:01', 'hardware-address': 'bc:24:11:00:00:01', inet: '10.0.0.2/24', 'ip-addresses': [{ 'ip-address-type': 'inet6', 'ip-address': 'fe80::1', prefix: 64 }] }]);
    expect(interfacesOf(ct!)[0]!.addresses).toEqual([{ address: 'fe80::1', family: 'ipv6', prefix: 64 }]);
    expect(lxcInterfaces.parse(null)).toBeNull();
  });

  it('reads qemu-server\'s refusals of the agent as answers with what to do', () => {
    expect(agentUnavailable(101, 'QEMU guest agent is not running')).toMatchObject({ unavailable: 'agent_not_running', message: expect.stringContaining('qemu-guest-agent') });
    expect(agentUnavailable(101, 'No QEMU guest agent configured')).toMatchObject({ unavailable: 'agent_not_configured', message: expect.stringContaining('qm set 101 --agent 1') });
    expect(agentUnavailable(101, 'VM 101 is not running')).toMatchObject({ unavailable: 'guest_stopped' });
    expect(agentUnavailable(101, 'some other failure')).toBeUndefined();
  });

  it('tasks: a token\'s user and tokenid joined again, running ones marked, status types', () => {
    const rows = envelope(taskListRow.array()).parse({
      data: [
        { upid: 'UPID:pve1:0000A1B2:0000C3D4:6650F00D:qmsnapshot:101:root@pam!molten:', node: 'pve1', pid: 41394, pstart: 50132, starttime: 1716580365, type: 'qmsnapshot', id: '101', user: 'root@pam', tokenid: 'molten', status: 'RUNNING' },
        { upid: 'UPID:pve1:0000A1B0:0000C3D0:6650E00D:vzdump:101:root@pam:', node: 'pve1', pid: 1, pstart: 2, starttime: 1716576269, endtime: 1716576300, type: 'vzdump', id: '101', user: 'root@pam', status: 'WARNINGS: 1' },
        { upid: 'UPID:pve1:0000A1AF:0000C3CF:6650D00D:qmshutdown:101:alice@pve:', node: 'pve1', pid: 1, pstart: 2, starttime: 1716572173, endtime: 1716572353, type: 'qmshutdown', id: '101', user: 'alice@pve', status: 'VM quit/powerdown failed - got timeout' },
      ],
    }).data;
    const tasks = rows.map((r) => taskOf(r as Parameters<typeof taskOf>[0]));
    expect(tasks[0]).toMatchObject({ user: 'root@pam!molten', status: 'running', statusType: 'running' });
    expect(tasks[0]!.endtime).toBeUndefined();
    expect(tasks[1]).toMatchObject({ user: 'root@pam', status: 'WARNINGS: 1', statusType: 'warning', endtime: 1716576300 });
    expect(tasks[2]).toMatchObject({ user: 'alice@pve', statusType: 'error' });
  });

  it('snapshots: oldest first, without the `current` entry, whose parent and running state are kept', () => {
    const rows = envelope(snapshotRow.array()).parse({
      data: [
        { name: 'current', digest: 'x', running: 1, description: 'You are here!', parent: 'b' },
        { name: 'b', snaptime: 200, description: 'second', vmstate: 1, parent: 'a' },
        { name: 'a', snaptime: 100, description: 'first', vmstate: 0 },
        { name: 'c', snaptime: 300, description: '', snapstate: 'prepare', parent: 'b' },
      ],
    }).data;
    expect(snapshotsOf(101, rows)).toEqual({
      vmid: 101,
      currentParent: 'b',
      running: true,
      snapshots: [
        { name: 'a', snaptime: 100, description: 'first', parent: '', vmstate: false, snapstate: '' },
        { name: 'b', snaptime: 200, description: 'second', parent: 'a', vmstate: true, snapstate: '' },
        { name: 'c', snaptime: 300, description: '', parent: 'b', vmstate: false, snapstate: 'prepare' },
      ],
    });
  });

  it('HA: the cluster-wide entries and one guest\'s resource', () => {
    const rows = envelope(haStatusRow.array()).parse({
      data: [
        { id: 'quorum', type: 'quorum', node: 'pve1', status: 'OK', quorate: 1 },
        { id: 'master', type: 'master', node: 'pve1', status: 'pve1 (active, Thu May 21 10:00:00 2026)', timestamp: 1779357600 },
        { id: 'service:vm:101', type: 'service', sid: 'vm:101', node: 'pve1', crm_state: 'started', state: 'started', request_state: 'started', max_restart: 1, max_relocate: 1, status: 'vm:101 (pve1, started)' },
        { id: 'service:ct:100', type: 'service', sid: 'ct:100', node: 'pve2', crm_state: 'stopped', state: 'stopped', request_state: 'stopped', status: 'ct:100 (pve2, stopped)' },
      ],
    }).data;
    const one = haStatusOf(rows, 101);
    expect(one.managed).toBe(true);
    expect(one.entries.map((e) => e.id)).toEqual(['quorum', 'master', 'service:vm:101']);
    expect(one.entries[0]).toMatchObject({ quorate: true });
    expect(one.entries[2]).toMatchObject({ vmid: 101, crmState: 'started', requestState: 'started', maxRestart: 1 });
    expect(haStatusOf(rows, 999).managed).toBe(false);
    expect(haStatusOf(rows).entries).toHaveLength(4);
  });
});

describe('403s', () => {
  it('names the first of "any of" privileges and what it is for', () => {
    const e = pveHttpError(403, 'Permission check failed (/vms/110, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)');
    expect(e).toMatchObject({ code: 'forbidden', privilege: 'VM.GuestAgent.Audit', status: 403 });
    expect(e.message).toBe('the API token lacks VM.GuestAgent.Audit (or VM.GuestAgent.Unrestricted) on /vms/110 (Permission check failed (/vms/110, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted))');
    expect(e.remedy).toContain("reading a VM's addresses from its guest agent");
    expect(e.remedy).toContain('pveum role modify MoltenOperator -append 1 -privs VM.GuestAgent.Audit');
    expect(e.remedy).toContain('VM.Monitor');
    const snap = pveHttpError(403, 'Permission check failed (/vms/304, VM.Snapshot)');
    expect(snap).toMatchObject({ privilege: 'VM.Snapshot' });
    expect(snap.remedy).toContain('taking and deleting snapshots');
  });
});
