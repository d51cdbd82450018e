/**
 * What the api and the proxmox-adapter hold at a cluster's size, and what holds it:
 * `node --import tsx bench/profile-memory.ts` (BENCH_NODES, default 150, × BENCH_GUESTS_PER_NODE,
 * default 100; PROFILE_SECONDS of polls, default 20). Prints both services' RSS (now and peak)
 * after the api lists every guest and the polls went on for a while. With BENCH_HEAPSNAP=<dir>
 * it then writes a heap snapshot of each (V8's --heapsnapshot-signal) into that directory;
 * `node --import tsx bench/heap-top.ts <file>` lists what takes the room. It also prints what the
 * two keep in RAM together, each page counted once (together(), from their pagemaps; root only).
 *
 * PROFILE_FANOUT=100 first runs bench/run.ts's SSE fan-out (100 clients, each read to its ~10 MB
 * snapshot, then 500 updates/s for 3 s; the api's CPU, the latencies) and prints the api's RSS
 * until 20 s after the clients closed. PROFILE_MEM_LOG=1 starts the api with bench/mem-log.mjs and
 * prints, beside each of those RSS, its split: V8's heap (used / committed, per space), external
 * (array buffers), the rest (malloc, threads, code), the collections so far. PROFILE_GC_AFTER=1
 * (with PROFILE_NODE_FLAGS=--expose-gc) has the api run a full collection 0.5 s after the close.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@molten/kit';
import { DEMO_TOKEN } from '@molten/simulators/pve';
import { NatsServer, freePort, waitFor } from '@molten/testkit';
import { buildServices } from '@molten/launcher/build-services';
import { canReadPageFrames, together } from './page-frames.js';
import { ROOT, cpuMs, runService, type Service } from './processes.js';
import { startSimProcess } from './sim-handle.js';
import { openSse } from './sse-client.js';
import { sseFanOut } from './sse-fanout.js';
import { mb } from './stats.js';

const NODES = Number(process.env.BENCH_NODES ?? 150);
const PER_NODE = Number(process.env.BENCH_GUESTS_PER_NODE ?? 100);
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 20);
const SSE_CLIENTS = Number(process.env.PROFILE_SSE_CLIENTS ?? 1);
const TOKEN = 'bench-operator-token-0123456789abcdef';
const snapDir = process.env.BENCH_HEAPSNAP;
/** PROFILE_FANOUT=<n>: bench/run.ts's SSE fan-out (n clients, each its snapshot, then 500 updates/s for 3 s) before the window. */
const FANOUT = Number(process.env.PROFILE_FANOUT ?? 0);
/** PROFILE_MEM_LOG=1: the api runs with bench/mem-log.mjs, which splits its memory (V8 heap, external, the rest). */
const memLog = process.env.PROFILE_MEM_LOG === '1' ? path.join(os.tmpdir(), `molten-memlog-${process.pid}.json`) : undefined;

