import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClusterModel, type Guest, type GuestType } from './cluster-model.js';
import { demoCluster, generatedCluster } from './presets.js';
import { createRng, type Rng } from './rng.js';
import { NodeMetrics } from './node-metrics.js';
import { Rrd, type Dump, type NodeStats, type StorageStats, type VmStats } from './rrd.js';

describe('broadcast status (pvestatd → pmxcfs)', () => {
  const setup = (opts: { intervalMs: number; expireMs: number }) => {
    const model = new ClusterModel(demoCluster(), createRng(1));
    return { model, rrd: new Rrd(model, new NodeMetrics(model), opts) };
  };

  it('with an interval, serves the last broadcast until the next one', () => {
    const { model, rrd } = setup({ intervalMs: 10_000, expireMs: 300_000 });
    model.powerOn(model.guest(304)!);
    expect(rrd.dump().vms.get(304)?.status).toBe('stopped');
    rrd.broadcast();
    expect(rrd.dump().vms.get(304)?.status).toBe('running');
  });

  it('live (interval 0): every read reflects the model', () => {
    const { model, rrd } = setup({ intervalMs: 0, expireMs: 300_000 });
    model.powerOn(model.guest(304)!);
    expect(rrd.dump().vms.get(304)?.status).toBe('running');
  });

  it('an offline node stops broadcasting; its entries freeze, then expire', () => {
    const { model, rrd } = setup({ intervalMs: 0, expireMs: 60_000 });
    const t0 = Date.now();
    rrd.dump(t0);
    model.setNodeOnline('pve3', false);
    model.powerOff(model.guest(300)!);
    const frozen = rrd.dump(t0 + 30_000);
    expect(frozen.vms.get(300)?.status).toBe('running');
    expect(frozen.nodes.has('pve3')).toBe(true);
    const expired = rrd.dump(t0 + 61_000);
    expect(expired.vms.has(300)).toBe(false);
    expect(expired.nodes.has('pve3')).toBe(false);
    expect(expired.storage.has('pve3/local')).toBe(false);
    expect(expired.vms.get(100)?.status).toBe('running');
  });

  it('never expires what online nodes broadcast, however short the expiry', () => {
    const { rrd } = setup({ intervalMs: 10_000, expireMs: 0 });
    expect(rrd.dump(Date.now() + 60_000).vms.get(100)?.status).toBe('running');
  });

  it('reports paused VMs as paused, like pvestatd writing the QMP status', () => {
    const { rrd } = setup({ intervalMs: 0, expireMs: 300_000 });
    expect(rrd.dump().vms.get(303)?.status).toBe('paused');
  });

  it('a dump handed out stays as it was: broadcasts and expiry give later readers a new one', () => {
    const { model, rrd } = setup({ intervalMs: 0, expireMs: 60_000 });
    const t0 = Date.now();
    const first = rrd.dump(t0);
    model.powerOn(model.guest(304)!);
    const second = rrd.dump(t0);
    expect(second.vms.get(304)?.status).toBe('running');
    expect(first.vms.get(304)?.status).toBe('stopped');
    model.setNodeOnline('pve3', false);
    const beforeExpiry = rrd.dump(t0 + 30_000);
    const afterExpiry = rrd.dump(t0 + 61_000);
    expect(afterExpiry.vms.has(300)).toBe(false);
    expect(beforeExpiry.vms.has(300)).toBe(true);
    expect(beforeExpiry.nodes.has('pve3')).toBe(true);
  });
});

/**
 * The broadcast as it was before it became incremental: every online node rebroadcasts every
 * guest, copying the maps each time. The reference the incremental one must match exactly.
 */
class FullRebroadcast {
  vms = new Map<number, VmStats>();
  nodes = new Map<string, NodeStats>();
  storage = new Map<string, StorageStats>();
  #liveStamp = '';

  constructor(
    private readonly model: ClusterModel,
    private readonly metrics: NodeMetrics,
    private readonly opts: { intervalMs: number; expireMs: number },
  ) {
    this.broadcast();
  }

