import { AckPolicy, StorageType, type JsMsg } from '@nats-io/jetstream';
import type { Bus } from '@molten/bus';
import { summary } from './stats.js';

/**
 * The bus's own floor: one JetStream publish → consume → ack round trip on loopback, with the
 * same client, on a file-backed stream like Molten's. Every latency the bench prints is also
 * shown as a multiple of its p50, so figures compare across machines.
 *
 * Back to back (`pauseMs` 0, the default) it is the floor of a busy system: every process is
 * awake. With `pauseMs` between round trips (100: the pace of 10 commands/s) each one starts
 * from idle, as each hop of a command does at that rate: processes and CPUs asleep, caches
 * cold. On a virtual machine that costs several times the back-to-back figure.
 */
export async function measureFloor(bus: Bus, samples = 300, o: { pauseMs?: number } = {}): Promise<{ p50: number; p99: number; n: number }> {
  const pauseMs = o.pauseMs ?? 0;
  const stream = 'BENCH_FLOOR';
  await bus.jsm.streams.add({ name: stream, subjects: ['bench.floor'], storage: StorageType.File });
  await bus.jsm.consumers.add(stream, { durable_name: 'floor', ack_policy: AckPolicy.Explicit });
  const consumer = await bus.js.consumers.get(stream, 'floor');
  const messages = await consumer.consume({ max_messages: 1 });
  let next: ((m: JsMsg) => void) | undefined;
  const loop = (async () => {
    for await (const m of messages) next?.(m);
  })();
  const times: number[] = [];
  try {
    for (let i = 0; i < samples + 20; i++) {
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      const t0 = performance.now();
      const got = new Promise<JsMsg>((resolve) => (next = resolve));
      await bus.js.publish('bench.floor', new Uint8Array(64));
      const m = await got;
      await m.ackAck();
      if (i >= 20) times.push(performance.now() - t0); // the first ones warm up
    }
  } finally {
    await messages.close();
    await loop.catch(() => {});
    await bus.jsm.streams.delete(stream).catch(() => {});
  }
  return summary(times);
}

export interface Floors {
  /** Round trips back to back: the ×N of every latency. */
  busy: { p50: number; p99: number; n: number };
  /** One round trip every 100 ms (the pace of 10 commands/s): each starts from idle. */
  idle: { p50: number; p99: number; n: number };
}

/** Both floors, each reported on its own line. */
export async function measureFloors(bus: Bus, report: (line: string) => void): Promise<Floors> {
  const busy = await measureFloor(bus);
  report(`JetStream floor        p50 ${busy.p50.toFixed(1)} ms, p99 ${busy.p99.toFixed(1)} ms (publish → consume → ack round trip on loopback, same client, back to back, ${busy.n} samples); ×N below = multiple of this p50`);
  const idle = await measureFloor(bus, 100, { pauseMs: 100 });
  report(`JetStream floor, idle  p50 ${idle.p50.toFixed(1)} ms, p99 ${idle.p99.toFixed(1)} ms (the same round trip once every 100 ms, the pace of 10 commands/s, so each starts from idle; ${idle.n} samples)`);
  return { busy, idle };
}

/** "12.3 ms (×41)": a figure and its multiple of the floor. */
export function withFloor(v: number, floorMs: number): string {
  return Number.isFinite(v) ? `${v.toFixed(1)} ms (×${(v / floorMs).toFixed(0)})` : 'n/a';
}
