import { mix, type Guest, type NodeState, type PowerEntry } from './cluster-model.js';
import type { NodeMetrics } from './node-metrics.js';
import type { PveRelease } from './version.js';

/**
 * GET …/rrddata for guests and nodes, as pve-cluster's `PVE::RRD::create_rrd_data` answers:
 * one point per step, `time` at the start of its step, every value a float, and a value left out
 * (not null, not 0) when RRD has none for that step.
 *
 * Steps and point counts (pve-cluster `src/PVE/RRD.pm`, commits 1a483ba "rrd: adapt to new RRD
 * format" and af3f945 "fix resolution and point count for month and year", pve-cluster 9.0.3 and
 * 9.0.7): PVE 9's `pve-vm-9.0`/`pve-node-9.0` files keep 1 min × 1440, 30 min × 1440, 6 h × 1440
 * and 1 week × 570 (pmxcfs `status.c` RRA definitions), so
 *
 *   PVE 9: hour 60 s × 60, day 60 s × 1440, week 30 min × 336, month 30 min × 1440,
 *          year 6 h × 1440, decade (nodes) 1 week × 570
 *   PVE ≤ 8 (`pve2-vm`, `pve2-node`): hour 60 s × 70, day 30 min × 70, week 3 h × 70,
 *          month 12 h × 70, year 1 week × 70
 *
 * pvestatd writes a stopped guest's row with only maxcpu, maxmem, maxdisk and disk (pve-manager
 * `PVE/Service/pvestatd.pm` `update_qemu_status`/`update_lxc_status`: cpu, mem and the counters
 * are `undef`), so a stopped stretch reads as points without usage; before the guest existed, or
 * while its node was down, points carry only `time`. RRD's xff of 0.5 decides a step that is half
 * one, half the other. Since pve-cluster 9.0.7 ("fix #6615") a newest step with only `time` is
 * dropped. Counters (netin, netout, diskread, diskwrite) are DERIVE: bytes per second.
 */
export type Timeframe = 'hour' | 'day' | 'week' | 'month' | 'year' | 'decade';
export type Cf = 'AVERAGE' | 'MAX';

export const GUEST_TIMEFRAMES: readonly Timeframe[] = ['hour', 'day', 'week', 'month', 'year'];
export const NODE_TIMEFRAMES_PVE9: readonly Timeframe[] = ['hour', 'day', 'week', 'month', 'year', 'decade'];

const PVE9: Record<Timeframe, [number, number]> = {
  hour: [60, 60],
  day: [60, 1440],
  week: [1800, 336],
  month: [1800, 1440],
  year: [21_600, 1440],
  decade: [604_800, 570],
};
const PVE2: Record<Exclude<Timeframe, 'decade'>, [number, number]> = {
  hour: [60, 70],
  day: [1800, 70],
  week: [10_800, 70],
  month: [43_200, 70],
  year: [604_800, 70],
};

/** Step (seconds) and number of points for a timeframe on this release. */
export function rrdSetup(release: PveRelease, timeframe: Timeframe): { step: number; count: number } {
  const [step, count] = release.pve9Metrics ? PVE9[timeframe] : PVE2[timeframe === 'decade' ? 'year' : timeframe];
  return { step, count };
}

type Point = Record<string, number>;

/** A deterministic value in [0, 1) for a guest, a field and a moment: the same answer within a step. */
function noise(id: number, field: number, t: number): number {
  return mix(id ^ Math.imul(field, 0x27d4eb2d), Math.floor(t / 60)) / 2 ** 32;
}

/** Busier in the evening, quieter at night, a little busier on weekdays. */
function shape(t: number): number {
  const day = Math.sin(2 * Math.PI * ((t % 86_400) / 86_400 - 0.35));
  const week = Math.sin((2 * Math.PI * t) / 604_800);
  return 1 + 0.35 * day + 0.08 * week;
}

interface Fractions {
  absent: number;
  stopped: number;
  running: number;
  paused: number;
}

