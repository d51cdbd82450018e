import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatePublisher, connectBus, type Bus } from '@molten/bus';
import { ServerStatus, type Guest } from '@molten/contracts';
import { DEMO_TOKEN, type PveSimulator } from '@molten/simulators/pve';
import { NatsServer, capturingLogger, testLogger, waitFor } from '@molten/testkit';
import { startTestSimulator } from '../../../simulators/test/pve-client.js';
import { ClusterPoller } from './cluster-poller.js';
import type { ClusterDriver, ClusterRead } from './driver.js';
import { PveDriver } from './pve/pve-driver.js';
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

describe('cluster poller pace, against the Proxmox VE simulator', () => {
  let nats: NatsServer;
  let bus: Bus;
  let sim: PveSimulator;
  let driver: PveDriver;
  beforeAll(async () => {
    [nats, sim] = await Promise.all([NatsServer.start(), startTestSimulator()]);
    bus = await connectBus({ servers: nats.url, name: 'poller-pace-test', log: testLogger() });
    driver = new PveDriver('pace', { url: sim.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, tls: { caFile: sim.caFile } });
  });
  afterAll(async () => {
    await driver.close();
    await bus.close();
    await sim.close();
    await nats.dispose();
  });

  const poller = (scope: string, pollMs: number) => {
    const health = new UpstreamHealthTracker({ id: scope, name: scope, kind: 'proxmox-ve', scope, endpoint: sim.url, transport: 'https', demo: false, reporter: 'r', pollMs }, () => []);
    const p = new ClusterPoller({ cluster: scope, driver, publisher: new StatePublisher(bus, 'proxmox', scope), health, log: testLogger(), pollMs, demo: false });
    return { poller: p, health };
  };
  const reads = () => sim.requests.filter((r) => r.path === '/cluster/resources').map((r) => r.at);

  it('backs off while Proxmox fails or answers slowly, reports the interval in force, and is back to the configured one when it answers promptly', async () => {
    const { poller: p, health } = poller('backoff', 1000);
    await p.pollOnce();
    expect(health.id.pollMs).toBe(1000);
    sim.failNextRequest({ path: '/cluster/resources' }, 500, 'proxy busy', { times: 3 });
    const backingOff = [];
    for (let i = 0; i < 3; i++) {
      await p.pollOnce();
      backingOff.push(health.id.pollMs);
    }
    expect(backingOff).toEqual([1000, 2000, 4000]);
    await p.pollOnce();
    expect(health.status).toBe(ServerStatus.SERVER_STATUS_CONNECTED);
    expect(health.id.pollMs).toBe(1000);

    // A slow answer: read no more often than twice its (smoothed) time.
    sim.setLatency(2400, { path: '/cluster/resources' });
    await p.pollOnce();
    sim.setLatency(0);
    expect(health.status).toBe(ServerStatus.SERVER_STATUS_CONNECTED);
    expect(health.id.pollMs).toBeGreaterThanOrEqual(2400);
    for (let i = 0; i < 10 && health.id.pollMs > 1000; i++) await p.pollOnce();
    expect(health.id.pollMs).toBe(1000);
  });

  it('reads a Proxmox that refuses connections at the interval, and says so once', async () => {
    const { log, lines } = capturingLogger('poller');
    const health = new UpstreamHealthTracker({ id: 'refused', name: 'refused', kind: 'proxmox-ve', scope: 'refused', endpoint: sim.url, transport: 'https', demo: false, reporter: 'r', pollMs: 1000 }, () => []);
    const p = new ClusterPoller({ cluster: 'refused', driver, publisher: new StatePublisher(bus, 'proxmox', 'refused'), health, log, pollMs: 1000, demo: false });
    await p.pollOnce();
    await sim.stop();
    try {
      for (let i = 0; i < 4; i++) {
        await p.pollOnce();
        // Reading again costs a Proxmox that is not there nothing: no backing off.
        expect(health.id.pollMs).toBe(1000);
      }
      expect(health.status).toBe(ServerStatus.SERVER_STATUS_DOWN);
      // Said once per reason in a row: the connection cut as it stopped, then refused (three reads).
      const said = lines.filter((l) => l.msg === 'poll failed').map((l) => String(l.reason));
      expect(said.filter((r) => r.includes('ECONNREFUSED'))).toHaveLength(1);
      expect(new Set(said).size).toBe(said.length);
    } finally {
      await sim.start();
    }
    await p.pollOnce();
    expect(health.status).toBe(ServerStatus.SERVER_STATUS_CONNECTED);
  });

  it('reads faster while a command runs, and at the configured interval again once it ended', async () => {
    const { poller: p } = poller('fast', 3000);
    sim.clearRequests();
    p.start();
    try {
      await waitFor(() => reads().length >= 1, { timeoutMs: 10_000, message: 'the first read' });
      const ended = p.commandStarted();
      // At the configured 3 s, three more reads would take 9 s; a command in flight reads every 750 ms.
      await waitFor(() => reads().length >= 4, { timeoutMs: 20_000, message: 'three reads with the command in flight' });
      ended();
      const during = reads();
      const gaps = during.slice(1, 4).map((at, i) => at - during[i]!);
      expect(gaps.every((g) => g < 2_000), `gaps while the command ran: ${gaps.join(', ')} ms`).toBe(true);
      const n = reads().length;
      await waitFor(() => reads().length >= n + 2, { timeoutMs: 20_000, message: 'two reads after the command' });
      const after = reads();
      // A timer never fires early: reads a whole interval apart again (less what the two requests' arrivals differ).
      expect(after[n + 1]! - after[n]!).toBeGreaterThanOrEqual(2_500);
    } finally {
      await p.stop();
    }
  });
});
