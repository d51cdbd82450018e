import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandStatus, ServerStatus, decodeMessage, leaseKey, subjects, type Heartbeat, type UpstreamServer } from '@molten/contracts';
import { createLogger, type BusSettings, type Logger } from '@molten/kit';
import { waitFor } from '@molten/testkit';
import { runAdapter, type AdapterRuntime, type AdapterScope } from './adapter-runtime.js';
import { CommandStore } from './command-store.js';
import { submitCommand } from './command-submit.js';
import type { Bus } from './connect.js';
import { busFixture } from './test/fixtures.js';

const TTL = 1_500;

/** A logger whose lines the test reads. */
function recordingLogger(): { log: Logger; messages: () => string[] } {
  const lines: { msg: string }[] = [];
  const log = createLogger('test-adapter', { level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  return { log, messages: () => lines.map((l) => l.msg) };
}

const server = (id: string, scope: string, reporter: string, reason = 'connected'): UpstreamServer => ({
  id, name: id, kind: 'test', domain: 'proxmox', scope, endpoint: 'test', transport: 'test', status: ServerStatus.SERVER_STATUS_CONNECTED,
  statusReason: reason, remedy: '', reachable: true, authenticated: true, usable: true, latencyMs: 0, lastSeenMs: 0, statusSinceMs: 0,
  version: '', tools: [], capabilities: [], demo: false, methods: [], reporter,
});

describe('runAdapter', () => {
  let fx: Awaited<ReturnType<typeof busFixture>>;
  let bus: Bus;
  let store: CommandStore;
  const heartbeats: Heartbeat[] = [];
  const running: AdapterRuntime[] = [];

  beforeAll(async () => {
    fx = await busFixture({ leaseTtlMs: TTL });
    bus = await fx.connect('api');
    store = new CommandStore(bus, 'api');
    const sub = bus.nc.subscribe(subjects.all.heartbeats);
    void (async () => {
      for await (const m of sub) heartbeats.push(decodeMessage('molten.v1.Heartbeat', m.data));
    })();
    await bus.nc.flush();
  });
  afterAll(async () => {
    for (const rt of running) await rt.stop();
    await fx.dispose();
  });

  // Heartbeats far apart: every beat the tests see was sent because something changed.
  const settings = (instance: string): BusSettings => ({
    natsUrl: fx.server.url, instance, heartbeatMs: 60_000, leaseTtlMs: TTL, commandConcurrency: 4, commandAckWaitMs: 5_000,
  });
  const start = async (o: { instance: string; scope: AdapterScope; log?: Logger; close?: () => void }) => {
    const rt = await runAdapter({
      service: 'test-adapter', domain: 'proxmox', version: 't', settings: settings(o.instance), log: o.log ?? recordingLogger().log,
      setup: () => ({ scopes: [o.scope], close: o.close }),
    });
    running.push(rt);
    return rt;
  };
  const descriptor = async (scope: string, id: string) => {
    const e = await bus.kv.state.get(subjects.stateKey({ domain: 'proxmox', scope, kind: 'server', id }));
    return e && e.operation === 'PUT' && e.length > 0 ? decodeMessage('molten.v1.UpstreamServer', e.value) : undefined;
  };
  const beatsOf = (instance: string) => heartbeats.filter((h) => h.instance === instance);

  it('serves commands, publishes descriptors while it leads, and stops in order without reporting a hand-over', async () => {
    const events: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let reason = 'connected';
    const { log, messages } = recordingLogger();
    const scope: AdapterScope = {
      scope: 'one',
      lease: 'poll',
      handler: {
        async execute() {
          events.push('command started');
          await released;
          events.push('command finished');
          return { status: 'succeeded', message: 'done' };
        },
        resume: async () => ({ status: 'failed', message: 'not expected' }),
      },
      health: (leader) => ({ serverId: 'srv-one', scope: 'one', status: ServerStatus.SERVER_STATUS_CONNECTED, lastOkMs: 0, pollMs: 1_000, latencyMs: 0, leader, capabilities: [], privileges: [] }),
      descriptors: () => [server('srv-one', 'one', 'solo', reason)],
      onLeader: (leader) => void events.push(`leader ${leader}`),
    };
    const rt = await start({ instance: 'solo', scope, log, close: () => void events.push('upstream closed') });

    await waitFor(() => rt.leader('one'), { message: 'the only replica takes the lease' });
    await waitFor(async () => (await descriptor('one', 'srv-one'))?.reporter === 'solo', { message: 'descriptor published on taking the lease' });
    await waitFor(() => beatsOf('solo').some((h) => h.upstreams[0]?.leader), { message: 'a heartbeat says it leads' });

    // A change of health: a heartbeat at once (the interval is a minute) and the descriptor again.
    const beats = beatsOf('solo').length;
    reason = 'node pve2 offline';
    rt.changed('one');
    await waitFor(async () => (await descriptor('one', 'srv-one'))?.statusReason === 'node pve2 offline', { message: 'descriptor republished' });
    await waitFor(() => beatsOf('solo').length > beats, { message: 'a heartbeat right after the change' });

    const { record } = await submitCommand(bus, store, {
      domain: 'proxmox', scope: 'one', action: 'vm-stop', actor: { kind: 'user', name: 'tester', role: 'operator' },
      payload: { $case: 'power', value: { vmid: 101, action: 'stop', node: 'pve1', type: 'qemu' } }, acceptTimeoutMs: 10_000, timeoutMs: 60_000,
    });
    await waitFor(() => events.includes('command started'), { message: 'the command runs' });
    const stopping = rt.stop();
    release();
    await stopping;

    expect(events).toEqual(['leader true', 'command started', 'command finished', 'leader false', 'upstream closed']);
    expect((await store.get(record.command!.id))?.record.status).toBe(CommandStatus.COMMAND_STATUS_SUCCEEDED);
    expect(rt.bus.nc.isClosed()).toBe(true);
    expect(await bus.kv.leases.get(leaseKey('proxmox', 'one', 'poll'))).toSatisfy((e: { operation: string } | null) => !e || e.operation !== 'PUT');
    expect(messages()).toContain('took the lease');
    expect(messages()).toContain('released the lease');
    expect(messages()).not.toContain('lost the lease');
    expect(messages().filter((m) => /another replica/.test(m))).toEqual([]);
  });

  it('hands the lease over on a clean stop; the new leader republishes and drops servers no longer listed', async () => {
    const started: string[] = [];
    const scopeOf = (instance: string, ids: string[]): AdapterScope => ({
      scope: 'two',
      lease: 'poll',
      health: (leader) => ({ serverId: 'srv-two', scope: 'two', status: ServerStatus.SERVER_STATUS_CONNECTED, lastOkMs: 0, pollMs: 1_000, latencyMs: 0, leader, capabilities: [], privileges: [] }),
      descriptors: () => ids.map((id) => server(id, 'two', instance)),
      onLeader: (leader) => void (leader && started.push(instance)),
    });
    // The first replica also lists a server the second one does not have.
    const a = await start({ instance: 'rep-a', scope: scopeOf('rep-a', ['srv-two', 'srv-extra']) });
    await waitFor(() => a.leader('two'));
    await waitFor(async () => (await descriptor('two', 'srv-extra'))?.reporter === 'rep-a', { message: 'the first leader publishes both' });
    const b = await start({ instance: 'rep-b', scope: scopeOf('rep-b', ['srv-two']) });
    await waitFor(() => beatsOf('rep-b').length > 0, { message: 'the second replica is up' });
    expect(b.leader('two')).toBe(false);

    await a.stop();
    await waitFor(() => b.leader('two'), { message: 'the second replica takes over' });
    await waitFor(async () => (await descriptor('two', 'srv-two'))?.reporter === 'rep-b', { message: 'the new leader republishes' });
    await waitFor(async () => !(await descriptor('two', 'srv-extra')), { message: 'the server it does not list is removed' });
    expect(started).toEqual(['rep-a', 'rep-b']);
  });

  it('closes the bus again when the adapter cannot be set up', async () => {
    let opened: Bus | undefined;
    await expect(
      runAdapter({
        service: 'test-adapter', domain: 'proxmox', version: 't', settings: settings('broken'), log: recordingLogger().log,
        setup(ctx) {
          opened = ctx.bus;
          throw new Error('no upstream configured');
        },
      }),
    ).rejects.toThrow('no upstream configured');
    expect(opened?.nc.isClosed()).toBe(true);
  });
});
