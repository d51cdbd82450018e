import type { GuestRrdColumn, NodeRrdColumn, RrdColumns } from '@molten/contracts/rest';
import type { Guest, PveNode } from '$lib/api/types';

/** One live reading as a step of Proxmox's history: a column left out is a gap. */
export type RrdPoint<K extends string> = { time: number } & Partial<Record<K, number>>;
export type GuestRrdPoint = RrdPoint<GuestRrdColumn>;
export type NodeRrdPoint = RrdPoint<NodeRrdColumn>;

/** The live values a guest's history chart follows (the SSE state's guest, as of `lastSeen`). */
export type LiveGuest = Pick<Guest, 'status' | 'lastSeen' | 'cpu' | 'maxcpu' | 'mem' | 'maxmem' | 'disk' | 'maxdisk' | 'netin' | 'netout' | 'diskread' | 'diskwrite'>;

/** How many live points a chart keeps after Proxmox's last step (10 s apart: an hour). */
export const LIVE_TAIL_MAX = 360;

type Counter = 'netin' | 'netout' | 'diskread' | 'diskwrite';
const COUNTERS: Counter[] = ['netin', 'netout', 'diskread', 'diskwrite'];

/**
 * The points a guest's live values add after Proxmox's history: CPU and memory as they are, and
 * the network/disk rates per second from two successive readings of Proxmox's byte counters
 * (a gap where there is no earlier reading, or a counter went back: the guest restarted).
 * A stopped guest adds gaps, as Proxmox's own history does.
 */
export class LiveTail {
  #points: GuestRrdPoint[] = [];
  #last: { time: number; counters: Record<Counter, number> } | undefined;

  /** Adds the guest's reading; answers whether it was new (a reading already seen adds nothing). */
  push(g: LiveGuest): boolean {
    if (!g.lastSeen) return false;
    const time = Date.parse(g.lastSeen) / 1000;
    if (!Number.isFinite(time) || (this.#last && time <= this.#last.time)) return false;
    const running = g.status === 'running';
    const counters = { netin: g.netin, netout: g.netout, diskread: g.diskread, diskwrite: g.diskwrite };
    const prev = this.#last;
    const point: GuestRrdPoint = { time, maxcpu: g.maxcpu, maxmem: g.maxmem, maxdisk: g.maxdisk };
    if (running) {
      point.cpu = g.cpu;
      point.mem = g.mem;
      point.disk = g.disk;
      if (prev) {
        const dt = time - prev.time;
        for (const k of COUNTERS) {
          const d = counters[k] - prev.counters[k];
          if (dt > 0 && d >= 0 && Number.isFinite(d)) point[k] = d / dt;
        }
      }
    }
    this.#last = { time, counters };
    this.#points = [...this.#points, point].slice(-LIVE_TAIL_MAX);
    return true;
  }

  /** The live points later than Proxmox's last step (`after`, unix seconds). */
  after(after: number): GuestRrdPoint[] {
    return this.#points.filter((p) => p.time > after);
  }
}

/** The live values a node's history chart follows. */
export type LiveNode = Pick<PveNode, 'status' | 'lastSeen' | 'cpu' | 'maxcpu' | 'mem' | 'maxmem' | 'disk' | 'maxdisk'>;

/**
 * A node's live readings as points of its history (CPU, memory and root disk under the names
 * Proxmox's node rrddata uses); an offline node adds gaps.
 */
export class NodeLiveTail {
  #points: NodeRrdPoint[] = [];
  #lastTime = -Infinity;

  push(n: LiveNode): boolean {
    if (!n.lastSeen) return false;
    const time = Date.parse(n.lastSeen) / 1000;
    if (!Number.isFinite(time) || time <= this.#lastTime) return false;
    this.#lastTime = time;
    const point: NodeRrdPoint = { time, maxcpu: n.maxcpu, memtotal: n.maxmem, roottotal: n.maxdisk };
    if (n.status === 'online') {
      point.cpu = n.cpu;
      point.memused = n.mem;
      point.rootused = n.disk;
    }
    this.#points = [...this.#points, point].slice(-LIVE_TAIL_MAX);
    return true;
  }

  after(after: number): NodeRrdPoint[] {
    return this.#points.filter((p) => p.time > after);
  }
}

/**
 * Proxmox's history followed by the live points after its last step, by column. The history's
 * own arrays when there is nothing to add (the chart then has nothing to copy or redraw).
 */
export function withLive<K extends string>(history: RrdColumns<K>, tail: { after(t: number): RrdPoint<K>[] }): RrdColumns<K> {
  const n = history.time.length;
  const live = tail.after(n ? history.time[n - 1]! : -Infinity);
  if (!live.length) return history;
  const values = {} as Record<K, (number | null)[]>;
  for (const k of Object.keys(history.values) as K[]) values[k] = history.values[k].concat(live.map((p) => p[k] ?? null));
  return { time: history.time.concat(live.map((p) => p.time)), values };
}
