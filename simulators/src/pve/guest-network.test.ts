import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PveSimulator } from './index.js';
import { pveClient, startTestSimulator, type Client } from '../../test/pve-client.js';

type Row = Record<string, any>;

/** The guest agent's interfaces and a container's (guest-network.ts). */
describe('guest addresses', () => {
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

  it('an agent switched off in the config (agent: 0), or a paused VM, reads as not running', async () => {
    sim.addGuest({ vmid: 901, type: 'qemu', node: 'pve1', name: 'agent-off', status: 'running', agent: false });
    expect((await c.get('/nodes/pve1/qemu/901/config')).body.data.agent).toBe('0');
    const off = await c.get('/nodes/pve1/qemu/901/agent/network-get-interfaces');
    expect([off.status, off.statusText]).toEqual([500, 'QEMU guest agent is not running']);
    sim.removeGuest(901);
    sim.setStatus(110, 'paused');
    expect((await c.get('/nodes/pve1/qemu/110/agent/network-get-interfaces')).statusText).toBe('QEMU guest agent is not running');
    sim.setStatus(110, 'running');
  });
});
