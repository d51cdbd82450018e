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
import { BUCKETS, STREAMS, subjects } from '@molten/contracts';
import type { Logger } from '@molten/kit';

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
  /** Replicas of each stream in a clustered NATS (default 1). */
  replicas?: number;
}

export const DEFAULT_LEASE_TTL_MS = 10_000;

/**
 * The deployment-wide settings of streams and buckets, from the environment every service
 * shares (MOLTEN_LEASE_TTL_MS), so that whichever service starts first provisions the same.
 */
export function provisionOptionsFromEnv(source: NodeJS.ProcessEnv = process.env): ProvisionOptions {
  const ttl = Number(source.MOLTEN_LEASE_TTL_MS);
  return Number.isInteger(ttl) && ttl >= 500 ? { leaseTtlMs: ttl } : {};
}

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
        throw err;
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
