import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { BUCKETS } from '@molten/contracts';
import type { Logger } from '@molten/kit';
import { provision, type ProvisionOptions } from './provision.js';

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  kv: { state: KV; commands: KV; leases: KV };
  log: Logger;
  /** False while the connection is lost and being re-established. */
  connected(): boolean;
  /** Drains the connection: in-flight messages are delivered, then it closes. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  servers: string;
  /** Shown in the server's connection list, e.g. "molten-api". */
  name: string;
  log: Logger;
  provision?: ProvisionOptions;
  /** Reconnect delay; the connection retries forever. */
  reconnectTimeWaitMs?: number;
}

/**
 * Connects to NATS (retrying until the server is there, and reconnecting forever after),
 * provisions streams and buckets, and opens the buckets.
 */
export async function connectBus(opts: ConnectOptions): Promise<Bus> {
  const { log } = opts;
  const nc = await connect({
    servers: opts.servers.split(',').map((s) => s.trim()),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: opts.reconnectTimeWaitMs ?? 500,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
  });
  log.info({ server: nc.getServer() }, 'connected to NATS');
  let connected = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        log.warn({ server: s.server }, 'NATS connection lost; reconnecting');
      } else if (s.type === 'reconnect') {
        connected = true;
        log.info({ server: s.server }, 'NATS reconnected');
      }
      else if (s.type === 'error') log.warn({ err: s.error }, 'NATS error');
    }
  })();

  const jsm = await jetstreamManager(nc);
  await provision(jsm, log, opts.provision);
  const js = jetstream(nc);
  const kvm = new Kvm(js);
  const kv = {
    state: await kvm.open(BUCKETS.state),
    commands: await kvm.open(BUCKETS.commands),
    leases: await kvm.open(BUCKETS.leases),
  };
  return {
    nc,
    js,
    jsm,
    kv,
    log,
    connected: () => connected && !nc.isClosed(),
    async close() {
      if (nc.isClosed()) return;
      try {
        await nc.drain();
      } catch {
        await nc.close();
      }
    },
  };
}
