import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { z } from 'zod';
import { BUCKETS, STREAMS, subjects } from '@molten/contracts';
import { ConfigError, loadEnv, sleep, streamReplicasEnv, type Logger } from '@molten/kit';
import { isTransientBusError } from './command-store.js';

export interface ProvisionOptions {
  /** "file" (default) survives a nats-server restart; "memory" is for throwaway setups. */
  storage?: 'file' | 'memory';
  /** How long events are kept for replay (default 24 h). */
  eventsMaxAgeMs?: number;
  /** Upper bound on the events stream's size (default 512 MiB). */
  eventsMaxBytes?: number;
  /** How long command records and idempotency keys are kept (default 7 days). */
  commandsTtlMs?: number;
  /** A lease not renewed within this time expires, and another replica takes over (default 10 s). */
  leaseTtlMs?: number;
  /** Servers each stream and bucket is kept on in a clustered NATS (MOLTEN_STREAM_REPLICAS; default 1). */
  replicas?: number;
}

export const DEFAULT_LEASE_TTL_MS = 10_000;

/**
 * The deployment-wide settings of streams and buckets, from the environment every service
 * shares (MOLTEN_LEASE_TTL_MS, MOLTEN_STREAM_REPLICAS), so that whichever service starts first
 * provisions the same. A MOLTEN_STREAM_REPLICAS that is not a whole number from 1 to 5 is a
 * ConfigError naming it.
 */
export function provisionOptionsFromEnv(source: NodeJS.ProcessEnv = process.env): ProvisionOptions {
  const { MOLTEN_STREAM_REPLICAS } = loadEnv(z.object({ MOLTEN_STREAM_REPLICAS: streamReplicasEnv }), source);
  const ttl = Number(source.MOLTEN_LEASE_TTL_MS);
  return { replicas: MOLTEN_STREAM_REPLICAS, ...(Number.isInteger(ttl) && ttl >= 500 ? { leaseTtlMs: ttl } : {}) };
}

/** How long provisioning waits for a JetStream that is not ready yet (a cluster electing its leader). */
const PROVISION_WAIT_MS = 60_000;

/** Stream configs, from the subject table. Exported so docs and tests read the same values. */
type NamedStreamConfig = Partial<StreamConfig> & { name: string };

export function streamConfigs(o: ProvisionOptions = {}): NamedStreamConfig[] {
  const storage = o.storage === 'memory' ? StorageType.Memory : StorageType.File;
  const replicas = o.replicas ?? 1;
  const kvBase = (name: string, maxAgeMs: number, maxBytes: number): NamedStreamConfig => ({
    name: `KV_${name}`,
    subjects: [`$KV.${name}.>`],
    retention: RetentionPolicy.Limits,
    storage,
    num_replicas: replicas,
    max_msgs_per_subject: 1,
    max_age: nanos(maxAgeMs),
    max_bytes: maxBytes,
    discard: DiscardPolicy.New,
    deny_delete: true,
    deny_purge: false,
    allow_rollup_hdrs: true,
    allow_direct: true,
    duplicate_window: nanos(Math.min(120_000, maxAgeMs || 120_000)),
  });
  return [
    {
      name: STREAMS.commands,
      subjects: [subjects.all.commands],
      retention: RetentionPolicy.Workqueue,
      storage,
      num_replicas: replicas,
      // Nats-Msg-Id dedupes a command published twice within this window; beyond it the
      // command record (created with KV create()) is what keeps a command from running twice.
      duplicate_window: nanos(120_000),
      max_age: nanos(24 * 3600_000),
      max_msgs: 1_000_000,
      discard: DiscardPolicy.New,
    },
    {
      name: STREAMS.events,
      subjects: [subjects.all.state, subjects.all.events, subjects.all.commandStatus, subjects.all.commandProgress],
      retention: RetentionPolicy.Limits,
      storage,
      num_replicas: replicas,
      max_age: nanos(o.eventsMaxAgeMs ?? 24 * 3600_000),
      max_bytes: o.eventsMaxBytes ?? 512 * 1024 * 1024,
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(120_000),
    },
    kvBase(BUCKETS.state, 0, -1),
    kvBase(BUCKETS.commands, o.commandsTtlMs ?? 7 * 24 * 3600_000, -1),
    kvBase(BUCKETS.leases, o.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS, -1),
  ];
}

