import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatePublisher, busHeaders, connectBus, encodeBus, type Bus } from '@molten/bus';
import { encodeMessage, subjects, type Guest } from '@molten/contracts';
import { NatsServer, capturingLogger, testLogger, waitFor } from '@molten/testkit';
import { apiFixture } from '../test/api-fixture.js';

const guest = (vmid: number, over: Partial<Guest> = {}): Guest => ({
  cluster: 'homelab', vmid, name: `vm${vmid}`, node: 'pve1', type: 'qemu', status: 'running', qmpstatus: 'running',
  cpu: 0.1, maxcpu: 2, mem: 1, maxmem: 2, disk: 0, maxdisk: 10, uptime: 100, tags: ['web'], template: false,
  netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [], ...over,
});

const serverAt = { domain: 'proxmox', scope: 'homelab', kind: 'server', id: 'pve-evil' };
const storageAt = { domain: 'proxmox', scope: 'homelab', kind: 'storage', id: 'pve1/evil' };
const GARBAGE_ID = '01JGARBAGE0000000000000000';

/** Issue 14: the api must not trust what it reads from the bus (events stream and KV buckets alike). */
describe('what the api reads from the bus', () => {
  let nats: NatsServer;
  let bus: Bus;
  beforeAll(async () => {
    nats = await NatsServer.start();
    bus = await connectBus({ servers: nats.url, name: 'mallory', log: testLogger() });
  });
  afterAll(async () => {
    await bus?.close();
    await nats?.dispose();
  });

  const reads = async (fx: Awaited<ReturnType<typeof apiFixture>>) => {
    for (const p of ['/api/servers', '/api/storage', '/api/vms', '/api/nodes', '/api/commands', `/api/commands/${GARBAGE_ID}`]) {
      const r = await fx.json(p);
      expect(r.status, `${p}: ${JSON.stringify(r.body)}`).toBeLessThan(500);
    }
  };

  it('logs and skips a message whose molten-type does not fit its subject, live and on hydration; a garbage command record is not a 500', async () => {
    const cap = capturingLogger('api', 'warn');
    const fx = await apiFixture({}, nats, cap.log);
    try {
      const publisher = new StatePublisher(bus, 'proxmox', 'homelab');
      // Live: a Guest on a server's and on a storage's state subject, with its true molten-type header.
      for (const at of [serverAt, storageAt]) {
        const { data, headers } = encodeBus('molten.v1.Guest', guest(666));
        bus.nc.publish(subjects.state(at), data, { headers });
      }
      // And a server whose bytes are garbage though its header says UpstreamServer.
      bus.nc.publish(subjects.state({ ...serverAt, id: 'pve-garbage' }), new Uint8Array([0xff, 0xff, 0xff, 0x0f, 0x08]), { headers: busHeaders('molten.v1.UpstreamServer') });
      // A sentinel after them: once it is seen, they were read.
      await publisher.put('qemu', '101', guest(101));
      await waitFor(async () => (await fx.json('/api/vms')).body.data?.some((g: Guest) => g.vmid === 101), { message: 'sentinel seen' });
      await reads(fx);
      expect((await fx.json('/api/servers')).body.data.map((s: { id: string }) => s.id)).not.toContain('pve-evil');
      await waitFor(() => cap.lines.filter((l) => String(l.subject ?? '').startsWith('molten.state.proxmox.homelab.')).length >= 3, { message: 'each bad message logged' });
      expect(cap.lines.find((l) => l.subject === subjects.state(serverAt))).toMatchObject({ level: 'warn', reason: expect.stringMatching(/UpstreamServer.*Guest|Guest.*server/) });

      // Stored: a Guest under a server's and a storage's KV key, and a garbage command record.
      await bus.kv.state.put(subjects.stateKey(serverAt), encodeMessage('molten.v1.Guest', guest(667)));
      await bus.kv.state.put(subjects.stateKey(storageAt), encodeMessage('molten.v1.Guest', guest(668)));
      await bus.kv.commands.put(`cmd.${GARBAGE_ID}`, new Uint8Array([0x0a, 0x03, 0x01, 0x02, 0x03, 0x10, 0x63]));
      await reads(fx);
    } finally {
      await fx.dispose();
    }
    // After a restart, the same KV entries are hydrated.
    const again = capturingLogger('api', 'warn');
    const fx2 = await apiFixture({}, nats, again.log);
    try {
      await reads(fx2);
      expect((await fx2.json(`/api/commands/${GARBAGE_ID}`)).status).toBe(404);
      expect((await fx2.json('/api/servers')).body.data.map((s: { id: string }) => s.id)).not.toContain('pve-evil');
      expect(again.lines.some((l) => l.key === subjects.stateKey(serverAt))).toBe(true);
      expect(again.lines.some((l) => String(l.key ?? '') === `cmd.${GARBAGE_ID}`)).toBe(true);
    } finally {
      await fx2.dispose();
    }
  });
});
