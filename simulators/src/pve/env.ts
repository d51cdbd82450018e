import { ConfigError, env, loadEnv, secret } from '@molten/kit';
import { z } from 'zod';
import type { PveTokenSpec } from './auth.js';
import { DEMO_TOKEN } from './presets.js';
import type { TaskDurations } from './power.js';
import type { PveSimulatorOptions } from './simulator.js';

const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalInt = (min: number, max: number) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.preprocess(blank, z.coerce.number({ message }).int({ message }).min(min, { message }).max(max, { message }).optional());
};
const optionalFlag = () => z.preprocess(blank, z.enum(['1', '0', 'true', 'false', 'yes', 'no'], { message: 'must be 1 or 0' }).optional());

const DURATION_KEYS = ['start', 'stop', 'shutdown', 'reboot', 'reset', 'suspend', 'resume', 'ha', 'haManager'] as const;

const schema = z.object({
  PVE_SIM_PORT: env.port(8006),
  PVE_SIM_TLS: env.flag(true),
  PVE_SIM_PRESET: z.preprocess(blank, z.enum(['demo', 'generated', 'empty']).optional()),
  PVE_SIM_NODES: optionalInt(1, 500),
  PVE_SIM_GUESTS_PER_NODE: optionalInt(0, 10_000),
  PVE_SIM_SEED: optionalInt(0, 2 ** 31 - 1),
  PVE_SIM_CLUSTER: z.preprocess(blank, z.string().regex(/^[A-Za-z0-9-]{1,15}$/, 'must be 1-15 letters, digits or "-" (a corosync cluster name)').optional()),
  PVE_SIM_STANDALONE: env.flag(false),
  PVE_SIM_TOKEN: z.preprocess(
    blank,
    z.string().regex(/^[^\s=]+@[^\s=]+![^\s=]+=\S+$/, 'must be user@realm!tokenname=secret, e.g. root@pam!molten=<uuid>').optional(),
  ),
  PVE_SIM_TOKEN_PRIVILEGES: env.string(),
  PVE_SIM_VERSION: z.preprocess(blank, z.string().regex(/^\d+\.\d+\.\d+$/, 'must be major.minor.patch, e.g. 9.0.10').optional()),
  PVE_SIM_TASK_DURATIONS: z.preprocess(
    blank,
    z
      .string()
      .regex(
        new RegExp(`^(${DURATION_KEYS.join('|')})=\\d+(,(${DURATION_KEYS.join('|')})=\\d+)*$`),
        `must be key=ms pairs separated by commas, keys: ${DURATION_KEYS.join(', ')} (e.g. start=1500,stop=500)`,
      )
      .optional(),
  ),
  PVE_SIM_LOAD_INTERVAL_MS: optionalInt(0, 3_600_000),
  PVE_SIM_STATS_INTERVAL_MS: optionalInt(0, 3_600_000),
  PVE_SIM_LEGACY_STRING_VMID: optionalFlag(),
  PVE_SIM_LATENCY_MS: optionalInt(0, 600_000),
});

/**
 * The simulator's options from PVE_SIM_* variables (see main.ts for the list). Throws a
 * ConfigError naming every bad variable.
 */
export function simulatorOptionsFromEnv(source: NodeJS.ProcessEnv = process.env): PveSimulatorOptions {
  const e = loadEnv(schema, source);
  const o: PveSimulatorOptions = { port: e.PVE_SIM_PORT, tls: e.PVE_SIM_TLS };
  if (e.PVE_SIM_PRESET) o.preset = e.PVE_SIM_PRESET;
  if (e.PVE_SIM_NODES !== undefined) o.nodes = e.PVE_SIM_NODES;
  if (e.PVE_SIM_GUESTS_PER_NODE !== undefined) o.guestsPerNode = e.PVE_SIM_GUESTS_PER_NODE;
  if (e.PVE_SIM_SEED !== undefined) o.seed = e.PVE_SIM_SEED;
  if (e.PVE_SIM_CLUSTER) o.clusterName = e.PVE_SIM_CLUSTER;
  if (e.PVE_SIM_STANDALONE) o.standalone = true;
  if (e.PVE_SIM_VERSION) o.version = e.PVE_SIM_VERSION;
  if (e.PVE_SIM_LOAD_INTERVAL_MS !== undefined) o.loadIntervalMs = e.PVE_SIM_LOAD_INTERVAL_MS;
  if (e.PVE_SIM_STATS_INTERVAL_MS !== undefined) o.statsIntervalMs = e.PVE_SIM_STATS_INTERVAL_MS;
  if (e.PVE_SIM_LATENCY_MS !== undefined) o.latencyMs = e.PVE_SIM_LATENCY_MS;
  if (e.PVE_SIM_LEGACY_STRING_VMID !== undefined) o.legacyStringVmid = ['1', 'true', 'yes'].includes(e.PVE_SIM_LEGACY_STRING_VMID);
  if (e.PVE_SIM_TASK_DURATIONS) {
    const d: Partial<TaskDurations> = {};
    for (const pair of e.PVE_SIM_TASK_DURATIONS.split(',')) {
      const [k, v] = pair.split('=') as [keyof TaskDurations, string];
      d[k] = Number(v);
    }
    o.taskDurations = d;
  }

  let token: PveTokenSpec = DEMO_TOKEN;
  if (e.PVE_SIM_TOKEN) {
    const eq = e.PVE_SIM_TOKEN.indexOf('=');
    token = { id: e.PVE_SIM_TOKEN.slice(0, eq), secret: secret(e.PVE_SIM_TOKEN.slice(eq + 1)), privileges: DEMO_TOKEN.privileges };
  }
  if (e.PVE_SIM_TOKEN_PRIVILEGES !== undefined) {
    const privileges = e.PVE_SIM_TOKEN_PRIVILEGES.split(/[\s,]+/).filter(Boolean);
    if (privileges.length === 0) throw new ConfigError('PVE_SIM_TOKEN_PRIVILEGES: list at least one privilege, e.g. VM.Audit,VM.PowerMgmt');
    token = { ...token, privileges };
  }
  o.tokens = [token];
  return o;
}