/** Resident memory by kind of mapping: malloc's heap, big anonymous regions (V8's heap, malloc arenas), code and the rest. */
function smaps(pid: number): string {
  const out = new Map<string, number>();
  let current = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const size = (parseInt(m[2]!, 16) - parseInt(m[1]!, 16)) / 1024;
      const name = m[3]!;
      current = name === '[heap]' ? 'brk heap' : name.startsWith('/') ? (name.includes('node') && !name.endsWith('.so') ? 'node binary' : 'files') : name ? name : size >= 60_000 ? 'anon ≥60 MB (malloc arenas)' : size >= 1_000 ? 'anon ≥1 MB' : 'anon <1 MB';
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r) out.set(current, (out.get(current) ?? 0) + Number(r[1]));
  }
  return [...out].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${mb(v)}`).join(', ');
}

const nats = await NatsServer.start();
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-memory-'));
const sim = await startSimProcess({ nodes: NODES, guestsPerNode: PER_NODE, seed: 7, loadIntervalMs: Number(process.env.PROFILE_LOAD_MS ?? 0) });
const apiPort = await freePort();
const env = {
  NATS_URL: nats.url,
  MOLTEN_CLUSTER: 'homelab',
  PVE_URL: sim.url,
  PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`,
  PVE_CA_FILE: sim.caFile ?? '',
  MOLTEN_PORT: String(apiPort),
  MOLTEN_GRPC_PORT: '0',
  MOLTEN_TOKEN: TOKEN,
  MOLTEN_DATA_DIR: dataDir,
  ...envOf(process.env.PROFILE_ENV),
};
/** PROFILE_ENV="K=V K2=V2" for both services; PROFILE_ENV_API, PROFILE_ENV_PROXMOX_ADAPTER for one. */
function envOf(list: string | undefined): Record<string, string> {
  return list ? Object.fromEntries(list.split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) : {};
}
const flags = [...(snapDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapDir}`] : []), ...(process.env.PROFILE_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])];
const services: Service[] = [];
const sse: { close(): void }[] = [];
try {
  if (process.env.BENCH_NO_BUILD !== '1') await buildServices(ROOT);
  const adapter = runService('proxmox-adapter', 'dist/proxmox-adapter.mjs', { ...env, ...envOf(process.env.PROFILE_ENV_PROXMOX_ADAPTER) }, flags);
  const memEnv: Record<string, string> = memLog ? { MEM_LOG: memLog, NODE_OPTIONS: `--import ${path.join(ROOT, 'bench/mem-log.mjs')} ${process.env.PROFILE_API_NODE_OPTIONS ?? ''}`.trim() } : {};
  const api = runService('api', 'dist/api.mjs', { ...env, ...memEnv, ...envOf(process.env.PROFILE_ENV_API) }, flags);
  services.push(adapter, api);
  const started = performance.now();
  const get = (p: string) => fetch(`http://127.0.0.1:${apiPort}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } }).catch(() => undefined);
  // Every guest known first (a small answer: the counts), so that the RSS the load left and the
  // RSS after the first whole `/api/vms` (~10 MB of JSON) are told apart.
  await waitFor(
    async () => ((await (await get('/api/cluster/status'))?.json().catch(() => undefined)) as { data?: { counts?: { guests?: number } } } | undefined)?.data?.counts?.guests === NODES * PER_NODE,
    { timeoutMs: 180_000, intervalMs: 500, message: 'the api knows every guest' },
  );
  const knownAfter = performance.now() - started;
  const loaded = api.rss();
  await waitFor(async () => ((await (await get('/api/vms'))?.json().catch(() => undefined)) as { data?: unknown[] } | undefined)?.data?.length === NODES * PER_NODE, {
    timeoutMs: 60_000,
    intervalMs: 1_000,
    message: 'the api lists every guest',
  });
  const listed = api.rss();
  process.stdout.write(
    `api RSS once it knew every guest (after ${(knownAfter / 1000).toFixed(1)} s): ${mb(loaded.rssKb)} (peak ${mb(loaded.peakKb)}); after the first whole /api/vms: ${mb(listed.rssKb)} (peak ${mb(listed.peakKb)})\n`,
  );
  const listedAfter = performance.now() - started;
  for (let i = 0; i < SSE_CLIENTS; i++) sse.push(await openSse(`http://127.0.0.1:${apiPort}/api/events`, TOKEN, () => {}));
  if (FANOUT > 0) await fanOut(api, apiPort);
  // PROFILE_SAMPLE_S=<n>: the breakdown every n seconds while the polls go on.
  const every = Number(process.env.PROFILE_SAMPLE_S ?? 0) * 1000;
  // RSS every second over the window: one sample says more about when the last full collection
  // ran than about what is held.
  const samples: { api: number; adapter: number }[] = [];
  const sampler = setInterval(() => samples.push({ api: api.rss().rssKb, adapter: adapter.rss().rssKb }), 1_000);
  // What the two keep in RAM together (union of page frames, see together()), every few seconds
  // (a read of both pagemaps takes ~0.1 s of this process's CPU): PROFILE_PAGES_S, 0 for never.
  // Not root: the kernel hides the page frames (all 0), so the union is not measured.
  const framesReadable = canReadPageFrames();
  const pagesEvery = framesReadable ? Number(process.env.PROFILE_PAGES_S ?? 4) * 1000 : 0;
  const pages: ReturnType<typeof together>[] = [];
  const pageTimer = pagesEvery > 0 ? setInterval(() => pages.push(together([api.child.pid!, adapter.child.pid!])), pagesEvery) : undefined;
  for (let t = 0; t < SECONDS * 1000; t += every || SECONDS * 1000) {
    if (every) for (const s of [api, adapter]) process.stdout.write(`  ${(t / 1000).toFixed(0)} s ${s.name}: ${smaps(s.child.pid!)}\n`);
    await new Promise((r) => setTimeout(r, Math.min(every || SECONDS * 1000, SECONDS * 1000 - t)));
  }
  clearInterval(sampler);
  clearInterval(pageTimer);
  const spreadOf = (v: number[]) => {
    const sorted = [...v].sort((a, b) => a - b);
    return `min ${mb(sorted[0] ?? NaN)}, median ${mb(sorted[Math.floor(sorted.length / 2)] ?? NaN)}, max ${mb(sorted.at(-1) ?? NaN)}`;
  };
  process.stdout.write(
    `RSS over ${samples.length} s of polls (one sample a second): api ${spreadOf(samples.map((x) => x.api))}; proxmox-adapter ${spreadOf(samples.map((x) => x.adapter))}; together ${spreadOf(samples.map((x) => x.api + x.adapter))}\n`,
  );
  if (pages.length) {
    const of = (k: 'rssKb' | 'pssKb' | 'unionKb' | 'bothKb') => spreadOf(pages.map((x) => x[k]));
    process.stdout.write(
      `api + proxmox-adapter over ${pages.length} readings of their pagemaps: RSS sum ${of('rssKb')}; PSS sum ${of('pssKb')}; ` +
        `pages in RAM, counted once (union of page frames) ${of('unionKb')}; mapped by both ${of('bothKb')}\n`,
    );
  }
  if (process.env.PROFILE_OUTPUT) for (const s of [adapter, api]) process.stdout.write(`--- ${s.name} ---\n${s.output().slice(-8000)}\n`);
  const a = adapter.rss();
  const p = api.rss();
  process.stdout.write(
    `${NODES * PER_NODE} guests (listed after ${(listedAfter / 1000).toFixed(1)} s), ${SECONDS} s of polls, ${SSE_CLIENTS} SSE client(s): ` +
      `api ${mb(p.rssKb)} (peak ${mb(p.peakKb)}), proxmox-adapter ${mb(a.rssKb)} (peak ${mb(a.peakKb)}), together ${mb(p.rssKb + a.rssKb)}\n`,
  );
  for (const s of [api, adapter]) process.stdout.write(`  ${s.name}: ${smaps(s.child.pid!)}\n`);
  if (framesReadable) {
    const t0 = performance.now();
    const end = together([api.child.pid!, adapter.child.pid!]);
    process.stdout.write(
      `at the end, api + proxmox-adapter: RSS sum ${mb(end.rssKb)}, PSS sum ${mb(end.pssKb)}, pages in RAM counted once ${mb(end.unionKb)} ` +
        `(api ${mb(end.framesKb[0]!)}, proxmox-adapter ${mb(end.framesKb[1]!)} of distinct frames; ${mb(end.bothKb)} mapped by both; read in ${(performance.now() - t0).toFixed(0)} ms)\n`,
    );
  }
  if (snapDir) {
    for (const s of [adapter, api]) {
      const before = readdirSync(snapDir).length;
      s.child.kill('SIGUSR2');
      await waitFor(() => readdirSync(snapDir).length > before, { timeoutMs: 120_000, intervalMs: 500, message: `${s.name}'s heap snapshot` });
      await new Promise((r) => setTimeout(r, 3_000));
      process.stdout.write(`heap snapshot of ${s.name} (pid ${s.child.pid}) in ${snapDir}\n`);
    }
  }
} finally {
  if (memLog) rmSync(memLog, { force: true });
  for (const c of sse) c.close();
  for (const s of services.reverse()) await s.stop();
  await sim.close();
  await nats.dispose();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);