  broadcast(now = Date.now()): void {
    const [vms, nodes, storage] = [new Map(this.vms), new Map(this.nodes), new Map(this.storage)];
    for (const node of this.model.nodes()) {
      if (!node.online) continue;
      nodes.set(node.name, this.metrics.nodeStats(node, now));
      for (const g of this.model.guestsOn(node.name)) vms.set(g.vmid, this.#vmStats(g, now));
      for (const s of this.model.storages) {
        const usage = this.metrics.storageUsage(s.storage, node.name);
        storage.set(`${node.name}/${s.storage}`, { time: now, node: node.name, maxdisk: usage.total, disk: usage.used });
      }
    }
    [this.vms, this.nodes, this.storage] = [vms, nodes, storage];
  }

  dump(now = Date.now()): { vms: ReadonlyMap<number, VmStats>; nodes: ReadonlyMap<string, NodeStats>; storage: ReadonlyMap<string, StorageStats> } {
    if (this.opts.intervalMs === 0) {
      const stamp = `${this.model.version}:${Math.floor(now / 1000)}`;
      if (stamp !== this.#liveStamp) {
        this.broadcast(now);
        this.#liveStamp = stamp;
      }
    }
    const oldest = now - this.opts.expireMs;
    const expired = (e: { time: number; node: string }) => e.time <= oldest && !this.model.node(e.node)?.online;
    const without = <K, V extends { time: number; node: string }>(m: Map<K, V>) => {
      const copy = new Map([...m].filter(([, v]) => !expired(v)));
      return copy.size === m.size ? m : copy;
    };
    [this.vms, this.nodes, this.storage] = [without(this.vms), without(this.nodes), without(this.storage)];
    return { vms: this.vms, nodes: this.nodes, storage: this.storage };
  }

  #vmStats(g: Guest, now: number): VmStats {
    const running = g.running;
    return {
      time: now,
      node: g.node,
      uptime: this.model.uptimeOf(g, now),
      name: g.name,
      status: !running ? 'stopped' : g.type === 'qemu' && g.paused ? 'paused' : 'running',
      template: g.template ? 1 : 0,
      maxcpu: g.cpus,
      cpu: running ? g.cpu : 0,
      maxmem: g.maxmem,
      mem: running ? g.mem : 0,
      maxdisk: g.maxdisk,
      disk: g.type === 'lxc' && running ? g.diskUsed : 0,
      netin: g.netin,
      netout: g.netout,
      diskread: g.diskread,
      diskwrite: g.diskwrite,
      memhost: running ? g.mem : 0,
    };
  }
}

/** A random change to the cluster, of the kinds the simulator makes. */
function randomChange(model: ClusterModel, rng: Rng, now: number): void {
  const guests = [...model.guests()];
  const g = guests.length ? rng.pick(guests) : undefined;
  const roll = rng.next();
  if (g && roll < 0.2) {
    if (g.running) model.powerOff(g);
    else if (!g.template) model.powerOn(g, now);
  } else if (g && roll < 0.3) {
    if (g.running && g.type === 'qemu') model.setPaused(g, !g.paused);
  } else if (g && roll < 0.45) {
    model.setLoad(g, rng.next(), g.maxmem * rng.next());
  } else if (g && roll < 0.6) {
    model.addTraffic(g, { netin: rng.int(0, 1e6), netout: rng.int(0, 1e6), diskread: rng.int(0, 1e6), diskwrite: rng.int(0, 1e6) });
  } else if (g && roll < 0.65) {
    model.setLock(g, g.lock ? undefined : 'backup');
  } else if (g && roll < 0.72) {
    model.removeGuest(g.vmid);
  } else if (roll < 0.82) {
    // New guests, some on vmids just removed (maybe on another node), some on silent nodes.
    const vmid = rng.int(100, 100 + guests.length + 10);
    if (model.guest(vmid)) return;
    const type: GuestType = rng.chance(0.5) ? 'qemu' : 'lxc';
    const status = rng.chance(0.3) ? 'stopped' : type === 'qemu' && rng.chance(0.2) ? 'paused' : 'running';
    model.addGuest({ vmid, type, node: rng.pick(model.nodeNames), status });
  } else if (roll < 0.9) {
    const node = model.node(rng.pick(model.nodeNames))!;
    model.setNodeOnline(node.name, !node.online);
  }
}

