import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { BUCKETS } from '@molten/contracts';
import { registerSecret, type Logger } from '@molten/kit';
import { provision, provisionOptionsFromEnv, type ProvisionOptions } from './provision.js';

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  kv: { state: KV; commands: KV; leases: KV };
  log: Logger;
  /** False while the connection is lost and being re-established. */
  connected(): boolean;
  /**
   * Calls listener after each reconnect. Consumers restart their subscriptions at once instead
   * of waiting for missed heartbeats to tell them the server came back.
   */
  onReconnect(listener: () => void): () => void;
  /** Reconnects so far (for metrics). */
  reconnects(): number;
  /** When the connection last came back (ms since epoch; 0 when it never dropped). */
  lastReconnectAtMs(): number;
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
 * Splits NATS_URL ("nats://a:4222,nats://b:4222") into servers, taking credentials out of the
 * URLs ("nats://user:password@host:4222", or "nats://token@host:4222"), which nats.js does not
 * read from a URL itself. The password or token is registered as a secret.
 */
export function natsServers(url: string): { servers: string[]; user?: string; pass?: string; token?: string } {
  let user: string | undefined;
  let pass: string | undefined;
  let token: string | undefined;
  const servers = url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^([a-z]+:\/\/)?([^@/]*)@(.+)$/i.exec(s);
      if (!m) return s;
      const [, scheme = '', credentials = '', rest = ''] = m;
      const i = credentials.indexOf(':');
      if (i >= 0) {
        user = decodeURIComponent(credentials.slice(0, i));
        pass = decodeURIComponent(credentials.slice(i + 1));
        registerSecret(pass);
      } else {
        token = decodeURIComponent(credentials);
        registerSecret(token);
      }
      return `${scheme}${rest}`;
    });
  return { servers, user, pass, token };
}

/**
 * Connects to NATS (retrying until the server is there, and reconnecting forever after),
 * provisions streams and buckets, and opens the buckets.
 */
export async function connectBus(opts: ConnectOptions): Promise<Bus> {
  const { log } = opts;
  const { servers, user, pass, token } = natsServers(opts.servers);
  const nc = await connect({
    servers,
    ...(user !== undefined ? { user, pass } : {}),
    ...(token !== undefined ? { token } : {}),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: opts.reconnectTimeWaitMs ?? 500,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
    // nats.js otherwise builds an Error (with its stack) for every request and publish, to give
    // a later timeout an async trace: ~20 % of the adapter's CPU while it publishes a poll.
    noAsyncTraces: true,
  });
  log.info({ server: nc.getServer() }, 'connected to NATS');
  let connected = true;
  let reconnects = 0;
  let lastReconnectAtMs = 0;
  const reconnectListeners = new Set<() => void>();
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        log.warn({ server: s.server }, 'NATS connection lost; reconnecting');
      } else if (s.type === 'reconnect') {
        connected = true;
        reconnects++;
        lastReconnectAtMs = Date.now();
        log.info({ server: s.server }, 'NATS reconnected');
        for (const l of reconnectListeners) l();
      }
      else if (s.type === 'error') log.warn({ err: s.error }, 'NATS error');
    }
  })();

  // No API check here: a cluster that is still electing its JetStream leader would fail it;
  // provisioning waits for JetStream instead.
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  await provision(jsm, log, opts.provision ?? provisionOptionsFromEnv());
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
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    reconnects: () => reconnects,
    lastReconnectAtMs: () => lastReconnectAtMs,
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