/** The api's memory split from bench/mem-log.mjs (PROFILE_MEM_LOG=1), in MB. */
function split(): string {
  if (!memLog || !existsSync(memLog)) return '';
  let m: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; spaces: Record<string, [number, number]>; gcs: Record<string, number> };
  try {
    m = JSON.parse(readFileSync(memLog, 'utf8'));
  } catch {
    return ''; // read while it was being written
  }
  const f = (b: number) => (b / 1e6).toFixed(1);
  const spaces = Object.entries(m.spaces).filter(([, [size]]) => size > 1e6).map(([k, [size, used]]) => `${k} ${f(used)}/${f(size)}`).join(', ');
  return `heap ${f(m.heapUsed)} used / ${f(m.heapTotal)} committed (${spaces}); external ${f(m.external)} (array buffers ${f(m.arrayBuffers)}); rest ${f(m.rss - m.heapTotal - m.external)}; gcs ${JSON.stringify(m.gcs)}`;
}

/**
 * bench/run.ts's SSE fan-out: FANOUT clients connect, each read to its snapshot, then 500 guest
 * updates/s for 3 s; then the clients close and the api's RSS is printed over the next 20 s.
 */
async function fanOut(api: Service, port: number): Promise<void> {
  const pid = api.child.pid!;
  const line = (what: string) => {
    const r = api.rss();
    process.stdout.write(`  api ${what}: RSS ${mb(r.rssKb)} (peak ${mb(r.peakKb)}) ${split()}\n`);
  };
  line('before the fan-out');
  const cpu0 = cpuMs(pid);
  const fan = await sseFanOut({
    eventsUrl: `http://127.0.0.1:${port}/api/events`,
    token: TOKEN,
    natsUrl: nats.url,
    clients: FANOUT,
    seconds: 3,
    log: createLogger('bench', { level: 'warn' }),
    onSnapshots: (took) => line(`with ${FANOUT} clients, every snapshot read (${(took / 1000).toFixed(1)} s)`),
  });
  const f = fan.latency;
  const cpu = cpuMs(pid) - cpu0;
  line('after the updates');
  await fan.close();
  const closed = performance.now();
  // PROFILE_GC_AFTER=1 (with PROFILE_NODE_FLAGS=--expose-gc and PROFILE_MEM_LOG=1): a full collection in the api once the clients closed.
  if (process.env.PROFILE_GC_AFTER === '1') setTimeout(() => api.child.kill('SIGWINCH'), 500);
  process.stdout.write(
    `fan-out: snapshots to ${FANOUT} clients in ${(fan.snapshotsMs / 1000).toFixed(1)} s, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms publish → client (${f.n}/${fan.expected}), api CPU ${cpu.toFixed(0)} ms\n`,
  );
  for (const at of [0, 1, 2, 5, 10, 20]) {
    const wait = closed + at * 1000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    line(`${at} s after the clients closed`);
  }
}
