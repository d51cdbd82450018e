import { describe, expect, it } from 'vitest';
import { ClusterModel } from './cluster-model.js';
import { demoCluster } from './presets.js';
import { createRng } from './rng.js';
import { NodeMetrics } from './node-metrics.js';
import { Rrd } from './rrd.js';

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
