import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';
import { CapturedPublisher } from './captured-publish.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('CapturedPublisher', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let n = 0;
  let stream = '';
  let publisher: CapturedPublisher | undefined;

  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc.close();
    await server.dispose();
  });
  afterEach(() => publisher?.close());

  /** A fresh stream name and subject prefix per test. */
  const next = () => {
    n++;
    stream = `CAP${n}`;
    return `cap${n}`;
  };
  const createStream = (prefix: string) => jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], duplicate_window: 120_000_000_000 });
  /** What the stream holds, in order, as "subject data". */
  const stored = async (): Promise<string[]> => {
    const info = await jsm.streams.info(stream);
    const out: string[] = [];
    if (!info.state.messages) return out;
    const consumer = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
    const messages = await consumer.fetch({ max_messages: info.state.messages, expires: 2_000 });
    for await (const m of messages) {
      out.push(`${m.subject} ${new TextDecoder().decode(m.data)}`);
      if (out.length === info.state.messages) break;
    }
    return out;
  };

  it('publishes without waiting, and the stream acknowledges each message once', async () => {
    const prefix = next();
    await createStream(prefix);
    publisher = new CapturedPublisher(nc, testLogger('cap'));
    publisher.publish(`${prefix}.a`, enc('accepted'), { msgId: 'a1', key: 'a' });
    publisher.publish(`${prefix}.a`, enc('running'), { msgId: 'a2', key: 'a' });
    publisher.publish(`${prefix}.b`, enc('accepted'), { msgId: 'b1', key: 'b' });
    await waitFor(() => publisher!.pending === 0, { message: 'every message acknowledged' });
    const all = await stored();
    expect([...all].sort()).toEqual([`${prefix}.a accepted`, `${prefix}.a running`, `${prefix}.b accepted`]);
    expect(all.filter((s) => s.startsWith(`${prefix}.a`))).toEqual([`${prefix}.a accepted`, `${prefix}.a running`]);
    expect(publisher.resent).toBe(0);
  });

  it('sends again what the stream did not take, in order per key, until it does', async () => {
    const prefix = next();
    // No stream yet (as while a cluster elects the stream's leader): nothing takes the messages.
    publisher = new CapturedPublisher(nc, testLogger('cap'), { resendAfterMs: 100 });
    publisher.publish(`${prefix}.x`, enc('accepted'), { msgId: 'x1', key: 'x' });
    publisher.publish(`${prefix}.x`, enc('running'), { msgId: 'x2', key: 'x' });
    publisher.publish(`${prefix}.x`, enc('succeeded'), { msgId: 'x3', key: 'x' });
    await waitFor(() => publisher!.resent >= 2, { message: 'sent again while nothing took it' });
    expect(publisher.pending).toBe(3);
    await createStream(prefix);
    await waitFor(() => publisher!.pending === 0, { message: 'every message acknowledged once the stream is there' });
    expect(await stored()).toEqual([`${prefix}.x accepted`, `${prefix}.x running`, `${prefix}.x succeeded`]);
  });

  it('does not store twice a message whose first copy landed (same message id)', async () => {
    const prefix = next();
    await createStream(prefix);
    // The first copy was stored and only its acknowledgement lost: the copy sent again is a duplicate.
    await jetstream(nc).publish(`${prefix}.y`, enc('accepted'), { msgID: 'y1' });
    publisher = new CapturedPublisher(nc, testLogger('cap'));
    publisher.publish(`${prefix}.y`, enc('accepted'), { msgId: 'y1', key: 'y' });
    await waitFor(() => publisher!.pending === 0, { message: 'acknowledged as a duplicate' });
    expect(await stored()).toEqual([`${prefix}.y accepted`]);
  });

  it('gives a message up after its bound, and the key goes on', async () => {
    const prefix = next();
    publisher = new CapturedPublisher(nc, testLogger('cap'), { resendAfterMs: 50, giveUpAfterMs: 300 });
    publisher.publish(`${prefix}.z`, enc('lost'), { msgId: 'z1', key: 'z' });
    publisher.publish(`${prefix}.z`, enc('later'), { msgId: 'z2', key: 'z' });
    await waitFor(() => publisher!.givenUp === 2, { message: 'both given up' });
    expect(publisher.pending).toBe(0);
    await createStream(prefix);
    publisher.publish(`${prefix}.z`, enc('after'), { msgId: 'z3', key: 'z' });
    await waitFor(() => publisher!.pending === 0, { message: 'the key goes on' });
    expect(await stored()).toEqual([`${prefix}.z after`]);
  });
});