/** How much of [t0, t1) (ms) a guest spent in each state, from its power log. */
function fractions(log: readonly PowerEntry[], createdAt: number, t0: number, t1: number): Fractions {
  const f: Fractions = { absent: 0, stopped: 0, running: 0, paused: 0 };
  const span = t1 - t0;
  if (t0 < createdAt) f.absent += (Math.min(t1, createdAt) - t0) / span;
  for (let i = 0; i < log.length; i++) {
    const from = Math.max(log[i]!.at, createdAt, t0);
    const to = Math.min(i + 1 < log.length ? log[i + 1]!.at : Infinity, t1);
    if (to > from) f[log[i]!.state] += (to - from) / span;
  }
  // Before the first entry (a trimmed log): as the first entry says.
  if (log.length && log[0]!.at > Math.max(t0, createdAt)) f[log[0]!.state] += (Math.min(log[0]!.at, t1) - Math.max(t0, createdAt)) / span;
  return f;
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

export interface RrdOptions {
  timeframe: Timeframe;
  cf: Cf;
  release: PveRelease;
  now?: number;
}

/** GET /nodes/{node}/{qemu|lxc}/{vmid}/rrddata. */
export function guestRrdData(g: Guest, o: RrdOptions): Point[] {
  const now = o.now ?? Date.now();
  const { step, count } = rrdSetup(o.release, o.timeframe);
  const ctime = step * Math.floor(now / 1000 / step);
  const max = o.cf === 'MAX';
  const points: Point[] = [];
  const rate = 5_000 + ((g.vmid * 7919) % 400_000);
  for (let i = 0; i < count; i++) {
    const t = ctime - step * (count - i);
    const f = fractions(g.powerLog, g.createdAt, t * 1000, (t + step) * 1000);
    const p: Point = { time: t };
    points.push(p);
    if (f.absent >= 0.5) continue;
    p.maxcpu = g.cpus;
    p.maxmem = g.maxmem;
    p.maxdisk = g.maxdisk;
    p.disk = g.type === 'lxc' && f.running + f.paused >= 0.5 ? g.diskUsed : 0;
    const up = f.running + f.paused;
    if (up < 0.5) continue;
    const newest = i === count - 1 && step <= 60;
    const n = (k: number) => noise(g.vmid, k, t);
    const busy = shape(t) * (0.7 + 0.6 * n(1));
    // A paused VM burns no CPU and moves no data; its memory stays allocated.
    const active = f.running / up;
    let cpu = Math.min(1, g.cpuBase * busy * active);
    if (max) cpu = Math.min(1, cpu * (1.3 + 1.5 * n(2)) + (n(3) > 0.97 ? 0.4 : 0));
    if (newest && g.running) cpu = max ? Math.max(cpu, g.cpu) : g.cpu;
    let mem = g.maxmem * Math.min(0.97, g.memBase * (0.92 + 0.08 * shape(t) + 0.04 * (n(4) - 0.5)));
    if (max) mem = Math.min(g.maxmem, mem * (1.02 + 0.05 * n(5)));
    if (newest && g.running) mem = max ? Math.max(mem, g.mem) : g.mem;
    const traffic = (k: number, scale: number) => r4(rate * scale * busy * active * (max ? 1.5 + 2 * n(k) : 0.6 + 0.8 * n(k)));
    p.cpu = cpu;
    p.mem = Math.round(mem * 10) / 10;
    p.netin = traffic(6, 1);
    p.netout = traffic(7, 0.4);
    p.diskread = traffic(8, 0.2);
    p.diskwrite = traffic(9, 0.5);
    if (o.release.pve9Metrics) {
      p.memhost = p.mem;
      p.pressurecpusome = r4(cpu * 4);
      p.pressurecpufull = r4(cpu * 1.5);
      p.pressureiosome = r4(cpu * 0.8);
      p.pressureiofull = r4(cpu * 0.5);
      p.pressurememorysome = 0;
      p.pressurememoryfull = 0;
    }
  }
  return dropEmptyNewest(points, o.release);
}

/** GET /nodes/{node}/rrddata. A node that is down has no points but `time`. */
export function nodeRrdData(metrics: NodeMetrics, node: NodeState, o: RrdOptions): Point[] {
  const now = o.now ?? Date.now();
  const { step, count } = rrdSetup(o.release, o.timeframe);
  const ctime = step * Math.floor(now / 1000 / step);
  const max = o.cf === 'MAX';
  const id = 1_000_000 + node.nodeid;
  const points: Point[] = [];
  const liveCpu = metrics.cpu(node);
  const liveMem = metrics.mem(node);
  for (let i = 0; i < count; i++) {
    const t = ctime - step * (count - i);
    const p: Point = { time: t };
    points.push(p);
    if (t * 1000 < node.bootedAt - 365 * 86_400_000 || (!node.online && t * 1000 >= (node.offlineSince ?? now))) continue;
    const n = (k: number) => noise(id, k, t);
    const busy = shape(t) * (0.8 + 0.4 * n(1));
    const newest = i === count - 1 && step <= 60;
    let cpu = Math.min(1, (newest ? liveCpu : liveCpu * busy) * (max ? 1.4 + n(2) : 1));
    const mem = Math.min(node.maxmem, (newest ? liveMem : liveMem * (0.95 + 0.05 * shape(t))) * (max ? 1.03 : 1));
    cpu = r4(cpu);
    p.loadavg = r4(cpu * node.maxcpu * (0.9 + 0.2 * n(3)));
    p.maxcpu = node.maxcpu;
    p.cpu = cpu;
    p.iowait = r4(0.002 + 0.01 * n(4) * (max ? 3 : 1));
    p.memtotal = node.maxmem;
    p.memused = Math.round(mem);
    p.swaptotal = node.swapTotal;
    p.swapused = Math.round(node.swapTotal * 0.01 * (1 + n(5)));
    p.roottotal = node.rootfsTotal;
    p.rootused = node.rootfsUsed;
    const net = 200_000 * busy * (max ? 2 + 2 * n(6) : 0.7 + 0.6 * n(6));
    p.netin = r4(net);
    p.netout = r4(net * 0.6);
    if (o.release.pve9Metrics) {
      p.memavailable = Math.round(node.maxmem - mem);
      p.arcsize = 0;
      p.pressurecpusome = r4(cpu * 3);
      p.pressureiosome = r4(p.iowait * 20);
      p.pressureiofull = r4(p.iowait * 10);
      p.pressurememorysome = 0;
      p.pressurememoryfull = 0;
    }
  }
  return dropEmptyNewest(points, o.release);
}

function dropEmptyNewest(points: Point[], release: PveRelease): Point[] {
  // pve-cluster 9.0.7 ("fix #6615"): the newest bucket is left out while it holds only `time`.
  if (release.pve9Metrics && points.length && Object.keys(points.at(-1)!).length === 1) points.pop();
  return points;
}
