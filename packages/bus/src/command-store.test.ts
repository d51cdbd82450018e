import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandStatus, type Command } from '@molten/contracts';
import { CommandStore, retryOnBusError } from './command-store.js';
import { newCommandId } from './command-submit.js';
import type { Bus } from './connect.js';
import { busFixture } from './test/fixtures.js';

const command = (vmid: number): Command => ({
  id: newCommandId(),
  correlationId: '',
  actor: { kind: 'user', name: 'tester', role: 'operator' },
  domain: 'proxmox',
  scope: 'store',
  action: 'vm-stop',
  createdAtMs: 1_700_000_000_000,
  acceptByMs: 1_700_000_015_000,
  deadlineMs: 1_700_000_300_000,
  idempotencyKey: '',
  reason: '',
  payload: { $case: 'power', value: { vmid, action: 'stop', node: 'pve1', type: 'qemu' } },
});

describe('command store', () => {
  let fx: Awaited<ReturnType<typeof busFixture>>;
  let bus: Bus;
  beforeAll(async () => {
    fx = await busFixture();
    bus = await fx.connect('store');
  });
  afterAll(() => fx.dispose());

  /** The bus, except that the answer to the next write to the commands bucket is lost: the write lands, the writer hears a timeout. */
  const losingNextAnswer = (b: Bus): Bus => {
    let lose = true;
    const kv = b.kv.commands;
    const lossy = <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
      async (...a: A): Promise<R> => {
        const r = await f(...a);
        if (!lose) return r;
        lose = false;
        throw Object.assign(new Error('TIMEOUT'), { name: 'TimeoutError' });
      };
    const commands = Object.create(kv, { create: { value: lossy(kv.create.bind(kv)) }, update: { value: lossy(kv.update.bind(kv)) } });
    return { ...b, kv: { ...b.kv, commands } };
  };

  it('counts a create whose answer was lost and that was sent again as created (so the api still queues the command)', async () => {
    const c = command(201);
    const r = await new CommandStore(losingNextAnswer(bus), 'api').create(c, 1_700_000_000_500);
    expect(r.created).toBe(true);
    expect(r.revision).toBeGreaterThan(0);
    // The same bytes already there without a lost answer are a duplicate, as always.
    expect((await new CommandStore(bus, 'api').create(c, 1_700_000_000_500)).created).toBe(false);
  });

  it('counts an update whose answer was lost and that was sent again as made, and marks the upstream call only once', async () => {
    const c = command(202);
    await new CommandStore(bus, 'api').create(c);
    const now = Date.now();
    expect(await new CommandStore(losingNextAnswer(bus), 'adapter-a').markUpstreamCall(c.id, now)).toMatchObject({ upstreamCallAtMs: now });
    // Another delivery of the same command (a redelivery elsewhere) may not mark it again, even
    // in the same millisecond (the same bytes, but not its own write sent again).
    expect(await new CommandStore(bus, 'adapter-b').markUpstreamCall(c.id, now)).toBeUndefined();
    expect(await new CommandStore(bus, 'adapter-b').markUpstreamCall(c.id, now + 1)).toBeUndefined();
    expect((await new CommandStore(bus, 'api').get(c.id))!.record.upstreamCallAtMs).toBe(now);
  });

  it('moves a command on to running in the write that marks its call, with or without accepting it there', async () => {
    const store = new CommandStore(bus, 'adapter-a');
    const c = command(204);
    await store.create(c);
    const r = await store.markUpstreamCall(c.id, 1_700_000_001_000, { accept: 'accepted by adapter-a', running: 'calling echo' });
    expect(r).toMatchObject({ status: CommandStatus.COMMAND_STATUS_RUNNING, upstreamCallAtMs: 1_700_000_001_000 });
    expect(r!.transitions.map((t) => [t.status, t.message, t.atMs])).toEqual([
      [CommandStatus.COMMAND_STATUS_REQUESTED, 'requested', expect.any(Number)],
      [CommandStatus.COMMAND_STATUS_ACCEPTED, 'accepted by adapter-a', 1_700_000_001_000],
      [CommandStatus.COMMAND_STATUS_RUNNING, 'calling echo', 1_700_000_001_000],
    ]);
    expect((await new CommandStore(bus, 'api').get(c.id))!.record).toEqual(r);

    // Accepted already (a redelivery read it): marked and running, nothing accepted twice.
    const d = command(205);
    await store.create(d);
    await store.transition(d.id, CommandStatus.COMMAND_STATUS_ACCEPTED, { message: 'accepted' });
    const m = await store.markUpstreamCall(d.id, 1_700_000_002_000, { accept: 'accepted by adapter-a', running: 'calling echo' });
    expect(m!.transitions.map((t) => t.status)).toEqual([CommandStatus.COMMAND_STATUS_REQUESTED, CommandStatus.COMMAND_STATUS_ACCEPTED, CommandStatus.COMMAND_STATUS_RUNNING]);
    // Running already (a resume that calls a harmless tool again): marked again, no second running.
    const again = await store.markUpstreamCall(d.id, 1_700_000_003_000, { again: true, running: 'calling echo again' });
    expect(again).toMatchObject({ status: CommandStatus.COMMAND_STATUS_RUNNING, upstreamCallAtMs: 1_700_000_003_000 });
    expect(again!.transitions).toHaveLength(3);
  });

  it('does not mark the upstream call of a command that has ended', async () => {
    const store = new CommandStore(bus, 'adapter-a');
    const c = command(203);
    await store.create(c);
    await store.transition(c.id, CommandStatus.COMMAND_STATUS_TIMED_OUT, { message: 'too late' });
    expect(await store.markUpstreamCall(c.id)).toBeUndefined();
  });
});

describe('retryOnBusError', () => {
  /** A bus whose reconnects the test makes happen. */
  const fakeBus = () => {
    const listeners = new Set<() => void>();
    return {
      onReconnect(l: () => void) {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      reconnect: () => [...listeners].forEach((l) => l()),
      listeners,
    };
  };

  it('sends a request again at once when the connection comes back while it is out (its answer would never come)', async () => {
    const bus = fakeBus();
    let attempts = 0;
    const result = retryOnBusError(() => {
      attempts++;
      // The first attempt went into the dead connection: it would only fail at its timeout.
      return attempts === 1 ? new Promise<string>(() => {}) : Promise.resolve('written');
    }, bus);
    await new Promise((r) => setTimeout(r, 10));
    expect(attempts).toBe(1);
    bus.reconnect();
    await expect(result).resolves.toBe('written');
    expect(attempts).toBe(2);
    expect(bus.listeners.size).toBe(0);
  });

  it('retries transient errors, gives up on others, and leaves no listener behind', async () => {
    const bus = fakeBus();
    let attempts = 0;
    await expect(
      retryOnBusError(async () => {
        if (++attempts < 3) throw Object.assign(new Error('TIMEOUT'), { name: 'TimeoutError' });
        return 'ok';
      }, bus),
    ).resolves.toBe('ok');
    expect(attempts).toBe(3);
    await expect(retryOnBusError(() => Promise.reject(new Error('wrong last sequence')), bus)).rejects.toThrow('wrong last sequence');
    expect(bus.listeners.size).toBe(0);
  });
});
