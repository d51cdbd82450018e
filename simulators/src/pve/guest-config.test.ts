import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PveSimulator } from './index.js';
import { pveClient, startTestSimulator, type Client } from '../../test/pve-client.js';


/** GET …/config as qemu-server and pve-container return it (guest-config.ts). */
describe('guest config', () => {
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

});
