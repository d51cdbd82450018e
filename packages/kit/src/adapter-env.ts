import { z } from 'zod';
import { env, instanceId } from './config.js';

/**
 * MOLTEN_STREAM_REPLICAS: how many nats-servers keep each of Molten's streams and KV buckets:
 * 1 on a single server, 3 on a three-node cluster (any one node can then go). Deployment-wide:
 * every service provisions the streams with it, so every service must be given the same.
 */
const REPLICAS_RULE = { error: 'must be a whole number from 1 to 5 (1 on one nats-server, 3 on a three-node cluster)' };
export const streamReplicasEnv = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  z.coerce.number(REPLICAS_RULE).int(REPLICAS_RULE).min(1, REPLICAS_RULE).max(5, REPLICAS_RULE).default(1),
);

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
  MOLTEN_STREAM_REPLICAS: streamReplicasEnv,
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
  /** Servers each stream and bucket is kept on (MOLTEN_STREAM_REPLICAS; default 1). */
  streamReplicas?: number;
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
    streamReplicas: e.MOLTEN_STREAM_REPLICAS,
  };
}
