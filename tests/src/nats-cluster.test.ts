import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { STREAMS } from '@molten/contracts';
import { DEMO_TOKEN, startPveSimulator, type PveSimulator } from '@molten/simulators/pve';
import { NatsCluster, freePort, waitFor } from '@molten/testkit';
import { sseReader } from '../../services/api/src/test/api-fixture.js';
import { acceptDelayMs, awaitLoadOutcome, outcomeLine, powerTargets, submitAtRate } from './support/command-load.js';
import { startService, type ServiceProcess } from './support/processes.js';

const OPERATOR = 'operator-token-for-the-nats-cluster-test';
const COMMANDS = 300;
const RATE = 20;

/**
 * Molten on a three-node NATS cluster (issue 14): the api and two proxmox-adapter replicas, as
 * processes, with every stream and bucket kept on three servers (MOLTEN_STREAM_REPLICAS=3) and
 * NATS_URL listing all three. While 300 commands run, the server that leads the command stream
 * is killed, then brought back: every command succeeds once (one POST each), and the SSE stream
 * carries every transition the bus recorded, in order, on one connection.
 */
describe('Molten on a three-node NATS cluster', () => {
  let cluster: NatsCluster | undefined;
  let sim: PveSimulator | undefined;
  let nc: NatsConnection | undefined;
  let dataDir: string | undefined;
  const services: ServiceProcess[] = [];

  afterAll(async () => {
    for (const s of services) await s.stop(10_000);
    await nc?.close();
    await sim?.close();
    await cluster?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses no command and no event when the node leading the command stream dies and comes back', async () => {
    cluster = await NatsCluster.start({ size: 3 });
    sim = await startPveSimulator({ preset: 'generated', nodes: 8, guestsPerNode: 50, seed: 21, taskDurations: { start: 500, stop: 500 }, loadIntervalMs: 0 });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-nats-cluster-'));
    const [port, grpcPort] = [await freePort(), await freePort()];
    const common = { NATS_URL: cluster.url, MOLTEN_STREAM_REPLICAS: '3', MOLTEN_HEARTBEAT_MS: '500', MOLTEN_LEASE_TTL_MS: '3000' };
    const api = startService('api', {
      ...common,
      MOLTEN_PORT: String(port),
      MOLTEN_GRPC_PORT: String(grpcPort),
      MOLTEN_TOKEN: OPERATOR,
      MOLTEN_DATA_DIR: dataDir,
      MOLTEN_DASHBOARD_DIR: path.join(dataDir, 'no-dashboard'),
      MOLTEN_RATE_LIMIT: '100000',
      MOLTEN_RATE_BURST: '10000',
      // What deploy/nats/cluster sets: a leader election (6–8 s on nats-server 2.9) and the
      // backlog it leaves fit in it with room to spare on a busy machine.
      MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS: '30000',
    });
    services.push(api);
    for (const instance of ['replica-a', 'replica-b']) {
      services.push(
        startService('proxmox-adapter', {
          ...common,
          PVE_URL: sim.url,
          PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`,
          PVE_CA_FILE: sim.caFile!,
          PVE_POLL_MS: '1000',
          MOLTEN_INSTANCE: instance,
        }),
      );
    }
    const url = `http://127.0.0.1:${port}`;
    const json = async (p: string, init: RequestInit = {}) => {
      const r = await fetch(`${url}${p}`, { ...init, headers: { authorization: `Bearer ${OPERATOR}`, ...init.headers } });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined };
    };
    const logs = () => services.map((s) => s.output().slice(-2_000)).join('\n---\n');
    await waitFor(async () => (await json('/api/health')).body?.adapters?.filter((a: { alive: boolean }) => a.alive).length === 2, {
      timeoutMs: 60_000,
      message: 'the api and both replicas run on the cluster',
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${logs()}`);
    });
    await waitFor(async () => (await json('/api/vms')).body?.data?.length >= 400, { timeoutMs: 30_000, message: 'the cluster is published' });

    // Every stream and bucket is kept on three servers.
    nc = await connect({ servers: cluster.url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 2_000 });
    for (const name of [STREAMS.commands, STREAMS.events, 'KV_molten-state', 'KV_molten-commands', 'KV_molten-leases']) {
      expect((await jsm.streams.info(name)).config.num_replicas, name).toBe(3);
    }
    const leader = (await jsm.streams.info(STREAMS.commands)).cluster!.leader!;
    expect(cluster.nodes.map((n) => n.name)).toContain(leader);

    const sse = sseReader(await fetch(`${url}/api/events`, { headers: { authorization: `Bearer ${OPERATOR}` } }));
    let sseEnded = false;
    void sse.done.then(() => (sseEnded = true));
    await waitFor(() => sse.events.some((e) => e.event === 'snapshot'), { message: 'the SSE snapshot' });

    // The load: 20 commands/s; a third of the way in, the command stream's leader dies.
    const targets = powerTargets(sim, COMMANDS);
    let killedAt = 0;
    let fault: Promise<{ newLeader: string; electedMs: number; rejoinedMs: number }> | undefined;
    const submissions = await submitAtRate(json, targets, RATE, (n) => {
      if (n !== COMMANDS / 3) return;
      fault = (async () => {
        killedAt = Date.now();
        await cluster!.kill(leader);
        const newLeader = await waitFor(async () => {
          const l = (await jsm.streams.info(STREAMS.commands)).cluster?.leader;
          return l && l !== leader ? l : undefined;
        }, { timeoutMs: 60_000, intervalMs: 100, message: 'the command stream elects another leader' });
        const electedMs = Date.now() - killedAt;
        // It stays down a while longer, while commands run on the other two, then comes back.
        await new Promise((r) => setTimeout(r, 3_000));
        await cluster!.startAgain(leader);
        await waitFor(async () => {
          const c = (await jsm.streams.info(STREAMS.commands)).cluster;
          return c?.replicas?.length === 2 && c.replicas.every((r) => r.current);
        }, { timeoutMs: 60_000, intervalMs: 200, message: `${leader} is back and current` });
        return { newLeader, electedMs, rejoinedMs: Date.now() - killedAt };
      })();
    });
    const { newLeader, electedMs, rejoinedMs } = await fault!;
    const o = await awaitLoadOutcome(json, sim, submissions, 90_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${logs()}`);
    });

    // SSE: one connection throughout, ids in order, and every transition the events stream
    // recorded for these commands delivered with its sequence as id (no gap).
    const ids = new Set(o.commands.map((c) => c.id));
    // Every transition of the records reaches the events stream, also those published while it
    // had no leader (sent again until it takes them; see CapturedPublisher).
    const inRecords = o.commands.reduce((n, c) => n + c.transitions.length, 0);
    let recorded: number[] = [];
    await waitFor(async () => (recorded = await transitionSeqs(nc!, ids)).length >= inRecords, { timeoutMs: 30_000, message: 'every transition in the events stream' }).catch(() => {});
    const sseIdsNow = () => new Set(sse.events.filter((e) => e.id !== undefined).map((e) => Number(e.id)));
    // The events follow the records closely, not in lockstep: give the stream a moment to deliver.
    const doneAt = Date.now();
    await waitFor(() => recorded.every((seq) => sseIdsNow().has(seq)), { timeoutMs: 30_000, message: 'every recorded transition reaches the SSE client' }).catch(() => {});
    const sseCaughtUpMs = Date.now() - doneAt;
    const sseIds = sse.events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
    const seen = new Set(sseIds);
    const missing = recorded.filter((seq) => !seen.has(seq));
    const outOfOrder = sseIds.filter((id, i) => i > 0 && id <= sseIds[i - 1]!).length;
    const succeededOnSse = new Set(sse.events.filter((e) => e.event === 'command' && e.data.status === 'succeeded').map((e) => e.data.id as string));
    const waits = o.commands.map(acceptDelayMs).filter((d): d is number => d !== undefined).sort((a, b) => a - b);
    const stalledMs = waits.at(-1)!;
    const before = o.commands.filter((c) => Date.parse(c.createdAt) < killedAt).map(acceptDelayMs).filter((d): d is number => d !== undefined).sort((a, b) => a - b);
    console.log(
      `nats cluster, the command stream's leader ${leader} killed at ${RATE} commands/s: ${outcomeLine(o)}; ` +
        `new leader ${newLeader} after ${electedMs} ms; longest wait to be accepted ${stalledMs} ms (p50 ${waits[Math.floor(waits.length / 2)]} ms; before the kill p50 ${before[Math.floor(before.length / 2)]} ms, max ${before.at(-1)} ms); ` +
        `${leader} back and current ${rejoinedMs} ms after the kill; SSE: ${recorded.length} of ${inRecords} transitions recorded in the events stream, ${missing.length} of them missing on SSE, ${outOfOrder} out of order, one connection: ${!sseEnded}, caught up ${sseCaughtUpMs} ms after the last command ended`,
    );

    // The api takes every command through the failover (it retries its writes until there is a leader).
    expect(o.refused.map((r) => ({ vmid: r.target.vmid, status: r.status, error: r.error }))).toEqual([]);
    // Every command succeeds: no replica dies, so none ends "never sent" (see resilience.test.ts).
    expect(o.lost.map((c) => ({ id: c.id, status: c.status, message: c.message }))).toEqual([]);
    expect(o.doubled).toEqual([]);
    expect(o.unposted).toEqual([]);
    expect(o.endedTwice).toEqual([]);
    expect(o.succeeded).toBe(COMMANDS);
    expect(sseEnded).toBe(false);
    expect(outOfOrder).toBe(0);
    expect(missing).toEqual([]);
    expect(recorded.length).toBe(inRecords);
    expect([...ids].filter((id) => !succeededOnSse.has(id))).toEqual([]);
    sse.close();
  }, 180_000);
});

/** The events stream's sequences of the transitions (molten.cmd-status.<id>) of these commands. */
async function transitionSeqs(nc: NatsConnection, ids: Set<string>): Promise<number[]> {
  const consumer = await jetstream(nc).consumers.get(STREAMS.events, { filter_subjects: 'molten.cmd-status.>', deliver_policy: DeliverPolicy.All });
  const seqs: number[] = [];
  const messages = await consumer.consume({ max_messages: 1_000 });
  try {
    for await (const m of messages) {
      if (ids.has(m.subject.slice('molten.cmd-status.'.length))) seqs.push(m.seq);
      // Nothing more after this one (for the filter): the stream has been read to its end.
      if (m.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  return seqs;
}
