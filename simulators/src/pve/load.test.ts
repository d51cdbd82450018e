import { describe, expect, it } from 'vitest';
import { ClusterModel, type PveSimEvent } from './cluster-model.js';
import { LoadSimulator } from './load.js';
import { demoCluster } from './presets.js';
import { createRng } from './rng.js';

describe('load variation', () => {
  const setup = () => {
    const model = new ClusterModel(demoCluster(), createRng(1));
    return { model, load: new LoadSimulator(model, createRng(2), 1000) };
  };

  it('moves CPU and memory of some running guests and announces each change with a timestamp', () => {
    const { model, load } = setup();
    const events: PveSimEvent[] = [];
    model.onChange((e) => events.push(e));
    const before = new Map([...model.guests()].map((g) => [g.vmid, { cpu: g.cpu, mem: g.mem }]));
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) load.tick(2);
    const loadEvents = events.filter((e): e is Extract<PveSimEvent, { kind: 'guest' }> => e.kind === 'guest' && e.change === 'load');
    expect(loadEvents.length).toBeGreaterThan(0);
    expect(loadEvents.every((e) => e.at >= t0 && e.status === 'running')).toBe(true);
    const changed = [...model.guests()].filter((g) => g.cpu !== before.get(g.vmid)!.cpu || g.mem !== before.get(g.vmid)!.mem);
    expect(changed.length).toBeGreaterThan(3);
    for (const g of model.guests()) {
      expect(g.cpu).toBeGreaterThanOrEqual(0);
      expect(g.cpu).toBeLessThanOrEqual(1);
      expect(g.mem).toBeLessThanOrEqual(g.maxmem);
    }
  });

  it('counters only grow on running guests; stopped and paused guests stay still', () => {
    const { model, load } = setup();
    const pihole = model.guest(100)!;
    const paused = model.guest(303)!;
    const stopped = model.guest(304)!;
    const [netin, diskwrite] = [pihole.netin, pihole.diskwrite];
    const pausedCounters = [paused.netin, paused.cpu, paused.mem];
    load.tick(10);
    expect(pihole.netin).toBeGreaterThan(netin);
    expect(pihole.diskwrite).toBeGreaterThan(diskwrite);
    expect([paused.netin, paused.cpu, paused.mem]).toEqual(pausedCounters);
    expect([stopped.cpu, stopped.mem, stopped.netin]).toEqual([0, 0, 0]);
  });

  it('leaves guests on an offline node alone', () => {
    const { model, load } = setup();
    model.setNodeOnline('pve2', false);
    const plex = model.guest(200)!;
    const snapshot = [plex.cpu, plex.mem, plex.netin];
    for (let i = 0; i < 5; i++) load.tick(2);
    expect([plex.cpu, plex.mem, plex.netin]).toEqual(snapshot);
  });

  it('uptime follows the clock', () => {
    const { model } = setup();
    const g = model.guest(100)!;
    const now = Date.now();
    expect(model.uptimeOf(g, now + 5000) - model.uptimeOf(g, now)).toBe(5);
    expect(model.uptimeOf(model.guest(304)!, now)).toBe(0);
  });
});
