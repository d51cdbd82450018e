import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ConfigError } from '@molten/kit';
import { NatsServer, testLogger } from '@molten/testkit';
import { provision, provisionOptionsFromEnv, streamConfigs } from './provision.js';

describe('provisionOptionsFromEnv', () => {
  it('takes the replica count from MOLTEN_STREAM_REPLICAS (1 when unset or empty)', () => {
    expect(provisionOptionsFromEnv({}).replicas).toBe(1);
    expect(provisionOptionsFromEnv({ MOLTEN_STREAM_REPLICAS: '' }).replicas).toBe(1);
    expect(provisionOptionsFromEnv({ MOLTEN_STREAM_REPLICAS: '3' }).replicas).toBe(3);
    expect(provisionOptionsFromEnv({ MOLTEN_STREAM_REPLICAS: ' 5 ', MOLTEN_LEASE_TTL_MS: '3000' })).toEqual({ replicas: 5, leaseTtlMs: 3000 });
  });

  it.each(['0', '6', '2.5', 'three', '-1'])('refuses MOLTEN_STREAM_REPLICAS=%s, naming the variable and the range', (value) => {
    expect(() => provisionOptionsFromEnv({ MOLTEN_STREAM_REPLICAS: value })).toThrow(ConfigError);
    expect(() => provisionOptionsFromEnv({ MOLTEN_STREAM_REPLICAS: value })).toThrow(/MOLTEN_STREAM_REPLICAS: must be a whole number from 1 to 5/);
  });

  it('gives every stream and bucket the replica count', () => {
    const configs = streamConfigs({ replicas: 3 });
    expect(configs.map((c) => c.name)).toEqual(['MOLTEN_CMD', 'MOLTEN_EVENTS', 'KV_molten-state', 'KV_molten-commands', 'KV_molten-leases']);
    expect(configs.every((c) => c.num_replicas === 3)).toBe(true);
    expect(streamConfigs().every((c) => c.num_replicas === 1)).toBe(true);
  });
});

describe('provision', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  it('says what to do when replicas are asked of a nats-server that is not a cluster', async () => {
    const jsm = await jetstreamManager(nc);
    const err = await provision(jsm, testLogger(), { replicas: 3 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/MOLTEN_STREAM_REPLICAS=3, but this nats-server is not part of a cluster .*Set MOLTEN_STREAM_REPLICAS=1, or run a NATS cluster \(deploy\/nats\/cluster\)/);
    // With 1 it provisions.
    await provision(jsm, testLogger(), { replicas: 1 });
    expect((await jsm.streams.info('MOLTEN_CMD')).config.num_replicas).toBe(1);
  });
});
