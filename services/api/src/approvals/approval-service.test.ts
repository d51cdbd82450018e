import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandStatus, commandStatusName, type CommandTransition } from '@molten/contracts';
import type * as Rest from '@molten/contracts/rest';
import { CommandStore, connectBus, followEvents, newCommandId, type Bus, type SubmitInput } from '@molten/bus';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';
import { ApprovalError, ApprovalService } from './approval-service.js';
import { argumentsDigest } from './digest.js';

const actor = { kind: 'agent', name: 'claude', role: 'agent' };

describe('approval service (real nats-server)', () => {
  let nats: NatsServer;
  let bus: Bus;
  let store: CommandStore;
  const published: string[] = [];
  const services: ApprovalService[] = [];
  /** Every command transition on the events stream, as the api's event feed hands them on. */
  const listeners = new Set<(t: CommandTransition) => void>();
  let follower: { stop(): Promise<void> };

  beforeAll(async () => {
    nats = await NatsServer.start();
    bus = await connectBus({ servers: nats.url, name: 'approvals-test', log: testLogger('bus') });
    store = new CommandStore(bus, 'api');
    // Every command queued for an adapter, by id: an approval must publish once, a denial never.
    bus.nc.subscribe('molten.cmd.>', { callback: (_e, m) => void published.push(m.headers?.get('Nats-Msg-Id') ?? '?') });
    await bus.nc.flush();
    const seen = new Set<string>();
    follower = followEvents(bus, { afterSeq: 0, log: testLogger('events') }, (e) => {
      if (e.type !== 'molten.v1.CommandTransition') return;
      const t = e.value as CommandTransition;
      seen.add(t.commandId);
      for (const l of listeners) l(t);
    });
    // Following from here on: a probe command's transition has come through.
    const probe = await storedCommand(1);
    await waitFor(() => seen.has(probe.id), { message: 'the events follower is live' });
  });
  afterAll(async () => {
    for (const s of services) s.stop();
    await follower.stop();
    await bus.close().catch(() => {});
    await nats.dispose();
  });

  const transitions = (l: (t: CommandTransition) => void) => {
    listeners.add(l);
    return () => void listeners.delete(l);
  };
  const service = (ttlMs = 60_000, changes: Rest.Approval[] = [], ownStore = store) => {
    const s = new ApprovalService({ bus, store: ownStore, transitions, log: testLogger('approvals'), ttlMs, onChange: (a) => changes.push(a) });
    services.push(s);
    return s;
  };
  const input = (vmid: number): SubmitInput => ({
    domain: 'proxmox',
    scope: 'homelab',
    action: 'vm-stop',
    payload: { $case: 'power', value: { vmid, action: 'stop', node: 'pve1', type: 'qemu' } },
    actor,
    acceptTimeoutMs: 15_000,
    timeoutMs: 300_000,
  });
  /** A command stored as requested (no approval), straight through the store. */
  async function storedCommand(vmid: number) {
    const now = Date.now();
    const command = { ...input(vmid), id: newCommandId(), createdAtMs: now, acceptByMs: now + 15_000, deadlineMs: now + 300_000, correlationId: '', idempotencyKey: '', reason: '' };
    await store.create(command);
    return command;
  }
  const ask = (s: ApprovalService, vmid: number) =>
    s.request({ input: input(vmid), safety: 'destructive', summary: `hard stop VM ${vmid}`, arguments: { cluster: 'homelab', vmid, action: 'stop' }, client: 'test-client' });
  const status = async (id: string) => commandStatusName((await store.get(id))!.record.status);

  it('stores the call as awaiting_approval without publishing it; approve publishes it once with fresh deadlines', async () => {
    const changes: Rest.Approval[] = [];
    const s = service(60_000, changes);
    const r = await ask(s, 200);
    const id = r.command!.id;
    expect(await status(id)).toBe('awaiting_approval');
    const pending = await s.get(id);
    expect(pending).toMatchObject({
      id,
      status: 'pending',
      safety: 'destructive',
      requestedBy: { actor: 'claude', client: 'test-client' },
      target: { kind: 'guest', vmid: 200, action: 'stop' },
      argumentsDigest: argumentsDigest({ vmid: 200, action: 'stop', cluster: 'homelab' }),
    });
    await bus.nc.flush();
    expect(published).not.toContain(id);

    const approved = await s.approve(id, 'operator', 'planned maintenance');
    expect(approved).toMatchObject({ status: 'approved', decidedBy: 'operator', reason: 'planned maintenance' });
    await waitFor(() => published.includes(id), { timeoutMs: 10_000 });
    const stored = (await store.get(id))!.record;
    expect(commandStatusName(stored.status)).toBe('accepted');
    expect(stored.command!.deadlineMs).toBeGreaterThanOrEqual(Date.parse(approved.decidedAt!) + 300_000 - 1);
    expect(changes.map((c) => c.status)).toEqual(['pending', 'approved']);

    // Only one decision: a late approve or deny is refused, naming the status.
    await expect(s.approve(id, 'operator')).rejects.toMatchObject({ kind: 'decided', current: 'approved' });
    await expect(s.deny(id, 'operator')).rejects.toBeInstanceOf(ApprovalError);
    await bus.nc.flush();
    expect(published.filter((p) => p === id)).toHaveLength(1);
  });

  it('denies with the reason and who, and never publishes', async () => {
    const s = service();
    const id = (await ask(s, 201)).command!.id;
    const denied = await s.deny(id, 'alice', 'not during backups');
    expect(denied).toMatchObject({ status: 'denied', decidedBy: 'alice', reason: 'not during backups' });
    expect(await status(id)).toBe('denied');
    await expect(s.approve(id, 'bob')).rejects.toMatchObject({ kind: 'decided', current: 'denied' });
    await bus.nc.flush();
    expect(published).not.toContain(id);
  });

  it('lets exactly one of two racing decisions win', async () => {
    const s1 = service();
    const s2 = service();
    const id = (await ask(s1, 202)).command!.id;
    const results = await Promise.allSettled([s1.approve(id, 'a'), s2.deny(id, 'b')]);
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((x) => x.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(ApprovalError);
    expect(lost.reason.kind).toBe('decided');
  });

  it('expires an undecided call after the TTL, unpublished', async () => {
    const s = service(300);
    const id = (await ask(s, 203)).command!.id;
    await waitFor(async () => (await status(id)) === 'expired', { timeoutMs: 15_000 });
    // The service's list follows once its transition has resolved (after the KV write the line above saw).
    await waitFor(() => s.list('expired').some((a) => a.id === id), { message: 'the expired approval listed' });
    await expect(s.approve(id, 'operator')).rejects.toMatchObject({ kind: 'decided', current: 'expired' });
    await bus.nc.flush();
    expect(published).not.toContain(id);
  });

  it('keeps a pending approval across a restart and re-arms its expiry', async () => {
    const before = service(2_000);
    const id = (await ask(before, 204)).command!.id;
    before.stop(); // the api goes away: no timer left to expire it
    const after = service(60_000);
    await after.start();
    expect(after.list('pending').map((a) => a.id)).toContain(id);
    await waitFor(async () => (await status(id)) === 'expired', { timeoutMs: 15_000 });

    // And one restarted before its expiry can still be approved.
    const again = service(60_000);
    const id2 = (await ask(again, 205)).command!.id;
    again.stop();
    const restarted = service(60_000);
    await restarted.start();
    expect((await restarted.get(id2))?.status).toBe('pending');
    await restarted.approve(id2, 'operator');
    await waitFor(() => published.includes(id2), { timeoutMs: 10_000 });
  });

  it('sees approvals asked for and decided on another replica, through the transitions it follows', async () => {
    const asker = service();
    const changes: Rest.Approval[] = [];
    const other = service(60_000, changes);
    await other.start();
    const id = (await ask(asker, 206)).command!.id;
    await waitFor(() => other.list('pending').some((a) => a.id === id), { message: 'the other replica lists the new approval' });
    expect((await other.get(id))?.summary).toBe('hard stop VM 206');
    await asker.deny(id, 'alice', 'not now');
    await waitFor(() => other.list('denied').some((a) => a.id === id), { message: 'the other replica sees it denied' });
    expect(changes.filter((a) => a.id === id).map((a) => a.status)).toEqual(['pending', 'denied']);
    // Stopped, it follows nothing more.
    other.stop();
    const later = (await ask(asker, 207)).command!.id;
    const live = service();
    await live.start();
    expect(live.list('pending').map((a) => a.id)).toContain(later);
    expect(other.list().map((a) => a.id)).not.toContain(later);
  });

  it('reads no record for the transitions of commands that never waited for anyone', async () => {
    // A store that counts the records read through it.
    let reads = 0;
    const counting = new CommandStore(bus, 'api');
    const get = counting.get.bind(counting);
    counting.get = (id) => {
      reads++;
      return get(id);
    };
    const s = service(60_000, [], counting);
    await s.start();
    const asker = service();
    // A command that runs its whole lifecycle without an approval...
    const plain = await storedCommand(208);
    for (const to of [CommandStatus.COMMAND_STATUS_ACCEPTED, CommandStatus.COMMAND_STATUS_RUNNING, CommandStatus.COMMAND_STATUS_SUCCEEDED]) {
      expect(await store.transition(plain.id, to)).toBeDefined();
    }
    // ...then one that waits: the events stream is in order, so once it shows, the plain one's transitions were all followed.
    const id = (await ask(asker, 209)).command!.id;
    await waitFor(() => s.list('pending').some((a) => a.id === id), { message: 'the approval listed' });
    expect(reads).toBe(1);
    expect(s.list().map((a) => a.id)).not.toContain(plain.id);
  });

  it('answers not_found for an unknown id', async () => {
    await expect(service().approve('01J00000000000000000000000', 'operator')).rejects.toMatchObject({ kind: 'not_found' });
  });
});

