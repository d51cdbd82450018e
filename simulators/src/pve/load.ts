import type { ClusterModel, Guest } from './cluster-model.js';
import type { Rng } from './rng.js';

/**
 * Makes the cluster look alive: every interval, running guests move data (net and disk counters
 * grow) and about a third of them change CPU and memory use, drifting around their typical load
 * with the odd spike. Paused guests and guests on offline nodes stay still.
 */
export class LoadSimulator {
  #timer: NodeJS.Timeout | undefined;
  #last = Date.now();

  constructor(
    private readonly model: ClusterModel,
    private readonly rng: Rng,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.#timer) return;
    this.#last = Date.now();
    this.#timer = setInterval(() => {
      const now = Date.now();
      this.tick((now - this.#last) / 1000);
      this.#last = now;
    }, this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Advances the simulation by `seconds`. */
  tick(seconds: number): void {
    const { model, rng } = this;
    for (const node of model.nodes()) {
      if (!node.online) continue;
      for (const g of model.guestsOn(node.name)) {
        if (!g.running || g.paused) continue;
        const busy = 0.5 + g.cpu * 4;
        const rate = trafficRate(g);
        model.addTraffic(g, {
          netin: rate * seconds * busy * rng.between(0.5, 1.5),
          netout: rate * 0.4 * seconds * busy * rng.between(0.5, 1.5),
          diskread: rate * 0.2 * seconds * rng.between(0.2, 1.8),
          diskwrite: rate * 0.5 * seconds * rng.between(0.2, 1.8),
        });
        if (!rng.chance(0.35)) continue;
        const spike = rng.chance(0.03);
        const cpu = spike ? rng.between(0.55, 0.95) : g.cpuBase + (g.cpu - g.cpuBase) * 0.4 + rng.between(-0.5, 0.5) * Math.max(0.01, g.cpuBase);
        const targetMem = g.maxmem * g.memBase;
        const mem = g.mem + (targetMem - g.mem) * 0.3 + g.maxmem * rng.between(-0.02, 0.02);
        model.setLoad(g, Math.max(0.001, Math.round(cpu * 10_000) / 10_000), mem);
      }
    }
  }
}

/** A guest's typical network throughput in bytes/s, fixed per vmid. */
function trafficRate(g: Guest): number {
  return 5_000 + ((g.vmid * 7919) % 400_000);
}
