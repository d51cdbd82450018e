import { afterEach, describe, expect, it } from 'vitest';
import { leaseKey } from '@molten/contracts';
import { waitFor } from '@molten/testkit';
import { startStack, type Stack } from './stack.js';
import { acceptDelayMs, awaitLoadOutcome, outcomeLine, powerTargets, submitAtRate, type CommandJson, type LoadOutcome } from './support/command-load.js';

/**
 * Issue 2's resilience checks: an adapter restarted mid-task, two replicas sharing the work, and
 * a nats-server restart, each against the real components.
 */
describe('resilience', { timeout: 120_000 }, () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  const runningGuests = (s: Stack) => s.sim.guests().filter((g) => g.status === 'running' && !g.lock && !g.template && !g.hastate && g.qmpstatus !== 'paused');
  const stoppedGuests = (s: Stack) => s.sim.guests().filter((g) => g.status === 'stopped' && !g.lock && !g.template && !g.hastate);

  it('finishes a command whose adapter was killed mid-task, with exactly one POST to Proxmox', async () => {
    stack = await startStack({ adapter: false, sim: { taskDurations: { shutdown: 2_500 } } });
    const first = stack.spawnAdapter('replica-a');
    await waitFor(async () => (await stack!.json('/api/vms')).body.data?.length > 0, { timeoutMs: 20_000, message: 'adapter polled' });
    const vm = runningGuests(stack)[0]!;
    const r = await stack.json(`/api/vms/${vm.vmid}/shutdown`, { method: 'POST' });
    expect(r.status).toBe(202);
    await stack.waitCommand(r.body.data.id, ['running']);
    await first.kill('SIGKILL');
    expect(stack.sim.guest(vm.vmid)!.status).toBe('running'); // the task is still going
    stack.spawnAdapter('replica-b');
    const done = await stack.waitCommand(r.body.data.id, ['succeeded', 'failed', 'timed_out'], 60_000);
    expect(done.status).toBe('succeeded');
    expect(stack.sim.guest(vm.vmid)!.status).toBe('stopped');
    expect(stack.sim.countRequests({ method: 'POST', vmid: vm.vmid })).toBe(1);
    // The replica that finished it followed the task its predecessor recorded.
    expect(done.transitions.at(-1).by).toBe('replica-b');
    expect(done.upstreamTaskId).toMatch(new RegExp(`:${vm.type === "qemu" ? "qm" : "vz"}shutdown:${vm.vmid}:`));
  });

  it('runs every command once with two replicas, and only the lease holder polls', async () => {
    stack = await startStack({ adapter: false, pollMs: 250 });
    stack.spawnAdapter('replica-a');
    stack.spawnAdapter('replica-b');
    await waitFor(async () => (await stack!.json('/api/health')).body.adapters?.filter((a: { alive: boolean }) => a.alive).length === 2, { timeoutMs: 20_000, message: 'two replicas alive' });
    const leaders = await waitFor(async () => {
      const l = (await stack!.json('/api/health')).body.adapters.filter((a: { alive: boolean; upstreams: { leader: boolean }[] }) => a.alive && a.upstreams.some((u) => u.leader));
      return l.length > 0 ? l : undefined;
    }, { message: 'a replica polls' });
    expect(leaders).toHaveLength(1);

    // Polling: about one /cluster/resources read per interval, not two.
    stack.sim.clearRequests();
    await new Promise((r) => setTimeout(r, 2_500));
    const reads = stack.sim.countRequests({ path: '/cluster/resources' });
    expect(reads).toBeGreaterThanOrEqual(4);
    expect(reads).toBeLessThanOrEqual(12);

    const targets = [...runningGuests(stack).slice(0, 4).map((g) => ({ g, action: 'stop' })), ...stoppedGuests(stack).slice(0, 4).map((g) => ({ g, action: 'start' }))];
    const ids = await Promise.all(targets.map(async ({ g, action }) => (await stack!.json(`/api/vms/${g.vmid}/${action}`, { method: 'POST' })).body.data.id as string));
    const results = await Promise.all(ids.map((id) => stack!.waitCommand(id, ['succeeded', 'failed', 'timed_out'], 30_000)));
    expect(results.map((c) => c.status)).toEqual(targets.map(() => 'succeeded'));
    for (const { g } of targets) expect(stack.sim.countRequests({ method: 'POST', vmid: g.vmid })).toBe(1);
    // Both replicas took a share of the commands or one took all: either way, each ran once.
    const by = new Set(results.map((c) => c.transitions.find((t: { status: string }) => t.status === 'accepted').by));
    expect([...by].every((b) => b === 'replica-a' || b === 'replica-b')).toBe(true);
  });

  it('loses no command when the nats-server restarts mid-run', async () => {
    stack = await startStack({ pollMs: 300, sim: { taskDurations: { start: 1_500, stop: 1_500 } } });
    await waitFor(async () => (await stack!.json('/api/vms')).body.data?.length > 0, { timeoutMs: 20_000 });
    const targets = [...runningGuests(stack).slice(0, 3).map((g) => ({ g, action: 'stop' })), ...stoppedGuests(stack).slice(0, 3).map((g) => ({ g, action: 'start' }))];
    const ids: string[] = [];
    for (const { g, action } of targets) ids.push((await stack.json(`/api/vms/${g.vmid}/${action}`, { method: 'POST' })).body.data.id);
    await stack.waitCommand(ids[0]!, ['running', 'succeeded']);
    await stack.nats.restart();
    const results = await Promise.all(ids.map((id) => stack!.waitCommand(id, ['succeeded', 'failed', 'timed_out'], 60_000)));
    expect(results.map((c) => c.status)).toEqual(targets.map(() => 'succeeded'));
    for (const { g, action } of targets) {
      expect(stack.sim.guest(g.vmid)!.status).toBe(action === 'stop' ? 'stopped' : 'running');
      expect(stack.sim.countRequests({ method: 'POST', vmid: g.vmid })).toBe(1);
    }
    // And the api follows the bus again: a new command goes through.
    const more = runningGuests(stack).find((g) => !targets.some((t) => t.g.vmid === g.vmid))!;
    const r = await stack.json(`/api/vms/${more.vmid}/stop`, { method: 'POST' });
    expect((await stack.waitCommand(r.body.data.id, ['succeeded', 'failed', 'timed_out'], 30_000)).status).toBe('succeeded');
  });
});

