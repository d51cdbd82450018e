import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@molten/testkit';
import { startStack, type Stack } from './stack.js';

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
