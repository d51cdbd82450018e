import { z } from 'zod';
import { env, instanceId } from './config.js';

/**
 * The environment every adapter reads the same way: the bus and its replica settings, and demo
 * mode. Each adapter's schema spreads it (`z.object({ ...adapterEnv, ...its own })`), so a
 * variable means one thing, with one default and one range, in every adapter.
 */
export const adapterEnv = {
  /** Comma-separated servers; credentials may ride in the URL (see natsServers in @molten/bus). */
  NATS_URL: z.preprocess((v) => (typeof v === 'string' && v.trim() ? v.trim() : undefined), z.string().default('nats://127.0.0.1:4222')),
  MOLTEN_INSTANCE: env.string(),
  MOLTEN_HEARTBEAT_MS: env.int(100, 60_000, 2_000),
  /** Also the molten-leases bucket's TTL: every service provisions it with this value. */
  MOLTEN_LEASE_TTL_MS: env.int(500, 300_000, 10_000),
  MOLTEN_COMMAND_CONCURRENCY: env.int(1, 1_000, 32),
  /** Keep it well below the api's MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS (see CommandWorkerOptions.ackWaitMs in @molten/bus). */
  MOLTEN_COMMAND_ACK_WAIT_MS: env.int(1_000, 600_000, 5_000),
  /** Unset: each adapter decides (the homelab-adapter turns demo mode on when nothing is configured). */
  MOLTEN_DEMO: env.optionalFlag(),
};

export type AdapterEnv = z.infer<z.ZodObject<typeof adapterEnv>>;

/** What the bus runtime (runAdapter in @molten/bus) needs to run an adapter replica. */
export interface BusSettings {
  natsUrl: string;
  /** This replica's name: heartbeats, command transitions, lease holder. */
  instance: string;
  heartbeatMs: number;
  leaseTtlMs: number;
  /** Commands this replica runs at once, per scope. */
  commandConcurrency: number;
  /** How long a command held by a replica that died waits before another replica gets it. */
  commandAckWaitMs: number;
}

/** The bus settings of a parsed adapter environment (MOLTEN_INSTANCE made subject-safe, or host-pid). */
export function busSettings(e: AdapterEnv): BusSettings {
  return {
    natsUrl: e.NATS_URL,
    instance: instanceId({ MOLTEN_INSTANCE: e.MOLTEN_INSTANCE }),
    heartbeatMs: e.MOLTEN_HEARTBEAT_MS,
    leaseTtlMs: e.MOLTEN_LEASE_TTL_MS,
    commandConcurrency: e.MOLTEN_COMMAND_CONCURRENCY,
    commandAckWaitMs: e.MOLTEN_COMMAND_ACK_WAIT_MS,
  };
}