/**
 * Failover under load (issue 14): two proxmox-adapter replicas take 20 commands/s while a fault
 * hits, with the production timings (the api's 15 s accept timeout, the adapters' default ack
 * wait). Every command the api took must succeed, once, with one POST to Proxmox.
 */
describe('failover under load', { timeout: 150_000 }, () => {
  const RATE = 20;
  const COMMANDS = 300;
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  /** `replicaKilled`: a replica died, so a call it recorded and never made may end "never sent". */
  const expectEveryCommandOnce = (o: LoadOutcome, { replicaKilled }: { replicaKilled: boolean }) => {
    if (o.lost.length > o.neverSent.length || o.doubled.length || (o.neverSent.length && process.env.DEBUG_FAILOVER)) {
      // What went wrong, in the replicas' own words.
      for (const c of o.lost) {
        console.log(`lost ${c.id} (VM ${c.target.vmid}, ${stack!.sim.countRequests({ method: 'POST', vmid: c.target.vmid })} POST): ${c.transitions.map((t) => `${t.at.slice(17)} ${t.status} by ${t.by}: ${t.message}`).join(' | ')}`);
        for (const p of stack!.processes) console.log(p.output().split('\n').filter((l) => l.includes(c.id)).join('\n'));
      }
    }
    // The api takes every command through the fault (during a bus outage it waits for the bus).
    expect(o.refused.map((r) => ({ vmid: r.target.vmid, status: r.status, error: r.error }))).toEqual([]);
    // Every command succeeds, with one exception the design keeps: a call recorded as about to
    // be made that never reached Proxmox because its replica was killed between the two ends
    // failed as never sent, with no POST, rather than being sent again blindly. Rare (a window
    // of milliseconds); counted in the figures. With no replica killed there is no such window:
    // a POST on a connection Proxmox was just closing was the other cause, and the client now
    // lets go of idle connections before pveproxy does (tls-dispatcher.ts).
    if (!replicaKilled) expect(o.neverSent.map((c) => ({ id: c.id, vmid: c.target.vmid, message: c.message }))).toEqual([]);
    const lost = o.lost.filter((c) => !o.neverSent.includes(c));
    expect(lost.map((c) => ({ id: c.id, vmid: c.target.vmid, status: c.status, message: c.message }))).toEqual([]);
    expect(o.doubled).toEqual([]);
    expect(o.unposted).toEqual([]);
    expect(o.endedTwice).toEqual([]);
    expect(o.succeeded + o.neverSent.length).toBe(o.commands.length);
  };

  const startReplicas = async () => {
    // Production timings for what decides failover: the accept timeout and the ack wait are the
    // defaults (the stack's 3 s ack wait would hide a dead replica's commands coming back late).
    stack = await startStack({
      adapter: false,
      pollMs: 1_000,
      sim: { preset: 'generated', nodes: 8, guestsPerNode: 50, seed: 14, taskDurations: { start: 600, stop: 600 } },
      env: { MOLTEN_COMMAND_ACK_WAIT_MS: '', MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS: '15000' },
    });
    const s = stack;
    const a = s.spawnAdapter('replica-a');
    const b = s.spawnAdapter('replica-b');
    await waitFor(async () => (await s.json('/api/health')).body.adapters?.filter((x: { alive: boolean }) => x.alive).length === 2, {
      timeoutMs: 30_000,
      message: 'two replicas alive',
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${a.output().slice(-1500)}\n${b.output().slice(-1500)}`);
    });
    await waitFor(async () => (await s.json('/api/vms')).body.data?.length >= 400, { timeoutMs: 30_000, message: 'the cluster is published' });
    return { s, replicas: { 'replica-a': a, 'replica-b': b } };
  };

  it('loses no command when the lease holder hangs and is SIGKILLed at 20 commands/s', async () => {
    const { s, replicas } = await startReplicas();
    const leader = await waitFor(async () => {
      const e = await s.api.bus.kv.leases.get(leaseKey('proxmox', 'homelab', 'poll'));
      return e && e.operation === 'PUT' && e.length > 0 ? (e.string() as keyof typeof replicas) : undefined;
    }, { message: 'a replica holds the poll lease' });
    const survivor = leader === 'replica-a' ? 'replica-b' : 'replica-a';
    const targets = powerTargets(s.sim, COMMANDS);

    // It hangs for a second, then dies (a stall that ends in the OOM killer or a watchdog): the
    // bus keeps its connection, and its pulls keep taking commands, until the kill.
    let killedAt = 0;
    let killed: Promise<void> | undefined;
    const submissions = await submitAtRate(s.json, targets, RATE, (n) => {
      if (n === COMMANDS / 3) {
        replicas[leader].child.kill('SIGSTOP');
        killed = new Promise((r) => setTimeout(r, 1_000)).then(() => {
          killedAt = Date.now();
          return replicas[leader].kill('SIGKILL');
        });
      }
    });
    await killed;
    const o = await awaitLoadOutcome(s.json, s.sim, submissions, 90_000);
    // Takeover: the last command the dead replica had taken ends on the survivor this long after the kill.
    const handedOver = o.commands.filter((c) => c.transitions.some((t) => t.by === leader) && c.transitions.some((t) => t.by === survivor));
    const takeoverMs = handedOver.length ? Math.max(...handedOver.map((c) => Date.parse(c.transitions.at(-1)!.at))) - killedAt : 0;
    const waits = o.commands.map(acceptDelayMs).filter((d): d is number => d !== undefined).sort((x, y) => x - y);
    console.log(
      `failover, replica hung 1 s then SIGKILLed at ${RATE} commands/s: ${outcomeLine(o)}; ${handedOver.length} command(s) of the dead replica finished by the survivor, the last ${takeoverMs} ms after the kill; accepted after p50 ${waits[Math.floor(waits.length / 2)]} ms, max ${waits.at(-1)} ms`,
    );
    expectEveryCommandOnce(o, { replicaKilled: true });
  });

  it('loses no command when the nats-server is SIGKILLed for 5 s at 20 commands/s', async () => {
    const { s } = await startReplicas();
    const targets = powerTargets(s.sim, COMMANDS);

    let outage: Promise<void> | undefined;
    let downAt = 0;
    let upAt = 0;
    const submissions = await submitAtRate(s.json, targets, RATE, (n) => {
      if (n === COMMANDS / 3) {
        outage = (async () => {
          downAt = Date.now();
          await s.nats.kill();
          await new Promise((r) => setTimeout(r, 5_000));
          await s.nats.startAgain();
          upAt = Date.now();
        })();
      }
    });
    await outage;
    const o = await awaitLoadOutcome(s.json, s.sim, submissions, 90_000);
    // Recovery: the commands taken while the server was down are accepted this long after it is back.
    const acceptedAt = (c: CommandJson) => Date.parse(c.transitions.find((t) => t.status === 'accepted')?.at ?? '') || Infinity;
    const during = o.commands.filter((c) => Date.parse(c.createdAt) >= downAt && Date.parse(c.createdAt) <= upAt);
    const recoveryMs = Math.max(0, ...during.map((c) => acceptedAt(c) - upAt));
    const waits = o.commands.map(acceptDelayMs).filter((d): d is number => d !== undefined).sort((x, y) => x - y);
    console.log(
      `failover, nats-server SIGKILL for ${upAt - downAt} ms at ${RATE} commands/s: ${outcomeLine(o)}; the ${during.length} submitted while it was down were accepted within ${recoveryMs} ms of its return; accepted after p50 ${waits[Math.floor(waits.length / 2)]} ms, max ${waits.at(-1)} ms`,
    );
    expectEveryCommandOnce(o, { replicaKilled: false });
  });

  it('loses no command when the api restarts at 20 commands/s (requests meanwhile are refused, none runs)', async () => {
    const { s } = await startReplicas();
    const targets = powerTargets(s.sim, COMMANDS);
    let restart: Promise<void> | undefined;
    let downAt = 0;
    let upAt = 0;
    const submissions = await submitAtRate(s.json, targets, RATE, (n) => {
      if (n !== COMMANDS / 3) return;
      restart = (async () => {
        downAt = Date.now();
        await s.restartApi(1_000);
        upAt = Date.now();
      })();
    });
    await restart;
    const o = await awaitLoadOutcome(s.json, s.sim, submissions, 90_000);
    const refusedWhileDown = o.refused.filter((r) => r.sentAt >= downAt - 1_000 && r.sentAt <= upAt);
    console.log(`failover, api restart (${upAt - downAt} ms from stop to listening again) at ${RATE} commands/s: ${outcomeLine(o)}; ${refusedWhileDown.length} refused while it was away`);
    // Taken before the restart: finished by the adapters, and shown by the new api.
    expect(o.lost.map((c) => ({ id: c.id, status: c.status, message: c.message }))).toEqual([]);
    expect(o.doubled).toEqual([]);
    expect(o.unposted).toEqual([]);
    expect(o.endedTwice).toEqual([]);
    // Refused only while no api listened (the connection refused), and none of those ran.
    expect(o.refused.length).toBe(refusedWhileDown.length);
    expect(o.refused.every((r) => r.status === 0)).toBe(true);
    expect(o.refusedButRun).toEqual([]);
  });

  it('an upstream outage at 20 commands/s: nothing runs twice, nothing stays open, and commands run again once it is back', async () => {
    const { s } = await startReplicas();
    const targets = powerTargets(s.sim, COMMANDS);
    const health = async () => (await s.json('/api/health')).body?.clusters?.find((c: { id: string }) => c.id === 'homelab');
    let outage: Promise<void> | undefined;
    let downAt = 0;
    let seenDownAt = 0;
    let upAt = 0;
    let seenUpAt = 0;
    const submissions = await submitAtRate(s.json, targets, RATE, (n) => {
      if (n !== COMMANDS / 3) return;
      outage = (async () => {
        downAt = Date.now();
        await s.sim.stop();
        await waitFor(async () => (await health())?.upstream?.status === 'down', { timeoutMs: 30_000, intervalMs: 50, message: 'the api reports Proxmox down' });
        seenDownAt = Date.now();
        await new Promise((r) => setTimeout(r, Math.max(0, downAt + 5_000 - Date.now())));
        await s.sim.start();
        upAt = Date.now();
        await waitFor(async () => (await health())?.upstream?.status === 'connected', { timeoutMs: 30_000, intervalMs: 50, message: 'the api reports Proxmox connected again' });
        seenUpAt = Date.now();
      })();
    });
    await outage;
    const o = await awaitLoadOutcome(s.json, s.sim, submissions, 90_000);
    const sentAfterBack = o.submissions.filter((x) => x.sentAt > seenUpAt);
    const failed = o.commands.filter((c) => c.status !== 'succeeded');
    const uncertainThenOk = o.commands.filter((c) => c.status === 'succeeded' && c.transitions.some((t) => t.status === 'uncertain'));
    const firstOkAfter = Math.min(...o.commands.filter((c) => Date.parse(c.createdAt) > upAt && c.status === 'succeeded').map((c) => Date.parse(c.createdAt)));
    console.log(
      `upstream outage (Proxmox away ${upAt - downAt} ms) at ${RATE} commands/s: ${outcomeLine(o)}; the api said down ${seenDownAt - downAt} ms after it went and connected ${seenUpAt - upAt} ms after it came back; ` +
        `${uncertainThenOk.length} in flight went uncertain and were reconciled to succeeded once it was back; the first command after it came back was taken ${firstOkAfter - upAt} ms after`,
    );
    expect(o.doubled).toEqual([]);
    expect(o.endedTwice).toEqual([]);
    expect(o.refusedButRun).toEqual([]);
    // What did not succeed failed saying Proxmox could not be reached, and never reached it.
    for (const c of failed) {
      expect(c.message, c.id).toMatch(/cannot reach|unreachable|is down|never reached Proxmox/i);
      expect(s.sim.countRequests({ method: 'POST', vmid: c.target.vmid }), `POSTs for VM ${c.target.vmid}`).toBe(0);
    }
    // Refused: Proxmox is down, the api says so (503 upstream_unavailable).
    for (const r of o.refused) expect(r.error, `VM ${r.target.vmid}`).toMatch(/upstream_unavailable/);
    // Once it is back (and the adapter has read it again), commands run as before.
    expect(sentAfterBack.length).toBeGreaterThan(10);
    for (const x of sentAfterBack) expect(o.commands.find((c) => c.id === x.id)?.status, `VM ${x.target.vmid}`).toBe('succeeded');
  });
});
