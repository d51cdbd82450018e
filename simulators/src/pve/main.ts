/**
 * Runs the simulated Proxmox VE API on its own:
 *
 *   npx tsx simulators/src/pve/main.ts
 *
 * PVE_SIM_PORT (8006; 0 = a free port), PVE_SIM_TLS (1), PVE_SIM_PRESET (demo | generated | empty),
 * PVE_SIM_NODES, PVE_SIM_GUESTS_PER_NODE, PVE_SIM_SEED, PVE_SIM_CLUSTER (homelab),
 * PVE_SIM_STANDALONE (0), PVE_SIM_TOKEN (user@realm!name=secret; default the demo token),
 * PVE_SIM_TOKEN_PRIVILEGES (VM.Audit,VM.PowerMgmt,Sys.Audit,Datastore.Audit), PVE_SIM_VERSION
 * (9.0.10), PVE_SIM_TASK_DURATIONS (e.g. start=1500,stop=500), PVE_SIM_LOAD_INTERVAL_MS (2000),
 * PVE_SIM_STATS_INTERVAL_MS (0), PVE_SIM_LEGACY_STRING_VMID (0), PVE_SIM_LATENCY_MS (0).
 *
 * It prints what a client needs as KEY=value lines: PVE_URL, PVE_CA_FILE, PVE_FINGERPRINT,
 * PVE_TOKEN_ID, PVE_TOKEN_SECRET.
 */
import { ConfigError, createLogger, onShutdown } from '@molten/kit';
import { simulatorOptionsFromEnv } from './env.js';
import { startPveSimulator } from './simulator.js';

const log = createLogger('pve-simulator');

let options;
try {
  options = simulatorOptionsFromEnv();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}

let sim;
try {
  sim = await startPveSimulator({ ...options, logger: log });
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') {
    console.error(`Port ${options.port} on 127.0.0.1 is already in use. Stop what uses it, or set PVE_SIM_PORT to another port (0 picks a free one).`);
    process.exit(1);
  }
  console.error(`The PVE simulator could not start: ${e.message}`);
  process.exit(1);
}

const token = sim.tokens[0]!;
const guests = sim.guests();
const where = sim.clusterName ? `cluster "${sim.clusterName}"` : 'standalone node';
console.log(`Simulated Proxmox VE ${sim.release.version}, ${where}: ${sim.nodes.length} node(s), ${guests.length} guest(s)`);
console.log(`PVE_URL=${sim.url}`);
if (sim.caFile) console.log(`PVE_CA_FILE=${sim.caFile}`);
console.log(`PVE_FINGERPRINT=${sim.fingerprint}`);
console.log(`PVE_TOKEN_ID=${token.id}`);
console.log(`PVE_TOKEN_SECRET=${token.secret}`);

const shutdown = onShutdown(log);
shutdown.add('pve simulator', () => sim.close());
