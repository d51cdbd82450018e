import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatePublisher, connectBus, type Bus } from '@molten/bus';
import type { Guest } from '@molten/contracts';
import { testLogger, waitFor } from '@molten/testkit';
import { VIEWER, apiFixture, sseReader } from '../test/api-fixture.js';
import { JSON_PARTS_CHUNK } from './json-parts.js';

const guest = (cluster: string, vmid: number): Guest => ({
  cluster, vmid, name: `vm${vmid}-"ü"`, node: `pve${vmid % 3}`, type: 'qemu', status: vmid % 2 ? 'running' : 'stopped', qmpstatus: vmid % 2 ? 'running' : 'stopped',
  cpu: 0.1, maxcpu: 2, mem: 1, maxmem: 2, disk: 0, maxdisk: 10, uptime: vmid, tags: ['web'], template: false,
  netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [],
});

// More guests than a chunk in one cluster (the snapshot is written in several parts), fewer in another.
const CLUSTERS = { homelab: 2 * JSON_PARTS_CHUNK + 37, lab: 3 };

describe('GET /api/events snapshot written in parts', () => {
  let fx: Awaited<ReturnType<typeof apiFixture>>;
  let bus: Bus;

  beforeAll(async () => {
    fx = await apiFixture();
    bus = await connectBus({ servers: fx.nats.url, name: 'fake-adapter', log: testLogger() });
    for (const [cluster, n] of Object.entries(CLUSTERS)) {
      const publisher = new StatePublisher(bus, 'proxmox', cluster);
      for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, j) => publisher.put('qemu', String(100 + i + j), guest(cluster, 100 + i + j))));
    }
    for (const [cluster, n] of Object.entries(CLUSTERS))
      await waitFor(async () => (await fx.json(`/api/vms?cluster=${cluster}`)).body?.data?.length === n, { timeoutMs: 30_000, message: `every ${cluster} guest listed` });
  }, 60_000);
  afterAll(async () => {
    await bus.close();
    await fx.dispose();
  });

  it('holds every guest of every cluster, as /api/vms lists them, in one frame followed by the live frames', async () => {
    const sse = sseReader(await fx.call('/api/events', { token: VIEWER }));
    const snap = await waitFor(() => sse.events.find((e) => e.event === 'snapshot'), { message: 'the snapshot' });
    // Whole (sseReader parses each frame's data as JSON) and followed by the next frame.
    await waitFor(() => sse.events.some((e) => e.event === 'health'), { message: 'the health frame after the snapshot' });
    expect(sse.events.map((e) => e.event).slice(0, 2)).toEqual(['snapshot', 'health']);
    expect(snap.data.role).toBe('viewer');
    expect(Number(snap.id)).toBe(snap.data.seq);
    for (const [cluster, n] of Object.entries(CLUSTERS)) {
      const c = snap.data.clusters.find((x: { id: string }) => x.id === cluster);
      expect(c, cluster).toBeDefined();
      expect(c.guests).toHaveLength(n);
      const listed = (await fx.json(`/api/vms?cluster=${cluster}`)).body.data as { vmid: number; name: string; status: string; node: string }[];
      const pick = (g: { vmid: number; name: string; status: string; node: string }) => ({ vmid: g.vmid, name: g.name, status: g.status, node: g.node });
      expect(c.guests.map(pick)).toEqual(listed.map(pick));
      expect(new Set(c.guests.map((g: { vmid: number }) => g.vmid)).size).toBe(n);
    }
    sse.close();
  });
});
