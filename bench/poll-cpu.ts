/**
 * CPU of one poll, measured in the process that polls: the proxmox-adapter's ClusterPoller with
 * the pve driver and a StatePublisher on a real nats-server, against the Proxmox VE simulator in
 * its own process (BENCH_NODES × BENCH_GUESTS_PER_NODE guests, default 50 × 100). Each poll is
 * bracketed with process.cpuUsage() (user + system, every thread of this process: the poll's
 * HTTP read, parse, diff, encode, publish and the garbage collection they cause), one poll a
 * second as with the default PVE_POLL_MS.
 *
 *   first poll        every guest is new: all of them published
 *   counters moved    the simulator's figures are live: every running guest's uptime and
 *                     network and disk totals differ at every poll, so every such row is
 *                     parsed, checked and built again, and nothing is published
 *   N changed         as above, and N guests' CPU moved by a visible step: N published
 *   PVE-like          the simulator broadcasts figures every 10 s as pvestatd does: nine polls
 *                     in ten read an answer equal to the previous one (mean over 20 polls)
 *
 * `node --import tsx bench/poll-cpu.ts [--polls 10]`; bench/run.ts runs the same measurement.
 */
import os from 'node:os';
import { connectBus, StatePublisher, type Bus } from '@molten/bus';
import { createLogger } from '@molten/kit';
import { DEMO_TOKEN } from '@molten/simulators/pve';
import { NatsServer } from '@molten/testkit';
import { ClusterPoller } from '../services/proxmox-adapter/src/cluster-poller.js';
import { PveDriver } from '../services/proxmox-adapter/src/pve/pve-driver.js';
import { UpstreamHealthTracker } from '../services/proxmox-adapter/src/upstream-health.js';
import { startSimProcess } from './sim-handle.js';
import { percentile } from './stats.js';

interface Series {
  /** CPU per poll (ms), p50 and mean, and how many guests each published. */
  p50: number;
  mean: number;
  published: number;
}

export interface PollCpu {
  guests: number;
  firstMs: number;
  quiet: Series;
  changed: (Series & { count: number })[];
  pveLike: Series;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Polls a simulated cluster in this process and measures each poll's CPU. */
export async function measurePollCpu(o: { nats: NatsServer; nodes: number; perNode: number; polls: number; changes: number[] }): Promise<PollCpu> {
  const live = await pollSeries({ ...o, statsIntervalMs: 0 });
  const pveLike = await pollSeries({ ...o, polls: 20, changes: [], statsIntervalMs: 10_000 });
  return { guests: o.nodes * o.perNode, firstMs: live.firstMs, quiet: live.quiet, changed: live.changed, pveLike: pveLike.quiet };
}

async function pollSeries(o: { nats: NatsServer; nodes: number; perNode: number; polls: number; changes: number[]; statsIntervalMs: number }) {
  const log = createLogger('poll-cpu', { level: 'warn' });
  const sim = await startSimProcess({ nodes: o.nodes, guestsPerNode: o.perNode, seed: 7, loadIntervalMs: 0, statsIntervalMs: o.statsIntervalMs });
  let bus: Bus | undefined;
  const cluster = `pollcpu${o.nodes}x${o.perNode}s${o.statsIntervalMs}`;
  const driver = new PveDriver(cluster, { url: sim.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, tls: { caFile: sim.caFile } });
  try {
    bus = await connectBus({ servers: o.nats.url, name: 'poll-cpu', log });
    const publisher = new StatePublisher(bus, 'proxmox', cluster);
    const health = new UpstreamHealthTracker({ id: 'pve', name: 'pve', kind: 'proxmox-ve', scope: cluster, endpoint: sim.url, transport: 'https', demo: false, reporter: 'bench', pollMs: 1000 }, () => []);
    const poller = new ClusterPoller({ cluster, driver, publisher, health, log, pollMs: 1000, demo: false });
    let published = 0;
    const kvPut = bus.kv.state.put.bind(bus.kv.state);
    bus.kv.state.put = ((...args: Parameters<typeof kvPut>) => {
      published++;
      return kvPut(...args);
    }) as typeof kvPut;
    let last = 0;
    const poll = async () => {
      // One poll a second, as PVE_POLL_MS's default: the simulator's uptimes move in between.
      await new Promise((r) => setTimeout(r, Math.max(0, last + 1_000 - performance.now())));
      last = performance.now();
      published = 0;
      const t = cpuNow();
      await poller.pollOnce();
      return { cpu: cpuNow() - t, published };
    };
    const first = await poll();
    // Warm up: the code paths of an unchanged poll and of a changed one get compiled.
    for (let i = 0; i < 3; i++) await poll();
    await sim.churn(50);
    await poll();
    const series = async (changes: number) => {
      const cpu: number[] = [];
      let pub = 0;
      for (let i = 0; i < o.polls; i++) {
        if (changes) await sim.churn(changes);
        const r = await poll();
        cpu.push(r.cpu);
        pub += r.published;
      }
      return { p50: percentile(cpu, 50), mean: cpu.reduce((a, b) => a + b, 0) / cpu.length, published: pub / o.polls };
    };
    // POLL_CPU_PROFILE=<file>: a V8 CPU profile of this series only (no start-up, no first poll).
    const profile = process.env.POLL_CPU_PROFILE && o.statsIntervalMs === 0 ? await startProfile() : undefined;
    const quiet = await series(0);
    await profile?.stop(process.env.POLL_CPU_PROFILE!);
    const changed = [];
    for (const count of o.changes) changed.push({ count, ...(await series(count)) });
    return { firstMs: first.cpu, quiet, changed };
  } finally {
    await bus?.close();
    await driver.close();
    await sim.close();
  }
}

async function startProfile() {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stop(file: string) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

export function pollCpuLines(r: PollCpu): string[] {
  const f = (v: number) => `${v.toFixed(1)} ms`;
  return [
    `poll CPU, ${r.guests.toLocaleString('en-US')} guests (CPU time of the polling process, one poll a second; target ≤ 30 ms)`,
    `  counters moved        p50 ${f(r.quiet.p50)}, mean ${f(r.quiet.mean)} per poll (every running guest's row differs; ${r.quiet.published.toFixed(0)} published)`,
    ...r.changed.map((c) => `  ${String(c.count).padStart(5)} guests changed  p50 ${f(c.p50)}, mean ${f(c.mean)} per poll (${c.published.toFixed(0)} published: ${(((c.mean - r.quiet.mean) / Math.max(1, c.published)) * 1000).toFixed(0)} µs each over the above)`),
    `  PVE-like (10 s broadcasts)  mean ${f(r.pveLike.mean)} per poll over 20 polls (p50 ${f(r.pveLike.p50)}: an answer equal to the previous one)`,
    `  first poll            ${f(r.firstMs)} (every guest new: all published)`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const nats = await NatsServer.start();
  try {
    const nodes = Number(process.env.BENCH_NODES ?? 50);
    const perNode = Number(process.env.BENCH_GUESTS_PER_NODE ?? 100);
    process.stdout.write(`poll CPU in one process, ${os.cpus().length} cores, Node ${process.version}\n`);
    const r = await measurePollCpu({ nats, nodes, perNode, polls: arg('polls', 10), changes: [50, 500] });
    for (const l of pollCpuLines(r)) process.stdout.write(`${l}\n`);
  } finally {
    await nats.dispose();
  }
  process.exit(0);
}
