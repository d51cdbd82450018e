/**
 * A service that follows Molten's VM state over NATS, with a durable consumer of its own on the
 * MOLTEN_EVENTS stream: it sees every start, stop and change of every guest, and after a restart
 * it carries on where it stopped (the consumer keeps its position on the server).
 *
 *   NATS_URL=nats://127.0.0.1:4222 NATS_USER=reader NATS_PASSWORD=… \
 *     node --import tsx examples/subscribe-vm-state.ts
 *
 * Environment: NATS_URL (default nats://127.0.0.1:4222), NATS_USER and NATS_PASSWORD (the
 * read-only "reader" user of deploy/nats/nats.conf is enough), DURABLE (the consumer's name,
 * default "vm-state-example"), MOLTEN_CLUSTER (default: every cluster).
 *
 * It prints one JSON line per change: {"seq","cluster","kind","vmid","removed","status","name","node"}.
 * See docs/events.md for the subjects and messages.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AckPolicy, DeliverPolicy, JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Guest, HEADERS, STREAMS, decodeId, type GuestType } from '@molten/contracts';

export interface VmStateChange {
  /** The MOLTEN_EVENTS sequence: a total order of everything Molten published. */
  seq: number;
  cluster: string;
  kind: GuestType;
  vmid: number;
  /** The guest is gone from the cluster (deleted or migrated away from Molten's view). */
  removed: boolean;
  guest?: Guest;
}

export interface SubscribeOptions {
  servers: string;
  user?: string;
  pass?: string;
  /** The durable consumer's name: one per service (replicas of that service share it). */
  durable: string;
  /** One cluster, or every cluster (default). */
  cluster?: string;
  onChange(change: VmStateChange): void | Promise<void>;
  signal?: AbortSignal;
  /** Called once the consumer exists and messages are being pulled. */
  onReady?(): void;
}

/**
 * Follows VM state changes until signal aborts. A change is acknowledged after onChange
 * returns, so a crash in between gets it redelivered (handle changes idempotently: the seq
 * orders them).
 */
export async function subscribeVmState(o: SubscribeOptions): Promise<void> {
  const nc = await connect({ servers: o.servers.split(','), user: o.user, pass: o.pass, name: o.durable });
  try {
    const jsm = await jetstreamManager(nc);
    // One filter per consumer (nats-server 2.9): the cluster's state, of which guests are qemu and lxc.
    const filter = `molten.state.proxmox.${o.cluster ?? '*'}.>`;
    const config = {
      durable_name: o.durable,
      filter_subject: filter,
      ack_policy: AckPolicy.Explicit,
      // A new consumer starts with what happens from now on; read the current state from the
      // molten-state bucket (or the api) first when you need it.
      deliver_policy: DeliverPolicy.New,
      max_ack_pending: 1_000,
    };
    try {
      await jsm.consumers.add(STREAMS.events, config);
    } catch (err) {
      // It exists (this service ran before): keep its position.
      if (!(err instanceof JetStreamApiError)) throw err;
    }
    const consumer = await jetstream(nc).consumers.get(STREAMS.events, o.durable);
    const messages = await consumer.consume({ max_messages: 256 });
    o.signal?.addEventListener('abort', () => void messages.close());
    o.onReady?.();
    for await (const m of messages) {
      const [, , , cluster = '', kind = '', id = ''] = m.subject.split('.');
      if (kind !== 'qemu' && kind !== 'lxc') {
        m.ack();
        continue;
      }
      const removed = m.headers?.get(HEADERS.op) === 'DEL';
      const change: VmStateChange = { seq: m.seq, cluster, kind, vmid: Number(decodeId(id)), removed };
      if (!removed) change.guest = Guest.decode(m.data);
      await o.onChange(change);
      m.ack();
    }
  } finally {
    await nc.drain().catch(() => {});
  }
}

// Run as a program (not imported by a test).
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  await subscribeVmState({
    servers: process.env.NATS_URL || 'nats://127.0.0.1:4222',
    user: process.env.NATS_USER || undefined,
    pass: process.env.NATS_PASSWORD || undefined,
    durable: process.env.DURABLE || 'vm-state-example',
    cluster: process.env.MOLTEN_CLUSTER || undefined,
    signal: stop.signal,
    onReady: () => console.error('following VM state changes (Ctrl-C to stop)'),
    onChange: (c) => {
      const g = c.guest;
      console.log(JSON.stringify({ seq: c.seq, cluster: c.cluster, kind: c.kind, vmid: c.vmid, removed: c.removed, status: g?.status, name: g?.name, node: g?.node }));
    },
  });
}
