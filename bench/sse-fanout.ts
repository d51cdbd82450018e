/**
 * The SSE fan-out both bench/run.ts and bench/profile-memory.ts measure: `clients` SSE clients
 * connect one after another, each read to its snapshot, then `perSecond` guest updates a second
 * (cluster `fanout`) are published on the bus for `seconds`, each carrying its publish time in its
 * name, and every client's delivery of each is timed.
 */
import { connectBus, StatePublisher } from '@molten/bus';
import type { Guest } from '@molten/contracts';
import type { Logger } from '@molten/kit';
import { waitFor } from '@molten/testkit';
import { openSse } from './sse-client.js';
import { summary } from './stats.js';

export interface FanOutOptions {
  /** The api's events URL (…/api/events). */
  eventsUrl: string;
  token: string;
  natsUrl: string;
  clients: number;
  seconds: number;
  perSecond?: number;
  log: Logger;
  /** Called once every client has its snapshot, before the updates, with how long that took (ms). */
  onSnapshots?(ms: number): void;
}

export interface FanOut {
  /** Publish → client, over every delivery (or those that came within 15 s of the last publish). */
  latency: ReturnType<typeof summary>;
  expected: number;
  /** How long the clients took to connect and read their snapshots (ms). */
  snapshotsMs: number;
  /** Closes the clients and the publisher's connection. */
  close(): Promise<void>;
}

export async function sseFanOut(o: FanOutOptions): Promise<FanOut> {
  const perSecond = o.perSecond ?? 500;
  const t0 = performance.now();
  const latencies: number[] = [];
  const clients: { close(): void }[] = [];
  let snapshots = 0;
  for (let i = 0; i < o.clients; i++) {
    clients.push(
      await openSse(o.eventsUrl, o.token, (e) => {
        if (e.event === 'snapshot') snapshots++;
        if (e.event !== 'guest' || !e.data.includes('"scope":"fanout"')) return;
        const m = /"name":"fan-(\d+(?:\.\d+)?)"/.exec(e.data);
        if (m) latencies.push(e.at - Number(m[1]));
      }),
    );
  }
  // Every client has its snapshot first (at 15,000 guests 100 × 10 MB, read by this one process).
  await waitFor(() => snapshots >= o.clients, { timeoutMs: 120_000, intervalMs: 100, message: 'every fan-out client has its snapshot' });
  const snapshotsMs = performance.now() - t0;
  o.onSnapshots?.(snapshotsMs);
  const bus = await connectBus({ servers: o.natsUrl, name: 'bench-publisher', log: o.log });
  const pub = new StatePublisher(bus, 'proxmox', 'fanout');
  const fanStart = performance.now();
  for (let i = 0; i < o.seconds * perSecond; i++) {
    const wait = fanStart + (i * 1000) / perSecond - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const g: Guest = {
      cluster: 'fanout', vmid: 100 + (i % 500), name: `fan-${performance.now().toFixed(2)}`, node: 'pve1', type: 'qemu', status: 'running',
      qmpstatus: 'running', cpu: Math.random(), maxcpu: 2, mem: 1, maxmem: 2, disk: 0, maxdisk: 1, uptime: i, tags: [], template: false,
      netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [],
    };
    void pub.put('qemu', String(g.vmid), g);
  }
  const expected = o.seconds * perSecond * o.clients;
  // Every delivery, or what came within 15 s (a client the api dropped as too slow gets no more).
  await waitFor(() => latencies.length >= expected, { timeoutMs: 15_000, intervalMs: 100 }).catch(() => {});
  return {
    latency: summary(latencies),
    expected,
    snapshotsMs,
    close: async () => {
      for (const c of clients) c.close();
      await bus.close();
    },
  };
}