/**
 * Creates the streams and KV buckets Molten needs, or brings existing ones to the wanted
 * config. Safe to run from every replica at every start, at the same time.
 */
export async function provision(jsm: JetStreamManager, log: Logger, o: ProvisionOptions = {}): Promise<void> {
  const since = Date.now();
  for (const cfg of streamConfigs(o)) {
    const name = cfg.name;
    for (let attempt = 0; ; attempt++) {
      try {
        const info = await jsm.streams.info(name).catch((err: unknown) => {
          if (err instanceof JetStreamApiError && err.apiError().err_code === JetStreamApiCodes.StreamNotFound) return undefined;
          throw err;
        });
        if (!info) {
          await jsm.streams.add(cfg);
          log.info({ stream: name }, 'created stream');
        } else if (differs(info.config as unknown as Record<string, unknown>, cfg as Record<string, unknown>)) {
          // Storage and retention cannot change on a live stream; everything else can. A service
          // whose NATS user may not manage streams leaves the config to one that may.
          const { storage: _s, retention: _r, ...update } = cfg;
          try {
            await jsm.streams.update(name, { ...info.config, ...update });
            log.info({ stream: name }, 'updated stream config');
          } catch (err) {
            log.warn({ stream: name, err }, 'stream config differs from this service\'s settings and could not be updated; using it as it is');
          }
        }
        break;
      } catch (err) {
        // Another replica created it between our info and add: look again.
        if (attempt < 3 && /already in use|exists/i.test(String((err as Error).message))) continue;
        // A cluster that has just started (or lost a node) answers once it has elected a leader
        // and its servers know each other.
        if ((isTransientBusError(err) || notPlaceableYet(err, o.replicas ?? 1)) && Date.now() - since < PROVISION_WAIT_MS) {
          if (attempt === 0) log.info({ stream: name, err }, 'JetStream is not ready yet; waiting');
          await sleep(Math.min(250 * 2 ** attempt, 2_000));
          continue;
        }
        throw replicasProblem(err, o.replicas ?? 1) ?? err;
      }
    }
  }
}

function differs(have: Record<string, unknown>, want: Record<string, unknown>): boolean {
  for (const [k, v] of Object.entries(want)) {
    if (k === 'storage' || k === 'retention') continue;
    if (JSON.stringify(have[k]) !== JSON.stringify(v)) return true;
  }
  return false;
}

/** Too few servers for the replicas, which a cluster that is still forming can grow out of. */
function notPlaceableYet(err: unknown, replicas: number): boolean {
  return replicas > 1 && /insufficient resources|no suitable peers/i.test(String((err as Error)?.message));
}

/** A clear word for a replica count the NATS deployment cannot hold (undefined for other errors). */
function replicasProblem(err: unknown, replicas: number): ConfigError | undefined {
  const text = String((err as Error)?.message);
  if (replicas > 1 && /non-clustered mode/i.test(text)) {
    return new ConfigError(
      `MOLTEN_STREAM_REPLICAS=${replicas}, but this nats-server is not part of a cluster (JetStream: "${text}"). Set MOLTEN_STREAM_REPLICAS=1, or run a NATS cluster (deploy/nats/cluster) and list its servers in NATS_URL.`,
      { cause: err },
    );
  }
  if (replicas > 1 && /insufficient resources|no suitable peers/i.test(text)) {
    return new ConfigError(
      `MOLTEN_STREAM_REPLICAS=${replicas}, but the NATS cluster has had fewer JetStream servers up than that for a minute (JetStream: "${text}"). Lower MOLTEN_STREAM_REPLICAS, or bring the cluster's servers up.`,
      { cause: err },
    );
  }
  return undefined;
}
