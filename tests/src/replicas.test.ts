import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig as apiConfig } from '@molten/api/config';
import { startApi, type RunningApi } from '@molten/api';
import { leaseKey } from '@molten/contracts';
import { DEMO_TOKEN, startPveSimulator, type PveSimulator } from '@molten/simulators/pve';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';
import { startService, type ServiceProcess } from './support/processes.js';

const OPERATOR = 'operator-token-for-replica-tests';
const LEASE_TTL_MS = 3_000;
const COMMANDS = 16;

interface CommandJson {
  id: string;
  status: string;
  target: { vmid: number };
  transitions: { status: string; by: string }[];
}

/**
 * Two proxmox-adapter replicas as processes, one killed with SIGKILL while commands are in
 * flight: every command still ends exactly once (one POST upstream each), and polling moves to
 * the survivor once the dead replica's lease expires.
 */
describe('proxmox-adapter replicas', () => {
  let nats: NatsServer;
  let sim: PveSimulator;
  let api: RunningApi;
  let dataDir: string;
  const replicas = new Map<string, ServiceProcess>();
  const call = (p: string, init: RequestInit = {}) =>
    fetch(`${api.url}${p}`, { ...init, headers: { authorization: `Bearer ${OPERATOR}`, ...init.headers } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  beforeAll(async () => {
    nats = await NatsServer.start();
    // Stops take long enough that commands are still running when a replica is killed.
    sim = await startPveSimulator({ preset: 'generated', nodes: 3, guestsPerNode: 12, seed: 7, taskDurations: { stop: 2_500, start: 500, shutdown: 2_500, reboot: 500 }, loadIntervalMs: 0 });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-replicas-'));
    api = await startApi(
      apiConfig({ NATS_URL: nats.url, MOLTEN_PORT: '0', MOLTEN_GRPC_PORT: '0', MOLTEN_TOKEN: OPERATOR, MOLTEN_DATA_DIR: dataDir, MOLTEN_DASHBOARD_DIR: path.join(dataDir, 'none'), MOLTEN_HEARTBEAT_MS: '250', MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS: '60000', MOLTEN_RATE_BURST: '100' }),
      testLogger('api'),
    );
    for (const instance of ['replica-a', 'replica-b']) {
      replicas.set(
        instance,
        startService('proxmox-adapter', {
          NATS_URL: nats.url,
          PVE_URL: sim.url,
          PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`,
          PVE_CA_FILE: sim.caFile!,
          PVE_POLL_MS: '500',
          MOLTEN_HEARTBEAT_MS: '250',
          MOLTEN_LEASE_TTL_MS: String(LEASE_TTL_MS),
          // Few at a time per replica, so both replicas hold commands when one is killed.
          MOLTEN_COMMAND_CONCURRENCY: '4',
          MOLTEN_INSTANCE: instance,
        }),
      );
    }
  });

  afterAll(async () => {
    for (const r of replicas.values()) await r.stop(5_000);
    await api?.stop();
    await sim?.close();
    await nats?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const leaseHolder = async () => {
    const e = await api.bus.kv.leases.get(leaseKey('proxmox', 'homelab', 'poll'));
    return e && e.operation === 'PUT' && e.length > 0 ? e.string() : undefined;
  };
  const adapterHealth = async () => (await call('/api/health')).body.adapters as { instance: string; alive: boolean; upstreams: { leader: boolean }[] }[];

  it('completes every command exactly once and moves polling to the survivor when a replica is SIGKILLed', async () => {
    await waitFor(async () => (await adapterHealth()).filter((a) => a.alive).length === 2, {
      timeoutMs: 30_000,
      message: `both replicas heartbeating (${[...replicas.values()].map((r) => r.output().slice(-2000)).join('\n')})`,
    });
    const leader = await waitFor(leaseHolder, { message: 'a replica holds the poll lease' });
    const survivor = leader === 'replica-a' ? 'replica-b' : 'replica-a';
    const vms = await waitFor(async () => {
      const r = await call('/api/vms');
      return r.body.data?.length >= 36 ? (r.body.data as { vmid: number; status: string; template: boolean; lock?: string; hastate?: string }[]) : undefined;
    }, { message: 'the cluster is published', timeoutMs: 20_000 });
    const targets = vms.filter((g) => g.status === 'running' && !g.template && !g.lock && !g.hastate).slice(0, COMMANDS);
    expect(targets.length).toBe(COMMANDS);
    // Kept apart from the commands: changed out of band later, to see who polls.
    const witness = vms.find((g) => g.status === 'stopped' && !g.template && !g.lock && !g.hastate)!;
    expect(witness).toBeDefined();

    const ids: string[] = [];
    for (const g of targets) {
      const r = await call(`/api/vms/${g.vmid}/stop`, { method: 'POST' });
      expect(r.status).toBe(202);
      ids.push(r.body.data.id);
    }
    const command = async (id: string) => (await call(`/api/commands/${id}`)).body.data as CommandJson;
    const all = async () => Promise.all(ids.map(command));

    // Kill the leader while it has commands running upstream (their stop tasks take 2.5 s).
    const inFlightOnLeader = await waitFor(async () => {
      const cs = await all();
      const mine = cs.filter((c) => c.status === 'running' && c.transitions.some((t) => t.status === 'accepted' && t.by === leader));
      return mine.length > 0 ? mine : undefined;
    }, { message: 'the leader runs some commands', timeoutMs: 20_000 });
    const killedAt = Date.now();
    replicas.get(leader)!.kill('SIGKILL');
    const exit = await replicas.get(leader)!.exited;
    expect(exit.signal).toBe('SIGKILL');

    // Polling moves to the survivor once the lease expires (bucket TTL = MOLTEN_LEASE_TTL_MS).
    await waitFor(async () => (await leaseHolder()) === survivor, { timeoutMs: 3 * LEASE_TTL_MS + 2_000, intervalMs: 20, message: 'the survivor took the lease' });
    const takeoverMs = Date.now() - killedAt;
    await waitFor(async () => (await adapterHealth()).some((a) => a.instance === survivor && a.alive && a.upstreams.some((u) => u.leader)), { message: 'the survivor reports itself the poller' });
    sim.setStatus(witness.vmid, 'running');
    await waitFor(async () => (await call(`/api/vms/${witness.vmid}/status`)).body.data.status === 'running', { message: 'the survivor polls: an out-of-band start shows up', timeoutMs: 10_000 });
    console.log(`replica takeover: the survivor held the poll lease ${takeoverMs} ms after the leader was SIGKILLed (MOLTEN_LEASE_TTL_MS=${LEASE_TTL_MS}, renewal every ${LEASE_TTL_MS / 3} ms); ${inFlightOnLeader.length} command(s) were running on it`);

    // The dead replica's commands come back (JetStream redelivery after ack_wait) and the
    // survivor resumes them from the recorded task instead of posting again.
    const final = await waitFor(async () => {
      const cs = await all();
      return cs.every((c) => ['succeeded', 'failed', 'timed_out'].includes(c.status)) ? cs : undefined;
    }, { timeoutMs: 90_000, intervalMs: 250, message: 'every command ended' });
    expect(final.map((c) => c.status)).toEqual(final.map(() => 'succeeded'));
    for (const c of final) {
      expect(sim.countRequests({ method: 'POST', vmid: c.target.vmid, action: 'stop' }), `POSTs for VM ${c.target.vmid}`).toBe(1);
      expect(sim.guest(c.target.vmid)!.status).toBe('stopped');
      expect(c.transitions.filter((t) => t.status === 'succeeded')).toHaveLength(1);
    }
    const handedOver = final.filter((c) => inFlightOnLeader.some((x) => x.id === c.id));
    for (const c of handedOver) expect(c.transitions.at(-1)!.by).toBe(survivor);
  }, 180_000);
});
