import { AckPolicy, StorageType, type JsMsg } from '@nats-io/jetstream';
import type { Bus } from '@molten/bus';
import { summary } from './stats.js';

/**
 * The bus's own floor: one JetStream publish → consume → ack round trip on loopback, with the
 * same client, on a file-backed stream like Molten's. Every latency the bench prints is also
 * shown as a multiple of its p50, so figures compare across machines.
 */
export async function measureFloor(bus: Bus, samples = 300): Promise<{ p50: number; p99: number; n: number }> {
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

/** "12.3 ms (×41)": a figure and its multiple of the floor. */
export function withFloor(v: number, floorMs: number): string {
  return Number.isFinite(v) ? `${v.toFixed(1)} ms (×${(v / floorMs).toFixed(0)})` : 'n/a';
}
