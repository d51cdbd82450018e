/**
 * npm run bench:bodies — what oversized request bodies cost the api (issue 14). The api runs as its
 * own process on a real nats-server; BENCH_CLIENTS (default 40) clients each send a 10 MB body at
 * once, first to the unauthenticated sign-in route, then to an operator's tool-call route. Printed:
 * the api's RSS before, its peak (VmHWM) and 10 s after, and what the clients were answered.
 *
 *   BENCH_CLIENTS=40 npm run bench:bodies
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildServices } from '@molten/launcher/build-services';
import { NatsServer, freePort, waitFor } from '@molten/testkit';
import { ROOT, runService } from './processes.js';
import { mb } from './stats.js';

const TOKEN = 'bench-operator-token-0123456789abcdef';
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 40);
const SIZE = 10 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'a');

/** Sends `SIZE` bytes as fast as the api reads them; resolves with the status (0: the api closed the connection first). */
function send(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(SIZE), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    let sent = 0;
    const pump = () => {
      while (sent < SIZE) {
        sent += CHUNK.length;
        if (!req.write(CHUNK)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

async function main() {
  const nats = await NatsServer.start();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-bench-bodies-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  await buildServices(ROOT);
  const api = runService('api', 'dist/api.mjs', { NATS_URL: nats.url, MOLTEN_PORT: String(port), MOLTEN_GRPC_PORT: '0', MOLTEN_TOKEN: TOKEN, MOLTEN_DATA_DIR: dataDir, MOLTEN_CLUSTER: 'homelab' });
  try {
    await waitFor(async () => (await fetch(`${base}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).ok, { timeoutMs: 60_000, message: 'api up' });
    await new Promise((r) => setTimeout(r, 1_000));
    const lines = [`big bodies — ${CLIENTS} clients × ${SIZE / 1048576} MB at once, ${os.cpus().length} cores, Node ${process.version}`];
    for (const [label, route, headers] of [
      ['sign-in (no token)', '/api/session', {}],
      ['tool call (operator)', '/api/servers/mcp-x/tools/echo/call', { authorization: `Bearer ${TOKEN}` }],
    ] as const) {
      const before = api.rss();
      let peak = before.rssKb;
      const sampler = setInterval(() => (peak = Math.max(peak, api.rss().rssKb)), 20);
      const started = performance.now();
      const statuses = await Promise.all(Array.from({ length: CLIENTS }, () => send(`${base}${route}`, headers)));
      const took = performance.now() - started;
      clearInterval(sampler);
      peak = Math.max(peak, api.rss().rssKb);
      await new Promise((r) => setTimeout(r, 10_000));
      const after = api.rss();
      const counts = new Map<number, number>();
      for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
      const answered = [...counts].map(([s, n]) => `${n}× ${s || 'closed'}`).join(', ');
      lines.push(`${label.padEnd(22)} RSS before ${mb(before.rssKb)}, peak ${mb(peak)}, 10 s after ${mb(after.rssKb)}; answered ${answered} in ${(took / 1000).toFixed(1)} s (target peak ≤ 200 MB: ${peak <= 200 * 1024 ? 'met' : 'MISSED'})`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await api.stop();
    await nats.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
