import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers } from '@nats-io/nats-core';
import { CommandRecord, CommandStatus, HEADERS, STREAMS, commandKey, commandStatusName, subjects } from '@molten/contracts';
import { capturingLogger, testLogger, waitFor } from '@molten/testkit';
import { CommandStore } from './command-store.js';
import { submitCommand, submittedRecord } from './command-submit.js';
import { CommandWorker, commandConsumerName, commandsPulled, type CommandHandler } from './command-worker.js';
import type { Bus } from './connect.js';
import { followEvents, type BusEvent } from './event-follower.js';
import { busFixture } from './test/fixtures.js';

const actor = { kind: 'user', name: 'tester', role: 'operator' };

describe('command worker', () => {
  let fx: Awaited<ReturnType<typeof busFixture>>;
  let bus: Bus;
  let store: CommandStore;
  const events: BusEvent[] = [];
  let follower: { stop(): Promise<void> };

  beforeAll(async () => {
    fx = await busFixture();
    bus = await fx.connect('api');
    store = new CommandStore(bus, 'api');
    follower = followEvents(bus, { afterSeq: 0, filter: subjects.all.commandStatus, log: testLogger() }, (e) => events.push(e));
    await new Promise((r) => setTimeout(r, 200));
  });
  afterAll(async () => {
    await follower.stop();
    await fx.dispose();
  });

  const submit = (scope: string, vmid: number, extra: { idempotencyKey?: string; acceptTimeoutMs?: number } = {}) =>
    submitCommand(bus, store, {
      domain: 'proxmox',
      scope,
      action: 'vm-stop',
      payload: { $case: 'power', value: { vmid, action: 'stop', node: 'pve1', type: 'qemu' } },
      actor,
      acceptTimeoutMs: extra.acceptTimeoutMs ?? 10_000,
      timeoutMs: 60_000,
      idempotencyKey: extra.idempotencyKey,
    });

  /** The command's record once it has succeeded (waits for it). */
  const succeeded = (id: string, o?: Parameters<typeof waitFor>[1]) =>
    waitFor(async () => {
      const r = (await store.get(id))?.record;
      return r?.status === CommandStatus.COMMAND_STATUS_SUCCEEDED ? r : undefined;
    }, o);

  const statusesOf = (id: string) =>
    events.filter((e) => e.type === 'molten.v1.CommandTransition' && (e.value as { commandId: string }).commandId === id).map((e) => commandStatusName((e.value as { status: CommandStatus }).status));

  it('runs a command once and publishes requested, accepted, running, succeeded', async () => {
    const calls: number[] = [];
    const handler: CommandHandler = {
      async execute(ctx) {
        await ctx.beforeUpstreamCall();
        const p = ctx.command.payload;
        calls.push(p?.$case === 'power' ? p.value.vmid : 0);
        await ctx.running('UPID:pve1:1');
        return { status: 'succeeded', message: 'stopped', resultJson: '{"status":"stopped"}' };
      },
      async resume() {
        throw new Error('not expected');
      },
    };
    const worker = new CommandWorker(bus, { domain: 'proxmox', scope: 'a', instance: 'w1', handler, log: testLogger() });
    await worker.start();
    const { record } = await submit('a', 101);
    await waitFor(async () => (await store.get(record.command!.id))?.record.status === CommandStatus.COMMAND_STATUS_SUCCEEDED, { message: 'command succeeded' });
    await waitFor(() => statusesOf(record.command!.id).length === 4, { message: 'four transitions' });
    expect(statusesOf(record.command!.id)).toEqual(['requested', 'accepted', 'running', 'succeeded']);
    const stored = (await store.get(record.command!.id))!.record;
    expect(stored.upstreamTaskId).toBe('UPID:pve1:1');
    expect(stored.resultJson).toBe('{"status":"stopped"}');
    expect(stored.upstreamCallAtMs).toBeGreaterThan(0);
    expect(calls).toEqual([101]);
    await worker.stop();
  });

  it('refuses a command whose actor may not act (a viewer, or no role): failed forbidden, never run', async () => {
    let ran = 0;
    const handler: CommandHandler = {
      async execute() {
        ran++;
        return { status: 'succeeded', message: 'ran' };
      },
      async resume() {
        throw new Error('not expected');
      },
    };
    const worker = new CommandWorker(bus, { domain: 'proxmox', scope: 'forged', instance: 'w-forged', handler, log: testLogger() });
    await worker.start();
    try {
      for (const [i, forged] of [{ kind: 'user', name: 'mallory', role: 'viewer' }, { kind: 'user', name: 'nobody', role: '' }].entries()) {
        const { record } = await submitCommand(bus, store, {
          domain: 'proxmox', scope: 'forged', action: 'vm-stop', actor: forged, acceptTimeoutMs: 10_000, timeoutMs: 60_000,
          payload: { $case: 'power', value: { vmid: 300 + i, action: 'stop', node: 'pve1', type: 'qemu' } },
        });
        const done = await waitFor(async () => {
          const r = (await store.get(record.command!.id))?.record;
          return r && r.status === CommandStatus.COMMAND_STATUS_FAILED ? r : undefined;
        }, { message: 'the forged command ends failed' });
        expect(done.error).toMatchObject({ code: 'forbidden' });
        expect(done.transitions.at(-1)!.message).toMatch(new RegExp(`${forged.name} \\(role "${forged.role || 'none'}"\\) may not vm-stop`));
      }
      expect(ran).toBe(0);
    } finally {
      await worker.stop();
    }
  });

  it('tells whether a worker pulls a scope\'s commands: not before one starts, while it runs, not once it stopped', async () => {
    expect(await commandsPulled(bus, 'proxmox', 'pulled')).toBe(false);
    const handler: CommandHandler = { execute: async () => ({ status: 'succeeded', message: '' }), resume: async () => ({ status: 'succeeded', message: '' }) };
    const worker = new CommandWorker(bus, { domain: 'proxmox', scope: 'pulled', instance: 'w1', handler, log: testLogger() });
    await worker.start();
    await waitFor(() => commandsPulled(bus, 'proxmox', 'pulled'), { message: 'the worker pulls' });
    await worker.stop();
    await waitFor(async () => !(await commandsPulled(bus, 'proxmox', 'pulled')), { message: 'the stopped worker no longer pulls', timeoutMs: 10_000 });
  });

  it('right after its connection came back from an outage, counts a scope as pulled (its workers are reconnecting too)', async () => {
    expect(await commandsPulled(bus, 'proxmox', 'nobody-yet')).toBe(false);
    const now = Date.now();
    expect(await commandsPulled({ ...bus, lastReconnectAtMs: () => now - 1_000 }, 'proxmox', 'nobody-yet', now)).toBe(true);
    expect(await commandsPulled({ ...bus, lastReconnectAtMs: () => now - 60_000 }, 'proxmox', 'nobody-yet', now)).toBe(false);
  });

  it('counts a scope as pulled while its connection is down, and when the answer comes from the reconnected server before this process saw the reconnect', async () => {
    // No worker pulls 'outage': a connected, settled bus says so.
    expect(await commandsPulled(bus, 'proxmox', 'outage')).toBe(false);
    // The server answers on the new connection while the status loop still holds "disconnected":
    // the answer (no pull waiting: none came back yet) says nothing about the workers.
    expect(await commandsPulled({ ...bus, connected: () => false }, 'proxmox', 'outage')).toBe(true);
    // The connection went down and came back while the question was out.
    let reconnects = 0;
    expect(await commandsPulled({ ...bus, reconnects: () => reconnects++ }, 'proxmox', 'outage')).toBe(true);

    // A real outage: asked while the server is down, answered at once instead of after the request's timeout.
    const own = await busFixture();
    try {
      const api = await own.connect('api');
      expect(await commandsPulled(api, 'proxmox', 'outage')).toBe(false);
      await own.server.kill();
      await waitFor(() => !api.connected(), { message: 'the api sees the outage' });
      expect(await commandsPulled(api, 'proxmox', 'outage')).toBe(true);
    } finally {
      await own.dispose();
    }
  });

  it('maps a repeated idempotency key to the same command and queues it once', async () => {
    const a = await submit('b', 102, { idempotencyKey: 'k-1' });
    const b = await submit('b', 102, { idempotencyKey: 'k-1' });
    expect(b.duplicate).toBe(true);
    expect(b.record.command!.id).toBe(a.record.command!.id);
    const info = await bus.jsm.streams.info('MOLTEN_CMD', { subjects_filter: 'molten.cmd.proxmox.b.>' });
    expect(info.state.subjects).toEqual({ 'molten.cmd.proxmox.b.vm-stop': 1 });
  });

  it('resumes instead of re-running a command whose replica stopped mid-task', async () => {
    let executes = 0;
    let resumes = 0;
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const first: CommandHandler = {
      async execute(ctx) {
        executes++;
        await ctx.beforeUpstreamCall();
        await ctx.running('UPID:task-1');
        await Promise.race([blocked, new Promise((r) => ctx.signal.addEventListener('abort', r))]);
        return { status: 'succeeded', message: 'done by first' };
      },
      async resume() {
        throw new Error('first replica does not resume');
      },
    };
    const second: CommandHandler = {
      async execute() {
        executes++;
        return { status: 'failed', message: 'must not execute again' };
      },
      async resume(ctx) {
        resumes++;
        expect(ctx.record.upstreamTaskId).toBe('UPID:task-1');
        return { status: 'succeeded', message: 'followed the recorded task' };
      },
    };
    const w1 = new CommandWorker(bus, { domain: 'proxmox', scope: 'c', instance: 'w1', handler: first, log: testLogger(), ackWaitMs: 2_000 });
    await w1.start();
    const { record } = await submit('c', 103);
    await waitFor(async () => (await store.get(record.command!.id))?.record.status === CommandStatus.COMMAND_STATUS_RUNNING);
    await w1.stop(100); // hands the running command back
    const w2 = new CommandWorker(bus, { domain: 'proxmox', scope: 'c', instance: 'w2', handler: second, log: testLogger() });
    await w2.start();
    const done = await succeeded(record.command!.id);
    release();
    expect(executes).toBe(1);
    expect(resumes).toBe(1);
    expect(done.transitions.at(-1)!.message).toBe('followed the recorded task');
    await w2.stop();
  });

  it('times out a command accepted after its accept deadline, without running it', async () => {
    let ran = false;
    const { record } = await submit('d', 104, { acceptTimeoutMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    const w = new CommandWorker(bus, {
      domain: 'proxmox', scope: 'd', instance: 'w', log: testLogger(),
      handler: { execute: async () => ((ran = true), { status: 'succeeded', message: '' }), resume: async () => ({ status: 'succeeded', message: '' }) },
    });
    await w.start();
    const r = await waitFor(async () => {
      const s = (await store.get(record.command!.id))?.record;
      return s?.status === CommandStatus.COMMAND_STATUS_TIMED_OUT ? s : undefined;
    });
    expect(ran).toBe(false);
    expect(r.error?.code).toBe('no_adapter');
    await w.stop();
  });

  it('terminates a malformed command instead of redelivering it, and keeps working', async () => {
    const seen: string[] = [];
    const w = new CommandWorker(bus, {
      domain: 'proxmox', scope: 'e', instance: 'w', log: testLogger(),
      handler: { execute: async (ctx) => (seen.push(ctx.command.id), { status: 'succeeded', message: '' }), resume: async () => ({ status: 'succeeded', message: '' }) },
    });
    await w.start();
    const h = headers();
    h.set('molten-type', 'molten.v1.Command');
    await bus.js.publish('molten.cmd.proxmox.e.vm-stop', new Uint8Array([1, 2, 3]), { headers: h });
    await bus.js.publish('molten.cmd.proxmox.e.vm-stop', new TextEncoder().encode('{"vmid":101}'));
    const { record } = await submit('e', 105);
    await waitFor(() => seen.includes(record.command!.id), { message: 'the valid command ran' });
    // Nothing is pending or waiting for an ack: the malformed ones will not come back.
    await waitFor(async () => {
      const c = await bus.jsm.consumers.info('MOLTEN_CMD', w.durable);
      return c.num_pending === 0 && c.num_ack_pending === 0 && c.num_redelivered === 0;
    }, { message: 'nothing left to redeliver' });
    await w.stop();
  });

  it('the record an adapter assumes on first delivery is byte for byte the one the api stored', async () => {
    const { record } = await submit('g', 107);
    const stored = await bus.kv.commands.get(commandKey(record.command!.id));
    // The command as the adapter has it: decoded from the stored bytes, like from the message.
    const command = CommandRecord.decode(stored!.value).command!;
    const h = new Map<string, string>([[HEADERS.recordRevision, String(stored!.revision)], [HEADERS.recordBy, 'api']]);
    const guess = submittedRecord(command, { get: (k) => h.get(k) ?? '' })!;
    expect(guess.revision).toBe(stored!.revision);
    expect(Buffer.from(CommandRecord.encode(guess.record).finish())).toEqual(Buffer.from(stored!.value));
    expect(submittedRecord(command, { get: () => '' })).toBeUndefined();
  });

  it('a command changed after it was queued is not run on the stale guess of its record', async () => {
    let ran = false;
    const { record } = await submit('h', 108);
    const id = record.command!.id;
    // The api times it out before any adapter takes it: the record's revision moves on.
    expect(await store.transition(id, CommandStatus.COMMAND_STATUS_TIMED_OUT, { message: 'timed out by the api' })).toBeDefined();
    const w = new CommandWorker(bus, {
      domain: 'proxmox', scope: 'h', instance: 'w', log: testLogger(),
      handler: { execute: async () => ((ran = true), { status: 'succeeded', message: '' }), resume: async () => ((ran = true), { status: 'succeeded', message: '' }) },
    });
    await w.start();
    await waitFor(async () => {
      const c = await bus.jsm.consumers.info('MOLTEN_CMD', w.durable);
      return c.num_pending === 0 && c.num_ack_pending === 0;
    }, { message: 'the command was taken and acknowledged' });
    expect(ran).toBe(false);
    const r = (await store.get(id))!.record;
    expect(r.status).toBe(CommandStatus.COMMAND_STATUS_TIMED_OUT);
    expect(r.transitions.map((t) => commandStatusName(t.status))).toEqual(['requested', 'timed_out']);
    await w.stop();
  });

  it('holds no more commands than it runs: a busy replica leaves the rest in the stream for others', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const started: number[] = [];
    const handler: CommandHandler = {
      async execute(ctx) {
        const p = ctx.command.payload;
        started.push(p?.$case === 'power' ? p.value.vmid : 0);
        await blocked;
        return { status: 'succeeded', message: 'done' };
      },
      resume: async () => ({ status: 'succeeded', message: 'done' }),
    };
    const w = new CommandWorker(bus, { domain: 'proxmox', scope: 'busy', instance: 'w-busy', handler, log: testLogger(), concurrency: 2 });
    await w.start();
    try {
      for (let i = 0; i < 8; i++) await submit('busy', 400 + i);
      await waitFor(() => started.length === 2, { message: 'two commands run' });
      // Held by this replica: the two it runs, none waiting in a local buffer (a replica that
      // died now would strand only those two, and they come back after the ack wait).
      const c = await waitFor(async () => {
        const info = await bus.jsm.consumers.info('MOLTEN_CMD', w.durable);
        return info.num_pending === 6 ? info : undefined;
      }, { message: 'six commands still in the stream' });
      expect(c.num_ack_pending).toBe(2);
      release();
      await waitFor(() => started.length === 8, { message: 'the rest run as slots free up' });
    } finally {
      release();
      await w.stop();
    }
  });

  it('pulls again when a pull passes its expiry with no word from the server, not only once its heartbeats are missed', async () => {
    // nats-server 2.9 drops an expired pull without its 408 when a command comes in just before
    // its expiry timer runs; here the worker's connection loses every 408 instead, which leaves
    // the worker in the same state: a pull the server no longer has, and no word of it.
    const wbus = await fx.connect('w-silent');
    const nc = wbus.nc as unknown as { subscribe: (subject: string, opts?: { callback?: (err: unknown, m: { headers?: { code?: number } }) => void }) => unknown };
    const subscribe = nc.subscribe.bind(nc);
    let swallowed = 0;
    nc.subscribe = (subject, opts) => {
      const cb = opts?.callback;
      if (!cb) return subscribe(subject, opts);
      return subscribe(subject, {
        ...opts,
        callback: (err, m) => {
          if (!err && m.headers?.code === 408) swallowed++;
          else cb(err, m);
        },
      });
    };
    const received: number[] = [];
    const handler: CommandHandler = {
      async execute(ctx) {
        const p = ctx.command.payload;
        received.push(p?.$case === 'power' ? p.value.vmid : 0);
        return { status: 'succeeded', message: 'done' };
      },
      resume: async () => ({ status: 'succeeded', message: 'done' }),
    };
    const { log, lines } = capturingLogger('w-silent', 'info');
    const heartbeatsMissed = () => lines.filter((l) => /heartbeats missed/i.test(JSON.stringify(l.err ?? ''))).length;
    const w = new CommandWorker(wbus, { domain: 'proxmox', scope: 'silent', instance: 'w-silent', handler, log });
    await w.start();
    try {
      await waitFor(() => swallowed > 0, { message: "the first pull's expiry (its 408 lost)" });
      const { record } = await submit('silent', 140);
      await succeeded(record.command!.id, { message: 'the command ran' });
      expect(received).toEqual([140]);
      // Taken by a pull made right after the lost one's expiry; before, the worker waited for
      // two missed heartbeats (2 s) to notice the pull was gone, and only then pulled again.
      expect(heartbeatsMissed()).toBe(0);
    } finally {
      await w.stop();
    }
  });

  it('steps back when another delivery of the command made its upstream call, and resumes it instead', async () => {
    const calls: string[] = [];
    const handler: CommandHandler = {
      async execute(ctx) {
        await ctx.beforeUpstreamCall();
        calls.push('posted');
        return { status: 'succeeded', message: 'posted' };
      },
      async resume(ctx) {
        calls.push('resumed');
        return { status: 'succeeded', message: `followed the call made at ${ctx.record.upstreamCallAtMs}` };
      },
    };
    const { record } = await submit('twin', 110);
    const id = record.command!.id;
    // Another replica accepted it and marked its call, then stalled past the ack wait.
    const other = new CommandStore(bus, 'stalled-replica');
    await other.transition(id, CommandStatus.COMMAND_STATUS_ACCEPTED, { message: 'accepted by stalled-replica' });
    // This worker gets the command in the moment after the record said accepted but before the
    // stalled one's mark reached it: it sees no call yet and executes, and its mark is refused.
    const w = new CommandWorker(bus, { domain: 'proxmox', scope: 'twin', instance: 'w-twin', handler, log: testLogger() });
    const execute = handler.execute;
    handler.execute = async (ctx) => {
      await other.markUpstreamCall(id);
      return execute(ctx);
    };
    await w.start();
    try {
      const done = await succeeded(id, { message: 'the command ends', timeoutMs: 15_000 });
      expect(calls).toEqual(['resumed']);
      expect(done.transitions.at(-1)!.message).toMatch(/^followed the call made at \d+/);
    } finally {
      await w.stop();
    }
  });

  it("records the outcome beside the handler's last writes (published) and acknowledges once they land; a failed one leaves the outcome", async () => {
    let release!: (fail: boolean) => void;
    let executed = 0;
    const handler: CommandHandler = {
      async execute() {
        executed++;
        const published = new Promise<void>((resolve, reject) => (release = (fail) => (fail ? reject(new Error('state bucket unreachable')) : resolve())));
        return { status: 'succeeded', message: 'stopped', published };
      },
      resume: async () => {
        throw new Error('not expected');
      },
    };
    const w = new CommandWorker(bus, { domain: 'proxmox', scope: 'pub', instance: 'w', handler, log: testLogger() });
    await w.start();
    try {
      for (const [i, fail] of [false, true].entries()) {
        const { record } = await submit('pub', 120 + i);
        const id = record.command!.id;
        await waitFor(async () => (await store.get(id))?.record.status === CommandStatus.COMMAND_STATUS_SUCCEEDED, { message: 'the outcome is recorded first' });
        expect((await bus.jsm.consumers.info('MOLTEN_CMD', w.durable)).num_ack_pending).toBe(1);
        release(fail);
        await waitFor(async () => (await bus.jsm.consumers.info('MOLTEN_CMD', w.durable)).num_ack_pending === 0, { message: 'acknowledged once published settled' });
        expect((await store.get(id))!.record.status).toBe(CommandStatus.COMMAND_STATUS_SUCCEEDED);
      }
      expect(executed).toBe(2);
    } finally {
      await w.stop();
    }
  });

  it('refuses a transition that the lifecycle does not allow', async () => {
    const { record } = await submit('f', 106);
    const id = record.command!.id;
    expect(await store.transition(id, CommandStatus.COMMAND_STATUS_TIMED_OUT)).toBeDefined();
    expect(await store.transition(id, CommandStatus.COMMAND_STATUS_ACCEPTED)).toBeUndefined();
    const r: CommandRecord = (await store.get(id))!.record;
    expect(r.status).toBe(CommandStatus.COMMAND_STATUS_TIMED_OUT);
  });

  describe('a handler that accepts with its call (acceptsWithCall)', () => {
    /** Every write of command records from now on, decoded, as the bucket saw them. */
    const recordWrites = async () => {
      const seen: { key: string; record: CommandRecord }[] = [];
      const w = await bus.kv.commands.watch({ key: 'cmd.*', include: 'updates' });
      void (async () => {
        for await (const e of w) if (e.operation === 'PUT') seen.push({ key: e.key, record: CommandRecord.decode(e.value) });
      })();
      return { of: (id: string) => seen.filter((x) => x.key === commandKey(id)).map((x) => x.record), stop: () => w.stop() };
    };

    it('accepts the command and marks its call in one write: requested, accepted, running, succeeded, one write less', async () => {
      const handler: CommandHandler = {
        acceptsWithCall: (c) => c.payload?.$case === 'power',
        async execute(ctx) {
          expect(ctx.record.status).toBe(CommandStatus.COMMAND_STATUS_REQUESTED);
          await ctx.beforeUpstreamCall();
          await ctx.running('UPID:pve1:merged');
          return { status: 'succeeded', message: 'stopped' };
        },
        async resume() {
          throw new Error('not expected');
        },
      };
      const w = new CommandWorker(bus, { domain: 'proxmox', scope: 'merged', instance: 'w-merged', handler, log: testLogger() });
      await w.start();
      try {
        const writes = await recordWrites();
        const { record } = await submit('merged', 130);
        const id = record.command!.id;
        const done = await succeeded(id);
        await waitFor(() => statusesOf(id).length === 4, { message: 'four transitions' });
        expect(statusesOf(id)).toEqual(['requested', 'accepted', 'running', 'succeeded']);
        const accepted = done.transitions.find((t) => t.status === CommandStatus.COMMAND_STATUS_ACCEPTED)!;
        expect(accepted.message).toBe('accepted by w-merged');
        expect(done.upstreamCallAtMs).toBe(accepted.atMs);
        // requested, accepted with the call marked, running, succeeded: never accepted without its mark.
        await waitFor(() => writes.of(id).length === 4, { message: 'four writes of the record' });
        writes.stop();
        expect(writes.of(id).map((r) => [commandStatusName(r.status), r.upstreamCallAtMs > 0])).toEqual([
          ['requested', false],
          ['accepted', true],
          ['running', true],
          ['succeeded', true],
        ]);
      } finally {
        await w.stop();
      }
    });

    it('accepts it, marks its call and moves it to running in one write when asked (a tool call): four transitions, in order, from three writes', async () => {
      const handler: CommandHandler = {
        acceptsWithCall: () => true,
        async execute(ctx) {
          await ctx.beforeUpstreamCall({ running: 'calling echo on "test"' });
          return { status: 'succeeded', message: 'echo done' };
        },
        async resume() {
          throw new Error('not expected');
        },
      };
      const w = new CommandWorker(bus, { domain: 'proxmox', scope: 'merged-run', instance: 'w-run', handler, log: testLogger() });
      await w.start();
      try {
        const writes = await recordWrites();
        const { record } = await submit('merged-run', 132);
        const id = record.command!.id;
        const done = await succeeded(id);
        await waitFor(() => statusesOf(id).length === 4, { message: 'four transitions' });
        expect(statusesOf(id)).toEqual(['requested', 'accepted', 'running', 'succeeded']);
        expect(done.transitions.map((t) => [commandStatusName(t.status), t.message])).toEqual([
          ['requested', 'requested'],
          ['accepted', 'accepted by w-run'],
          ['running', 'calling echo on "test"'],
          ['succeeded', 'echo done'],
        ]);
        await waitFor(() => writes.of(id).length === 3, { message: 'three writes of the record' });
        writes.stop();
        expect(writes.of(id).map((r) => [commandStatusName(r.status), r.upstreamCallAtMs > 0])).toEqual([
          ['requested', false],
          ['running', true],
          ['succeeded', true],
        ]);
      } finally {
        await w.stop();
      }
    });

    it('accepts a command that ends before its call (guest not found) before recording its outcome', async () => {
      const handler: CommandHandler = {
        acceptsWithCall: () => true,
        execute: async () => ({ status: 'failed', message: 'guest 131 is not in cluster merged-nf' }),
        resume: async () => ({ status: 'failed', message: 'not expected' }),
      };
      const w = new CommandWorker(bus, { domain: 'proxmox', scope: 'merged-nf', instance: 'w-nf', handler, log: testLogger() });
      await w.start();
      try {
        const { record } = await submit('merged-nf', 131);
        const id = record.command!.id;
        const done = await waitFor(async () => {
          const r = (await store.get(id))?.record;
          return r?.status === CommandStatus.COMMAND_STATUS_FAILED ? r : undefined;
        });
        expect(done.transitions.map((t) => commandStatusName(t.status))).toEqual(['requested', 'accepted', 'failed']);
        expect(done.upstreamCallAtMs).toBe(0);
      } finally {
        await w.stop();
      }
    });

    it('a replica that stops right after the write resumes the command elsewhere (reconciled, never called again)', async () => {
      const calls: string[] = [];
      let resumed: CommandRecord | undefined;
      const first: CommandHandler = {
        acceptsWithCall: () => true,
        async execute(ctx) {
          await ctx.beforeUpstreamCall();
          // Stops before its POST: the call is marked, nothing was sent.
          await new Promise((r) => ctx.signal.addEventListener('abort', r));
          return { status: 'uncertain', message: 'stopped' };
        },
        resume: async () => ({ status: 'failed', message: 'not expected' }),
      };
      const second: CommandHandler = {
        acceptsWithCall: () => true,
        // The command can come to this replica as if for the first time (delivery count 1): it is
        // then planned on the record as the api stored it, and its call's write is refused.
        async execute(ctx) {
          await ctx.beforeUpstreamCall();
          calls.push('posted');
          return { status: 'failed', message: 'must not post again' };
        },
        async resume(ctx) {
          resumed = ctx.record;
          return { status: 'succeeded', message: 'reconciled: no task, the guest is stopped' };
        },
      };
      const w1 = new CommandWorker(bus, { domain: 'proxmox', scope: 'merged-crash', instance: 'w1', handler: first, log: testLogger(), ackWaitMs: 2_000 });
      await w1.start();
      const { record } = await submit('merged-crash', 132);
      const id = record.command!.id;
      await waitFor(async () => ((await store.get(id))?.record.upstreamCallAtMs ?? 0) > 0, { message: 'call marked' });
      await w1.stop(100);
      const w2 = new CommandWorker(bus, { domain: 'proxmox', scope: 'merged-crash', instance: 'w2', handler: second, log: testLogger() });
      await w2.start();
      try {
        const done = await succeeded(id, { timeoutMs: 15_000 });
        expect(calls).toEqual([]);
        expect(resumed?.status).toBe(CommandStatus.COMMAND_STATUS_ACCEPTED);
        expect(resumed?.upstreamCallAtMs).toBeGreaterThan(0);
        expect(done.transitions.map((t) => commandStatusName(t.status))).toEqual(['requested', 'accepted', 'succeeded']);
      } finally {
        await w2.stop();
      }
    });

    it('records no outcome planned on a stale record: steps back, and resumes the call another delivery made', async () => {
      const seen: string[] = [];
      const handler: CommandHandler = {
        acceptsWithCall: () => true,
        async execute() {
          seen.push('planned: not found');
          return { status: 'failed', message: 'guest 134 is not in cluster merged-stale' };
        },
        async resume() {
          seen.push('resumed');
          return { status: 'succeeded', message: 'followed the call made elsewhere' };
        },
      };
      const { record } = await submit('merged-stale', 134);
      const id = record.command!.id;
      // Another replica took it (accepted, call marked) before this one got its delivery.
      const other = new CommandStore(bus, 'other-replica');
      await other.markUpstreamCall(id, Date.now(), { accept: 'accepted by other-replica' });
      const w = new CommandWorker(bus, { domain: 'proxmox', scope: 'merged-stale', instance: 'w-stale', handler, log: testLogger() });
      await w.start();
      try {
        const done = await succeeded(id, { timeoutMs: 15_000 });
        expect(seen.at(-1)).toBe('resumed');
        expect(done.transitions.map((t) => `${commandStatusName(t.status)} by ${t.by}`)).toEqual(['requested by api', 'accepted by other-replica', 'succeeded by w-stale']);
      } finally {
        await w.stop();
      }
    });

    it('makes no call for a command the api timed out before the write', async () => {
      const calls: string[] = [];
      const handler: CommandHandler = {
        acceptsWithCall: () => true,
        async execute(ctx) {
          // The api's accept timeout lands between the plan and the write.
          await store.transition(ctx.command.id, CommandStatus.COMMAND_STATUS_TIMED_OUT, { message: 'no adapter accepted it in time' });
          await ctx.beforeUpstreamCall();
          calls.push('posted');
          return { status: 'succeeded', message: 'posted' };
        },
        resume: async () => ({ status: 'succeeded', message: 'not expected' }),
      };
      const w = new CommandWorker(bus, { domain: 'proxmox', scope: 'merged-late', instance: 'w-late', handler, log: testLogger() });
      await w.start();
      try {
        const { record } = await submit('merged-late', 133);
        const id = record.command!.id;
        // Stepped back, redelivered, found ended: acknowledged (nothing left pending).
        await waitFor(async () => (await bus.jsm.consumers.info(STREAMS.commands, commandConsumerName('proxmox', 'merged-late'))).num_ack_pending === 0 && statusesOf(id).includes('timed_out'), { timeoutMs: 15_000, message: 'acknowledged' });
        const r = (await store.get(id))!.record;
        expect(calls).toEqual([]);
        expect(r.transitions.map((t) => commandStatusName(t.status))).toEqual(['requested', 'timed_out']);
        expect(r.upstreamCallAtMs).toBe(0);
      } finally {
        await w.stop();
      }
    });
  });
});