function expectSameDump(got: Dump, want: ReturnType<FullRebroadcast['dump']>, where: string): void {
  expect([...got.vms.keys()].sort(), where).toEqual([...want.vms.keys()].sort());
  expect(got.vms.size, where).toBe(want.vms.size);
  for (const vmid of want.vms.keys()) {
    expect(got.vms.has(vmid), where).toBe(true);
    expect(got.vms.get(vmid), `${where}, guest ${vmid}`).toStrictEqual(want.vms.get(vmid));
  }
  const sorted = <V>(m: ReadonlyMap<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  expect(sorted(got.nodes), where).toStrictEqual(sorted(want.nodes));
  expect(sorted(got.storage), where).toStrictEqual(sorted(want.storage));
}

describe('the incremental broadcast', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const intervalMs of [0, 10_000]) {
    it(`reads exactly like a full rebroadcast after random changes, nodes going silent and coming back, and expiry (${intervalMs ? 'with an interval' : 'live'})`, () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
        let now = Date.parse('2026-01-05T10:00:00.123Z') + seed * 7;
        vi.setSystemTime(now);
        const rng = createRng(seed);
        const model = new ClusterModel(generatedCluster({ nodes: 4, guestsPerNode: 8, seed, clusterName: 'c' }), createRng(seed));
        const opts = { intervalMs, expireMs: 60_000 };
        const rrd = new Rrd(model, new NodeMetrics(model), opts);
        const reference = new FullRebroadcast(model, new NodeMetrics(model), opts);
        const handedOut: [Dump, ReturnType<FullRebroadcast['dump']>, string][] = [];
        for (let step = 0; step < 400; step++) {
          for (let i = rng.int(0, 3); i > 0; i--) randomChange(model, rng, now);
          now += rng.pick([0, 1, 7, 250, 999, 1_000, 1_500, 4_000, 20_000, 45_000]);
          vi.setSystemTime(now);
          if (intervalMs && rng.chance(0.3)) {
            rrd.broadcast(now);
            reference.broadcast(now);
          }
          const [got, want] = [rrd.dump(now), reference.dump(now)];
          const where = `seed ${seed}, step ${step}`;
          expectSameDump(got, want, where);
          if (step % 25 === 0) handedOut.push([got, want, where]);
        }
        // Each dump handed out still reads as it did, whatever came after.
        for (const [got, want, where] of handedOut) expectSameDump(got, want, `${where}, read again at the end`);
      }
    });
  }

  it("a node that comes back after all its guests went away reads without them (its figures recomputed, not the last ones)", () => {
    const model = new ClusterModel(generatedCluster({ nodes: 3, guestsPerNode: 6, seed: 2, clusterName: 'c' }), createRng(2));
    const opts = { intervalMs: 0, expireMs: 60_000 };
    const rrd = new Rrd(model, new NodeMetrics(model), opts);
    const reference = new FullRebroadcast(model, new NodeMetrics(model), opts);
    const t0 = Date.now();
    rrd.dump(t0);
    model.setNodeOnline('pve2', false);
    rrd.dump(t0 + 1_000);
    for (const g of [...model.guestsOn('pve2')]) model.removeGuest(g.vmid);
    expectSameDump(rrd.dump(t0 + 2_000), reference.dump(t0 + 2_000), 'guests gone');
    model.setNodeOnline('pve2', true);
    expectSameDump(rrd.dump(t0 + 3_000), reference.dump(t0 + 3_000), 'back online');
  });

  it("rebuilds only what changed: after one guest's change, only that guest's node's guests are read", () => {
    const model = new ClusterModel(generatedCluster({ nodes: 5, guestsPerNode: 20, seed: 3, clusterName: 'c' }), createRng(3));
    const rrd = new Rrd(model, new NodeMetrics(model), { intervalMs: 0, expireMs: 300_000 });
    const t0 = Date.now();
    rrd.dump(t0);
    const g = [...model.guestsOn('pve4')].find((x) => x.running)!;
    const read = vi.spyOn(model, 'guestsOn');
    model.powerOff(g);
    expect(rrd.dump(t0).vms.get(g.vmid)?.status).toBe('stopped');
    expect(read).toHaveBeenCalled();
    expect(new Set(read.mock.calls.map(([node]) => node))).toEqual(new Set(['pve4']));
    // A new second moves every running guest's uptime, and reads no guest list at all.
    const other = [...model.guestsOn('pve1')].find((x) => x.running)!;
    read.mockClear();
    expect(rrd.dump(t0 + 5_000).vms.get(other.vmid)?.uptime).toBe(model.uptimeOf(other, t0 + 5_000));
    expect(read).not.toHaveBeenCalled();
  });
});
