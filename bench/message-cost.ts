/**
 * What one bus message costs the process that receives it, on this machine: a subscriber in its
 * own process, messages of 200 bytes sent one at a time (1 ms and 5 ms apart, so each is a
 * wake-up of its own, as a command's messages mostly are), its CPU per message from
 * process.cpuUsage() (its idle CPU over as long is printed beside). The command path's CPU per
 * command is mostly this figure times the messages per command the command-path bench prints.
 *
 * `node --import tsx bench/message-cost.ts`
 */
import os from 'node:os';
import { connect } from '@nats-io/transport-node';
import { NatsServer } from '@molten/testkit';
import { forkChild, serveParent } from './child-handle.js';

type Cpu = { n: number; cpuMs: number };
const SECONDS = 5;

if (process.env.MESSAGE_COST_NATS) {
  // The subscriber (this file, forked by the part below).
  const nc = await connect({ servers: process.env.MESSAGE_COST_NATS });
  let n = 0;
  let c0 = process.cpuUsage();
  nc.subscribe('bench.message-cost', { callback: () => void n++ });
  await nc.flush();
  serveParent((op) => {
    if (op === 'start') [n, c0] = [0, process.cpuUsage()];
    else if (op === 'stop') {
      const c = process.cpuUsage(c0);
      return { n, cpuMs: (c.user + c.system) / 1000 } satisfies Cpu;
    } else if (op === 'close') setImmediate(() => process.exit(0));
    else throw new Error(`unknown op ${op}`);
    return undefined;
  });
} else {
  const nats = await NatsServer.start();
  const sub = await forkChild(new URL(import.meta.url), { MESSAGE_COST_NATS: nats.url });
  const nc = await connect({ servers: nats.url });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const measure = async (send: boolean, gapMs: number): Promise<Cpu> => {
    await sub.call('start');
    const t0 = performance.now();
    while (performance.now() - t0 < SECONDS * 1000) {
      if (send) nc.publish('bench.message-cost', new Uint8Array(200));
      await sleep(gapMs);
    }
    await nc.flush();
    await sleep(200);
    return sub.call<Cpu>('stop');
  };
  process.stdout.write(`message cost — ${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  for (const gapMs of [1, 5, 1, 5]) {
    const busy = await measure(true, gapMs);
    const idle = await measure(false, gapMs);
    const us = (busy.cpuMs / busy.n) * 1000;
    process.stdout.write(`  one message every ${gapMs} ms: ${busy.n} received, ${us.toFixed(0)} µs of the subscriber's CPU each (the same process idle over as long: ${idle.cpuMs.toFixed(0)} ms)\n`);
  }
  await sub.close();
  await nc.close();
  await nats.dispose();
  process.exit(0);
}
