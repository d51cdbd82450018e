/**
 * CPU profiles of the api and the proxmox-adapter while they follow a large cluster's poll and
 * nothing else: `BENCH_PROFILE=<dir> node --import tsx bench/profile-poll.ts` (BENCH_NODES,
 * BENCH_GUESTS_PER_NODE, PROFILE_SECONDS). Open the .cpuprofile files in Chrome DevTools, or
 * summarize them with `node --import tsx bench/profile-top.ts <file>`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_TOKEN } from '@molten/simulators/pve';
import { NatsServer, freePort, waitFor } from '@molten/testkit';
import { buildServices } from '@molten/launcher/build-services';
import { ROOT, cpuMs, runService, type Service } from './processes.js';
import { startSimProcess } from './sim-handle.js';

const NODES = Number(process.env.BENCH_NODES ?? 50);
const PER_NODE = Number(process.env.BENCH_GUESTS_PER_NODE ?? 100);
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 30);
const POLL_MS = 2_000;
const TOKEN = 'bench-operator-token-0123456789abcdef';

if (!process.env.BENCH_PROFILE) throw new Error('set BENCH_PROFILE=<dir> for the profiles');
const nats = await NatsServer.start();
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-profile-'));
// Load changes every second: each poll has figures to diff and publish, as in a live cluster.
const sim = await startSimProcess({ nodes: NODES, guestsPerNode: PER_NODE, seed: 7, loadIntervalMs: 1_000 });
const apiPort = await freePort();
const env = {
  NATS_URL: nats.url,
  MOLTEN_CLUSTER: 'homelab',
  PVE_URL: sim.url,
  PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`,
  PVE_CA_FILE: sim.caFile ?? '',
  PVE_POLL_MS: String(POLL_MS),
  MOLTEN_PORT: String(apiPort),
  MOLTEN_GRPC_PORT: '0',
  MOLTEN_TOKEN: TOKEN,
  MOLTEN_DATA_DIR: dataDir,
};
const services: Service[] = [];
try {
  await buildServices(ROOT);
  const adapter = runService('proxmox-adapter', 'dist/proxmox-adapter.mjs', env);
  const api = runService('api', 'dist/api.mjs', env);
  services.push(adapter, api);
  await waitFor(
    async () => {
      const res = await fetch(`http://127.0.0.1:${apiPort}/api/vms`, { headers: { authorization: `Bearer ${TOKEN}` } }).catch(() => undefined);
      return ((await res?.json().catch(() => undefined)) as { data?: unknown[] } | undefined)?.data?.length === NODES * PER_NODE;
    },
    { timeoutMs: 120_000, intervalMs: 500, message: 'the api lists every guest' },
  );
  const before = { api: cpuMs(api.child.pid!), adapter: cpuMs(adapter.child.pid!) };
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const polls = (SECONDS * 1000) / POLL_MS;
  process.stdout.write(
    `${NODES * PER_NODE} guests, ${SECONDS} s of polls every ${POLL_MS} ms: CPU per poll api ${((cpuMs(api.child.pid!) - before.api) / polls).toFixed(0)} ms, ` +
      `proxmox-adapter ${((cpuMs(adapter.child.pid!) - before.adapter) / polls).toFixed(0)} ms; profiles in ${process.env.BENCH_PROFILE}\n`,
  );
} finally {
  for (const s of services.reverse()) await s.stop();
  await sim.close();
  await nats.dispose();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
