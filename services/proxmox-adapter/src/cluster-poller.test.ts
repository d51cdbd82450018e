import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatePublisher, connectBus, type Bus } from '@molten/bus';
import type { Guest } from '@molten/contracts';
import { NatsServer, testLogger } from '@molten/testkit';
import { ClusterPoller } from './cluster-poller.js';
import type { ClusterDriver, ClusterRead } from './driver.js';
import { UpstreamHealthTracker } from './upstream-health.js';

const guest = (vmid: number): Guest => ({
  cluster: 'c', vmid, name: `g${vmid}`, node: 'n1', type: 'qemu', status: 'running', qmpstatus: 'running', cpu: 0, maxcpu: 1, mem: 0,
  maxmem: 1, disk: 0, maxdisk: 1, uptime: 1, tags: [], template: false, netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [],
});

/** A driver whose reads the test scripts. */
function scripted(completeReads: boolean, reads: number[][]): ClusterDriver {
  let i = 0;
  return {
    kind: completeReads ? 'proxmox-ve' : 'proxmox-mcp',
    endpoint: 'test',
    transport: 'test',
    completeReads,
    readResources: async (): Promise<ClusterRead> => ({ guests: (reads[Math.min(i++, reads.length - 1)] ?? []).map(guest), nodes: [], storage: [] }),
    readClusterStatus: async () => ({ name: 'c', standalone: false, quorate: true, version: 1, nodes: [] }),
    readGuest: async () => undefined,
    version: async () => 'test',
    capabilities: () => [],
    startPower: async () => '',
    followTask: async () => ({ result: 'ok', exitstatus: 'OK' }),
    findTask: async () => undefined,
    taskError: () => new Error('x') as never,
    close: async () => {},
  };
}

describe('cluster poller', () => {
  let nats: NatsServer;
  let bus: Bus;
  beforeAll(async () => {
    nats = await NatsServer.start();
    bus = await connectBus({ servers: nats.url, name: 'poller-test', log: testLogger() });
  });
  afterAll(async () => {
    await bus.close();
    await nats.dispose();
  });

  const poll = async (scope: string, driver: ClusterDriver, times: number) => {
    const publisher = new StatePublisher(bus, 'proxmox', scope);
    const health = new UpstreamHealthTracker({ id: 'x', name: 'x', kind: 'proxmox-ve', scope, endpoint: 'x', transport: 'x', demo: false, reporter: 'r', pollMs: 1000 }, () => []);
    const poller = new ClusterPoller({ cluster: scope, driver, publisher, health, log: testLogger(), pollMs: 1000, demo: false });
    const seen: string[][] = [];
    for (let i = 0; i < times; i++) {
      await poller.pollOnce();
      seen.push((await publisher.keys('qemu')).sort());
    }
    return seen;
  };

  it('removes a guest at once when the driver reads the whole cluster in one answer', async () => {
    const seen = await poll('complete', scripted(true, [[100, 101], [100], [100]]), 3);
    expect(seen).toEqual([['proxmox.complete.qemu.100', 'proxmox.complete.qemu.101'], ['proxmox.complete.qemu.100'], ['proxmox.complete.qemu.100']]);
  });

  it('waits for a second read before removing a guest a partial reader lost', async () => {
    const both = ['proxmox.partial.qemu.100', 'proxmox.partial.qemu.101'];
    // 101 vanishes for one read (a node the upstream could not scan), comes back, then is gone for good.
    const seen = await poll('partial', scripted(false, [[100, 101], [100], [100, 101], [100], [100]]), 5);
    expect(seen).toEqual([both, both, both, both, ['proxmox.partial.qemu.100']]);
  });
});
