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
  message: string;
  target: { vmid: number };
  transitions: { status: string; by: string; at: string }[];
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
    // A replica killed between recording that it is about to call Proxmox and the call itself
    // leaves a command whose call never happened: the node's task list shows no task, and by
    // design the survivor does not re-send blindly; it ends failed, saying so, after a grace
    // period. Every other command succeeds. Either way: one final status, never two POSTs.
    const neverSent = final.filter((c) => c.status === 'failed' && /never reached Proxmox/.test(c.message));
    expect(final.filter((c) => c.status !== 'succeeded' && !neverSent.includes(c)).map((c) => ({ vmid: c.target.vmid, status: c.status, message: c.message }))).toEqual([]);
    for (const c of final) {
      const posts = sim.countRequests({ method: 'POST', vmid: c.target.vmid, action: 'stop' });
      expect(posts, `POSTs for VM ${c.target.vmid} (${c.status})`).toBe(neverSent.includes(c) ? 0 : 1);
      expect(sim.guest(c.target.vmid)!.status).toBe(neverSent.includes(c) ? 'running' : 'stopped');
      expect(c.transitions.filter((t) => ['succeeded', 'failed', 'timed_out'].includes(t.status))).toHaveLength(1);
    }
    if (neverSent.length) console.log(`${neverSent.length} command(s) were killed before their POST left the replica: failed as never sent, 0 POSTs`);
    // Those the leader was running when it was killed (one seen running just before the kill may
    // have ended on the leader before the signal landed: its task ended in between).
    const handedOver = final.filter((c) => inFlightOnLeader.some((x) => x.id === c.id) && Date.parse(c.transitions.at(-1)!.at) >= killedAt);
    for (const c of handedOver) expect(c.transitions.at(-1)!.by).toBe(survivor);
  }, 180_000);

  it('on SIGTERM hands a command that outlasts the 8 s bound to another replica, releases the lease and drains', async () => {
    replicas.set('replica-c', startService('proxmox-adapter', {
      NATS_URL: nats.url, PVE_URL: sim.url, PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, PVE_CA_FILE: sim.caFile!,
      PVE_POLL_MS: '500', MOLTEN_HEARTBEAT_MS: '250', MOLTEN_LEASE_TTL_MS: String(LEASE_TTL_MS), MOLTEN_INSTANCE: 'replica-c',
    }));
    await waitFor(async () => (await adapterHealth()).filter((a) => a.alive).length === 2, { timeoutMs: 30_000, message: 'two replicas alive' });
    // A stop that takes longer than a replica waits for in-flight commands at shutdown.
    sim.setTaskDurations({ stop: 11_000 });
    const vm = sim.guests().find((g) => g.status === 'running' && !g.template && !g.lock && !g.hastate)!;
    const submitted = await call(`/api/vms/${vm.vmid}/stop`, { method: 'POST' });
    expect(submitted.status).toBe(202);
    const id = submitted.body.data.id as string;
    const running = await waitFor(async () => {
      const c = (await call(`/api/commands/${id}`)).body.data as CommandJson;
      return c.status === 'running' ? c : undefined;
    }, { message: 'the command runs' });
    const owner = running.transitions.find((t) => t.status === 'accepted')!.by;
    const other = (await adapterHealth()).filter((a) => a.alive).map((a) => a.instance).find((i) => i !== owner)!;
    const ownerProc = replicas.get(owner)!;
    const leaderBefore = await leaseHolder();

    ownerProc.kill('SIGTERM');
    const exit = await ownerProc.exited;
    expect(exit.code, ownerProc.output().slice(-3000)).toBe(0);
    const messages = ownerProc.logs.map((l) => l.msg);
    expect(messages).toContain('commands still running at shutdown; handing them back');
    expect(messages).not.toContain('shutdown step took too long; moving on');
    expect(messages).toContain('stopped');
    // The poll lease is released on the way out (deleted, not left to expire), so the other replica takes it at once.
    if (leaderBefore === owner) {
      const history = [];
      for await (const e of await api.bus.kv.leases.history({ key: leaseKey('proxmox', 'homelab', 'poll') })) history.push(e);
      expect(history.some((e) => e.operation === 'DEL')).toBe(true);
    }

    const done = await waitFor(async () => {
      const c = (await call(`/api/commands/${id}`)).body.data as CommandJson;
      return ['succeeded', 'failed', 'timed_out'].includes(c.status) ? c : undefined;
    }, { timeoutMs: 60_000, message: 'the command ended on another replica' });
    expect(done.status).toBe('succeeded');
    expect(done.transitions.at(-1)!.by).not.toBe(owner);
    expect(done.transitions.at(-1)!.by).toBe(other);
    expect(sim.countRequests({ method: 'POST', vmid: vm.vmid, action: 'stop' })).toBe(1);
  }, 120_000);
});
