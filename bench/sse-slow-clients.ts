/**
 * npm run bench:sse — what stalled SSE clients cost the api (issue 14). The api runs as its own
 * process on a real nats-server; a publisher puts guest states on the bus at ~440 events/s with a
 * realistic payload (a guest of ~400 bytes); 10 clients read the stream, N clients (default 100)
 * open it and never read again. Printed: the api's RSS before, at its peak while the stalled
 * clients hang on, and after they have gone; and whether the readers saw every event in order.
 *
 *   BENCH_STALLED=100 BENCH_SECONDS=60 npm run bench:sse
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectBus, StatePublisher } from '@molten/bus';
import type { Guest } from '@molten/contracts';
import { createLogger } from '@molten/kit';
import { buildServices } from '@molten/launcher/build-services';
import { NatsServer, freePort, waitFor } from '@molten/testkit';
import { ROOT, runService } from './processes.js';
import { openSse } from './sse-client.js';
import { mb } from './stats.js';

const TOKEN = 'bench-operator-token-0123456789abcdef';
const STALLED = Number(process.env.BENCH_STALLED ?? 100);
const READERS = 10;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const PER_SECOND = 440;
const log = createLogger('bench', { level: 'warn' });

function stalledClient(url: string): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.pause();
      res.socket.pause();
      resolve(req);
    });
    req.on('error', () => {});
    req.on('socket', (s) => s.on('error', () => {}));
    setTimeout(() => reject(new Error('no answer from /api/events')), 20_000).unref();
  });
}

async function main() {
  const nats = await NatsServer.start();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-bench-sse-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  await buildServices(ROOT);
  const api = runService('api', 'dist/api.mjs', {
    NATS_URL: nats.url, MOLTEN_PORT: String(port), MOLTEN_GRPC_PORT: '0', MOLTEN_TOKEN: TOKEN, MOLTEN_DATA_DIR: dataDir, MOLTEN_CLUSTER: 'homelab',
  });
  try {
    await waitFor(async () => (await fetch(`${base}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).ok, { timeoutMs: 60_000, message: 'api up' });
    // Readers: each keeps the ids it got, to check for gaps, duplicates and reordering.
    const seen: number[][] = [];
    const readers = await Promise.all(
      Array.from({ length: READERS }, async (_, i) => {
        seen[i] = [];
        return openSse(`${base}/api/events`, TOKEN, (e) => {
          if (e.event === 'guest' && e.id !== undefined) seen[i]!.push(Number(e.id));
        });
      }),
    );
    await new Promise((r) => setTimeout(r, 2_000));
    const before = api.rss();
    const stalled = await Promise.all(Array.from({ length: STALLED }, () => stalledClient(`${base}/api/events`)));

    const bus = await connectBus({ servers: nats.url, name: 'bench-sse-publisher', log });
    const pub = new StatePublisher(bus, 'proxmox', 'homelab');
    let peak = 0;
    const start = performance.now();
    for (let i = 0; i < SECONDS * PER_SECOND; i++) {
      const wait = start + (i * 1000) / PER_SECOND - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const g: Guest = {
        cluster: 'homelab', vmid: 100 + (i % 2000), name: `guest-${i % 2000}-with-a-longer-name`, node: `pve${i % 7}`, type: 'qemu', status: 'running',
        qmpstatus: 'running', cpu: Math.random(), maxcpu: 8, mem: Math.round(Math.random() * 8e9), maxmem: 8e9, disk: 0, maxdisk: 64e9, uptime: i,
        tags: ['prod', 'web'], template: false, netin: i * 1000, netout: i * 900, diskread: i * 10, diskwrite: i * 20, imprecise: [],
      };
      void pub.put('qemu', String(g.vmid), g);
      if (i % PER_SECOND === 0) peak = Math.max(peak, api.rss().rssKb);
    }
    await new Promise((r) => setTimeout(r, 2_000));
    peak = Math.max(peak, api.rss().peakKb);
    const during = api.rss();
    const metric = async (name: string) => {
      const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
    };
    const clientsLeft = await metric('molten_sse_clients');
    const heapDuring = await metric('nodejs_heap_size_used_bytes');
    const externalDuring = await metric('nodejs_external_memory_bytes');
    for (const s of stalled) s.destroy();
    await new Promise((r) => setTimeout(r, 10_000));
    const after = api.rss();
    const heapAfter = await metric('nodejs_heap_size_used_bytes');
    const externalAfter = await metric('nodejs_external_memory_bytes');

    const published = SECONDS * PER_SECOND;
    const clean = seen.map((ids) => ids.every((id, k) => k === 0 || id > ids[k - 1]!)).every(Boolean);
    const counts = seen.map((ids) => ids.length);
    process.stdout.write(
      [
        `SSE slow clients — ${STALLED} stalled + ${READERS} reading clients, ${PER_SECOND} events/s for ${SECONDS} s (${published} events), ${os.cpus().length} cores, Node ${process.version}`,
        `api RSS                before ${mb(before.rssKb)}, at the end with the stalled clients ${mb(during.rssKb)}, peak ${mb(peak)}, 10 s after they left ${mb(after.rssKb)}`,
        `SSE connections        ${clientsLeft} open at the end (${READERS} readers + ${STALLED} stalled connected: the ones the api cut off are not counted)`,
        `api heap used          ${(heapDuring / 1048576).toFixed(0)} MB with the stalled clients, ${(heapAfter / 1048576).toFixed(0)} MB after they left; buffers outside the heap ${(externalDuring / 1048576).toFixed(0)} MB, then ${(externalAfter / 1048576).toFixed(0)} MB`,
        `readers                events received ${Math.min(...counts)}–${Math.max(...counts)} of ${published}, in order without duplicates: ${clean ? 'yes' : 'NO'}`,
      ].join('\n') + '\n',
    );
    for (const r of readers) r.close();
    await bus.close();
  } finally {
    await api.stop();
    await nats.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
