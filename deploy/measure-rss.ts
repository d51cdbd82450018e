/**
 * Measures the resident memory of the api and the proxmox-adapter, each its own process, on a
 * simulated cluster of GUESTS guests (default 5,000), to size the containers' memory requests
 * and limits (deploy/k8s, deploy/compose.yaml).
 *
 *   node --import tsx deploy/measure-rss.ts            # GUESTS=5000 NODES=10 SAMPLE_SECONDS=60
 *
 * It runs a local nats-server, the PVE simulator (with load changing every 2 s, so every poll
 * publishes changes), the api and the adapter, waits until the api holds every guest, then
 * samples VmRSS of both processes every second and prints the peak and the median, and their
 * average CPU over the window. Nothing is
 * asserted: this is a measurement, not a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_TOKEN, startPveSimulator } from '@molten/simulators/pve';
import { buildServices } from '@molten/launcher/build-services';
import { NatsServer, freePort } from '@molten/testkit';

const GUESTS = Number(process.env.GUESTS ?? 5_000);
const NODES = Number(process.env.NODES ?? 10);
const SAMPLE_SECONDS = Number(process.env.SAMPLE_SECONDS ?? 60);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'measure-rss-operator-token';

function run(name: string, env: Record<string, string>): ChildProcess {
  // The bundles the images run (npm run build makes them; built again here to be current).
  const p = spawn(process.execPath, [`dist/${name}.mjs`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return p;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds (user + system) the process has used; /proc counts in clock ticks of 1/100 s. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await buildServices(ROOT);
const nats = await NatsServer.start();
const sim = await startPveSimulator({ preset: 'generated', nodes: NODES, guestsPerNode: Math.ceil(GUESTS / NODES), seed: 1 });
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-rss-'));
const port = await freePort();
const api = run('api', { NATS_URL: nats.url, MOLTEN_PORT: String(port), MOLTEN_GRPC_PORT: '0', MOLTEN_TOKEN: TOKEN, MOLTEN_DATA_DIR: dataDir, MOLTEN_DASHBOARD_DIR: path.join(dataDir, 'none') });
const adapter = run('proxmox-adapter', { NATS_URL: nats.url, PVE_URL: sim.url, PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, PVE_CA_FILE: sim.caFile!, MOLTEN_INSTANCE: 'measure' });
try {
  const started = Date.now();
  for (;;) {
    const n = await fetch(`http://127.0.0.1:${port}/api/vms`, { headers: { authorization: `Bearer ${TOKEN}` } })
      .then((r) => (r.ok ? r.json() : { data: [] }))
      .then((b: { data: unknown[] }) => b.data.length)
      .catch(() => 0);
    if (n >= GUESTS) break;
    if (Date.now() - started > 120_000) throw new Error(`the api holds ${n} of ${GUESTS} guests after 120 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`${GUESTS} guests on ${NODES} nodes visible in the api after ${((Date.now() - started) / 1000).toFixed(1)} s; sampling RSS for ${SAMPLE_SECONDS} s`);
  const samples = { api: [] as number[], adapter: [] as number[] };
  const cpuBefore = { api: cpuSeconds(api.pid!), adapter: cpuSeconds(adapter.pid!) };
  for (let i = 0; i < SAMPLE_SECONDS; i++) {
    samples.api.push(rssMiB(api.pid!));
    samples.adapter.push(rssMiB(adapter.pid!));
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const pids = { api: api.pid!, adapter: adapter.pid! };
  for (const [name, xs] of Object.entries(samples) as [keyof typeof pids, number[]][]) {
    const cores = (cpuSeconds(pids[name]) - cpuBefore[name]) / SAMPLE_SECONDS;
    console.log(`${name.padEnd(8)} RSS MiB: median ${median(xs).toFixed(0)}, peak ${Math.max(...xs).toFixed(0)}; CPU ${(cores * 1000).toFixed(0)} millicores on average`);
  }
} finally {
  api.kill('SIGTERM');
  adapter.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 2_000));
  await sim.close();
  await nats.dispose();
  rmSync(dataDir, { recursive: true, force: true });
}
