import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metadata, credentials, loadPackageDefinition, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { CommandWorker, StatePublisher, connectBus, encodeBus, startHeartbeat, type Bus, type CommandHandler } from '@molten/bus';
import { CommandStatus, STREAMS, ServerStatus, subjects, type Event, type Guest } from '@molten/contracts';
import { ControlPlaneServiceClient, type SubmitCommandRequest } from '@molten/contracts/grpc';
import { testLogger, waitFor } from '@molten/testkit';
import { OPERATOR, VIEWER, apiFixture } from '../test/api-fixture.js';

const guest = (vmid: number, over: Partial<Guest> = {}): Guest => ({
  cluster: 'homelab', vmid, name: `vm${vmid}`, node: 'pve1', type: 'qemu', status: 'running', qmpstatus: 'running',
  cpu: 0.1, maxcpu: 2, mem: 1, maxmem: 2, disk: 0, maxdisk: 10, uptime: 100, tags: ['web'], template: false,
  netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [], ...over,
});

const auth = (token: string | null) => {
  const md = new Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return md;
};

type Unary<Req, Res> = (req: Req, md: Metadata, opts: object, cb: (err: ServiceError | null, res: Res) => void) => { on(e: 'status', l: (s: { metadata: Metadata }) => void): unknown };

/** Calls a unary method; resolves with the answer and trailers, or rejects with the ServiceError. */
function call<Req, Res>(fn: Unary<Req, Res>, client: ControlPlaneServiceClient, req: Req, token: string | null = OPERATOR, opts: object = {}) {
  return new Promise<{ res: Res; trailers: Metadata }>((resolve, reject) => {
    let res: Res | undefined;
    let error: ServiceError | null = null;
    const c = fn.call(client, req, auth(token), opts, (err, r) => {
      error = err;
      res = r;
    });
    c.on('status', (s) => (error ? reject(error) : resolve({ res: res!, trailers: s.metadata })));
  });
}

async function callError<Req, Res>(fn: Unary<Req, Res>, client: ControlPlaneServiceClient, req: Req, token: string | null = OPERATOR): Promise<ServiceError> {
  try {
    await call(fn, client, req, token);
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('the call succeeded; an error was expected');
}

/** Collects a WatchEvents stream's events and its end. */
function watch(client: ControlPlaneServiceClient, req: { fromSeq?: number; subjectFilter?: string }, token: string | null = VIEWER, opts: object = {}) {
  const events: Event[] = [];
  let headers: Metadata | undefined;
  const stream: ClientReadableStream<Event> = client.watchEvents({ fromSeq: req.fromSeq ?? 0, subjectFilter: req.subjectFilter ?? '' }, auth(token), opts);
  stream.on('data', (e: Event) => events.push(e));
  stream.on('metadata', (m) => (headers = m));
  const ended = new Promise<{ code: status; details: string; metadata: Metadata }>((resolve) => {
    stream.on('status', (s) => resolve(s));
    stream.on('error', () => {});
  });
  return { events, ended, stream, headers: () => headers, cancel: () => stream.cancel() };
}

describe('gRPC ControlPlaneService', () => {
  let fx: Awaited<ReturnType<typeof apiFixture>>;
  let adapterBus: Bus;
  let publisher: StatePublisher;
  let worker: CommandWorker;
  let heartbeat: { stop(): void } | undefined;
  let client: ControlPlaneServiceClient;
  const executed: string[] = [];

  beforeAll(async () => {
    fx = await apiFixture({ MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS: '3000', MOLTEN_RATE_LIMIT: '6000', MOLTEN_RATE_BURST: '1000' });
    adapterBus = await connectBus({ servers: fx.nats.url, name: 'fake-adapter', log: testLogger() });
    publisher = new StatePublisher(adapterBus, 'proxmox', 'homelab');
    for (const g of [guest(101), guest(102, { status: 'stopped', qmpstatus: 'stopped', uptime: 0 }), guest(200, { type: 'lxc', qmpstatus: undefined })]) {
      await publisher.put(g.type as 'qemu' | 'lxc', String(g.vmid), g);
    }
    await publisher.put('node', 'pve1', { cluster: 'homelab', node: 'pve1', status: 'online', cpu: 0.2, maxcpu: 8, mem: 1, maxmem: 2, disk: 1, maxdisk: 2, uptime: 10, level: '', loadavg: [], imprecise: [] });
    // A stand-in adapter: a real CommandWorker on the real bus whose handler "runs" the action.
    const handler: CommandHandler = {
      async execute(ctx) {
        const p = ctx.command.payload;
        if (p?.$case !== 'power') return { status: 'failed', message: 'not a power action' };
        executed.push(ctx.command.id);
        await ctx.beforeUpstreamCall();
        await ctx.running(`UPID:pve1:${ctx.command.id}`);
        const g = guest(p.value.vmid, { status: p.value.action === 'stop' ? 'stopped' : 'running', qmpstatus: p.value.action === 'stop' ? 'stopped' : 'running' });
        await publisher.put('qemu', String(g.vmid), g);
        return { status: 'succeeded', message: `${p.value.action} of ${g.vmid} done` };
      },
      async resume() {
        return { status: 'succeeded', message: 'resumed' };
      },
    };
    worker = new CommandWorker(adapterBus, { domain: 'proxmox', scope: 'homelab', instance: 'fake-1', handler, log: testLogger() });
    await worker.start();
    // It beats as a real adapter does, so the api knows it is there also while its worker is
    // stopped; beats far apart enough that a busy machine never makes it look gone.
    heartbeat = startHeartbeat(adapterBus, {
      domain: 'proxmox', instance: 'fake-1', version: 't', intervalMs: 1_000,
      upstreams: () => [{ serverId: 'pve-homelab', scope: 'homelab', status: ServerStatus.SERVER_STATUS_CONNECTED, lastOkMs: Date.now(), pollMs: 1_000, latencyMs: 1, leader: true, capabilities: [], privileges: [] }],
    });
    client = new ControlPlaneServiceClient(fx.api.grpcUrl, credentials.createInsecure());
    await waitFor(() => fx.api.plane.state.guests('homelab').length === 3, { message: 'guests visible to the api' });
    await waitFor(() => fx.api.plane.liveness.unavailable('proxmox', 'homelab') === undefined, { message: 'the adapter is seen' });
  });

  afterAll(async () => {
    heartbeat?.stop();
    client?.close();
    await worker?.stop(1_000);
    await adapterBus?.close();
    await fx?.dispose();
  });

  describe('reads', () => {
    it('lists guests sorted by vmid, nodes, and one guest, with freshness', async () => {
      const { res } = await call(client.listGuests, client, { cluster: '' }, VIEWER);
      expect(res.guests.map((g) => [g.vmid, g.type, g.status])).toEqual([
        [101, 'qemu', 'running'],
        [102, 'qemu', 'stopped'],
        [200, 'lxc', 'running'],
      ]);
      expect(typeof res.stale).toBe('boolean');
      const nodes = await call(client.listNodes, client, { cluster: 'homelab' }, VIEWER);
      expect(nodes.res.nodes.map((n) => n.node)).toEqual(['pve1']);
      const one = await call(client.getGuest, client, { cluster: '', vmid: 102 }, VIEWER);
      expect(one.res.guest).toMatchObject({ vmid: 102, name: 'vm102', status: 'stopped' });
      expect(one.trailers.get('x-request-id')[0]).toBeTruthy();
    });

    it('answers NOT_FOUND for an unknown guest or cluster, INVALID_ARGUMENT naming the field for a bad one', async () => {
      const missing = await callError(client.getGuest, client, { cluster: '', vmid: 555 });
      expect(missing.code).toBe(status.NOT_FOUND);
      expect(missing.details).toMatch(/guest 555/);
      const cluster = await callError(client.listGuests, client, { cluster: 'elsewhere' });
      expect(cluster.code).toBe(status.NOT_FOUND);
      expect(cluster.details).toMatch(/no cluster "elsewhere"/);
      const bad = await callError(client.getGuest, client, { cluster: '', vmid: 5 });
      expect(bad.code).toBe(status.INVALID_ARGUMENT);
      expect(bad.metadata.get('molten-field')).toEqual(['vmid']);
      const badCluster = await callError(client.listNodes, client, { cluster: 'no spaces allowed' });
      expect(badCluster.code).toBe(status.INVALID_ARGUMENT);
      expect(badCluster.metadata.get('molten-field')).toEqual(['cluster']);
    });
  });

  describe('auth', () => {
    it('refuses a call without a token, or with a wrong one, as UNAUTHENTICATED', async () => {
      for (const token of [null, 'not-a-valid-token-0123456789']) {
        const err = await callError(client.listGuests, client, { cluster: '' }, token);
        expect(err.code).toBe(status.UNAUTHENTICATED);
        expect(err.details).toMatch(/Bearer|token/);
      }
    });

    it('lets a viewer read and watch but not submit (PERMISSION_DENIED)', async () => {
      await call(client.listGuests, client, { cluster: '' }, VIEWER);
      const err = await callError(client.submitCommand, client, { cluster: '', idempotencyKey: '', reason: '', payload: { $case: 'power', value: { vmid: 101, action: 'stop', node: '', type: '' } } }, VIEWER);
      expect(err.code).toBe(status.PERMISSION_DENIED);
      expect(err.details).toMatch(/operator role/);
      const w = watch(client, {}, null);
      expect((await w.ended).code).toBe(status.UNAUTHENTICATED);
    });
  });

  describe('SubmitCommand and WatchEvents', () => {
    it('submits a stop and shows its transitions and the guest state change on WatchEvents', async () => {
      const w = watch(client, {});
      await waitFor(() => w.headers(), { message: 'watch headers' });
      expect(Number(w.headers()!.get('molten-seq')[0])).toBeGreaterThan(0);
      const { res } = await call(client.submitCommand, client, { cluster: '', idempotencyKey: '', reason: '', payload: { $case: 'power', value: { vmid: 101, action: 'stop', node: '', type: '' } } });
      const id = res.command!.command!.id;
      expect(res.command!.status).toBe(CommandStatus.COMMAND_STATUS_REQUESTED);
      expect(res.command!.command!.actor).toMatchObject({ kind: 'user', name: 'operator', role: 'operator' });
      const statuses = () =>
        w.events.filter((e) => e.body?.$case === 'transition' && e.body.value.commandId === id).map((e) => (e.body as { value: { status: CommandStatus } }).value.status);
      await waitFor(() => statuses().includes(CommandStatus.COMMAND_STATUS_SUCCEEDED), { message: 'succeeded on the watch' });
      expect(statuses()).toEqual([
        CommandStatus.COMMAND_STATUS_REQUESTED,
        CommandStatus.COMMAND_STATUS_ACCEPTED,
        CommandStatus.COMMAND_STATUS_RUNNING,
        CommandStatus.COMMAND_STATUS_SUCCEEDED,
      ]);
      const change = w.events.find((e) => e.body?.$case === 'guest' && e.body.value.vmid === 101);
      expect(change).toMatchObject({ subject: subjects.state({ domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '101' }), body: { value: { status: 'stopped' } } });
      const seqs = w.events.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      const got = await call(client.getCommand, client, { id }, VIEWER);
      expect(got.res.command!.status).toBe(CommandStatus.COMMAND_STATUS_SUCCEEDED);
      expect(got.res.command!.upstreamTaskId).toBe(`UPID:pve1:${id}`);
      w.cancel();
    });

    it('is idempotent on idempotency_key, shared with REST for the same token', async () => {
      const req: SubmitCommandRequest = { cluster: 'homelab', idempotencyKey: 'start-102-once', reason: 'after the UPS test', payload: { $case: 'power', value: { vmid: 102, action: 'start', node: '', type: '' } } };
      const first = await call(client.submitCommand, client, req);
      const again = await call(client.submitCommand, client, req);
      expect(again.res.command!.command!.id).toBe(first.res.command!.command!.id);
      expect(first.trailers.get('molten-duplicate')).toEqual(['false']);
      expect(again.trailers.get('molten-duplicate')).toEqual(['true']);
      const rest = await fx.json('/api/vms/102/start', { method: 'POST', headers: { 'idempotency-key': 'start-102-once' } });
      expect(rest.body.data.id).toBe(first.res.command!.command!.id);
      // The reason is kept with the command, and REST answers it too.
      expect(first.res.command!.command!.reason).toBe('after the UPS test');
      expect(rest.body.data.reason).toBe('after the UPS test');
      await waitFor(async () => (await call(client.getCommand, client, { id: first.res.command!.command!.id })).res.command!.status === CommandStatus.COMMAND_STATUS_SUCCEEDED);
      expect(executed.filter((id) => id === first.res.command!.command!.id)).toHaveLength(1);
      // The key is bound to that request: on another one it is INVALID_ARGUMENT naming the first command.
      const other = await callError(client.submitCommand, client, { ...req, payload: { $case: 'power', value: { vmid: 101, action: 'reboot', node: '', type: '' } } });
      expect(other.code).toBe(status.INVALID_ARGUMENT);
      expect(other.metadata.get('molten-error-code')).toEqual(['idempotency_key_reused']);
      expect(other.metadata.get('molten-command-id')).toEqual([first.res.command!.command!.id]);
    });

    it('answers FAILED_PRECONDITION naming the command when the guest already has one in flight', async () => {
      await worker.stop(1_000);
      try {
        const first = await call(client.submitCommand, client, { cluster: '', idempotencyKey: '', reason: '', payload: { $case: 'power', value: { vmid: 200, action: 'reboot', node: '', type: '' } } });
        const err = await callError(client.submitCommand, client, { cluster: '', idempotencyKey: '', reason: '', payload: { $case: 'power', value: { vmid: 200, action: 'stop', node: '', type: '' } } });
        expect(err.code).toBe(status.FAILED_PRECONDITION);
        expect(err.metadata.get('molten-command-id')).toEqual([first.res.command!.command!.id]);
        expect(err.details).toMatch(/already has a command in progress/);
      } finally {
        await worker.start();
      }
    });

    it('answers INVALID_ARGUMENT naming the field of a bad SubmitCommand', async () => {
      const cases: [Partial<SubmitCommandRequest>, string][] = [
        [{}, 'payload'],
        [{ payload: { $case: 'power', value: { vmid: 7, action: 'stop', node: '', type: '' } } }, 'power.vmid'],
        [{ payload: { $case: 'power', value: { vmid: 101, action: 'explode', node: '', type: '' } } }, 'power.action'],
        [{ cluster: 'a b', payload: { $case: 'power', value: { vmid: 101, action: 'stop', node: '', type: '' } } }, 'cluster'],
        [{ idempotencyKey: 'has spaces', payload: { $case: 'power', value: { vmid: 101, action: 'stop', node: '', type: '' } } }, 'idempotency_key'],
        [{ payload: { $case: 'toolCall', value: { serverId: 'mcp-x', tool: 't', argumentsJson: '{nope' } } }, 'tool_call.arguments_json'],
        [{ payload: { $case: 'toolCall', value: { serverId: '', tool: 't', argumentsJson: '' } } }, 'tool_call.server_id'],
        [{ payload: { $case: 'agentRun', value: { agentId: 'main', message: '  ', sessionKey: '', timeoutS: 0 } } }, 'agent_run.message'],
      ];
      for (const [req, field] of cases) {
        const err = await callError(client.submitCommand, client, { cluster: '', idempotencyKey: '', ...req } as SubmitCommandRequest);
        expect(err.code, field).toBe(status.INVALID_ARGUMENT);
        expect(err.metadata.get('molten-field'), field).toEqual([field]);
        expect(err.details, field).toContain(field);
      }
      const badId = await callError(client.getCommand, client, { id: 'not-a-ulid' });
      expect(badId.metadata.get('molten-field')).toEqual(['id']);
      const unknown = await callError(client.getCommand, client, { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' });
      expect(unknown.code).toBe(status.NOT_FOUND);
      const w = watch(client, { subjectFilter: 'foo.>' });
      const end = await w.ended;
      expect(end.code).toBe(status.INVALID_ARGUMENT);
      expect(end.metadata.get('molten-field')).toEqual(['subject_filter']);
    });

    it('refuses tool call arguments nested 5,000 or 10,000 deep, or over the tool call size, with INVALID_ARGUMENT naming them', async () => {
      const server = { id: 'mcp-deep', name: 'Deep', kind: 'mcp', domain: 'mcp', scope: 'deep', endpoint: 'stdio:deep', transport: 'stdio',
        status: ServerStatus.SERVER_STATUS_CONNECTED, statusReason: '', remedy: '', reachable: true, authenticated: true, usable: true,
        latencyMs: 1, lastSeenMs: Date.now(), statusSinceMs: Date.now(), version: '', demo: false, methods: [], reporter: 'fake-mcp',
        tools: [{ name: 'echo', title: '', description: '', inputSchemaJson: '{"type":"object"}' }],
        capabilities: [{ action: 'tool-call', available: true, reason: '', privilege: '' }] };
      await new StatePublisher(adapterBus, 'mcp', 'deep').put('server', 'mcp-deep', server);
      const beat = () => {
        const { data, headers } = encodeBus('molten.v1.Heartbeat', {
          domain: 'mcp', instance: 'fake-mcp', version: 't', startedAtMs: Date.now(), atMs: Date.now(), intervalMs: 2_000,
          upstreams: [{ serverId: 'mcp-deep', scope: 'deep', status: ServerStatus.SERVER_STATUS_CONNECTED, lastOkMs: Date.now(), pollMs: 2_000, latencyMs: 1, leader: true, capabilities: [], privileges: [] }],
        });
        adapterBus.nc.publish(subjects.heartbeat('mcp', 'fake-mcp'), data, { headers });
      };
      beat();
      const timer = setInterval(beat, 100);
      try {
        await waitFor(() => fx.api.reads.servers({ tools: false }).some((s) => s.id === 'mcp-deep' && s.status === 'connected' && !s.stale), { message: 'the server is callable' });
        const tool = (argumentsJson: string): SubmitCommandRequest => ({ cluster: '', idempotencyKey: '', reason: '', payload: { $case: 'toolCall', value: { serverId: 'mcp-deep', tool: 'echo', argumentsJson } } });
        for (const depth of [5_000, 10_000]) {
          const err = await callError(client.submitCommand, client, tool(`{"a":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`));
          expect(err.code, `${depth} deep`).toBe(status.INVALID_ARGUMENT);
          expect(err.metadata.get('molten-field')).toEqual(['tool_call.arguments_json']);
          expect(err.details).toMatch(/nests deeper than 64/);
        }
        const big = await callError(client.submitCommand, client, tool(JSON.stringify({ message: 'x'.repeat(2 * 1024 * 1024) })));
        expect(big.code).toBe(status.INVALID_ARGUMENT);
        expect(big.details).toMatch(/1048576 bytes/);
        const huge = await callError(client.submitCommand, client, tool(JSON.stringify({ message: 'x'.repeat(10 * 1024 * 1024) })));
        expect(huge.code).toBe(status.RESOURCE_EXHAUSTED);
        const { res } = await call(client.submitCommand, client, tool('{"message":"hi"}'));
        expect(res.command!.command!.action).toBe('tool-call');
      } finally {
        clearInterval(timer);
      }
    });

    it('answers UNAVAILABLE with the remedy when the cluster upstream is known to be down', async () => {
      const server = { id: 'pve-broken', name: 'Proxmox VE (broken)', kind: 'proxmox-ve', domain: 'proxmox', scope: 'broken', endpoint: 'https://pve:8006', transport: 'https',
        status: ServerStatus.SERVER_STATUS_AUTH_FAILED, statusReason: '401 authentication failure', remedy: 'check PVE_TOKEN', reachable: true, authenticated: false, usable: false,
        latencyMs: 1, lastSeenMs: 0, statusSinceMs: Date.now(), version: '', tools: [], capabilities: [], demo: false, methods: [], reporter: 'fake-2' };
      await new StatePublisher(adapterBus, 'proxmox', 'broken').put('server', 'pve-broken', server);
      const beat = () => {
        const { data, headers } = encodeBus('molten.v1.Heartbeat', {
          domain: 'proxmox', instance: 'fake-2', version: 't', startedAtMs: Date.now(), atMs: Date.now(), intervalMs: 200,
          upstreams: [{ serverId: 'pve-broken', scope: 'broken', status: ServerStatus.SERVER_STATUS_AUTH_FAILED, lastOkMs: 0, pollMs: 200, latencyMs: 1, leader: true, capabilities: [], privileges: [] }],
        });
        adapterBus.nc.publish(subjects.heartbeat('proxmox', 'fake-2'), data, { headers });
      };
      const timer = setInterval(beat, 100);
      try {
        // Until the fake adapter's first heartbeat arrives the scope reads "no adapter" (also
        // unavailable): wait for the upstream's own state, the one this test is about.
        await waitFor(() => {
          const why = fx.api.plane.liveness.unavailable('proxmox', 'broken');
          return why && why.reason !== 'no_adapter' && fx.api.reads.servers({ tools: false }).some((s) => s.id === 'pve-broken');
        }, { message: 'the api sees the upstream down' });
        const err = await callError(client.submitCommand, client, { cluster: 'broken', idempotencyKey: '', reason: '', payload: { $case: 'power', value: { vmid: 101, action: 'stop', node: '', type: '' } } });
        expect(err.code).toBe(status.UNAVAILABLE);
        expect(err.metadata.get('molten-remedy')).toEqual(['check PVE_TOKEN']);
      } finally {
        clearInterval(timer);
      }
    });

    it('ends a watch at its deadline (DEADLINE_EXCEEDED) and forgets it on the server', async () => {
      const w = watch(client, {}, VIEWER, { deadline: Date.now() + 400 });
      await waitFor(() => fx.api.metrics && w.headers(), { message: 'watch started' });
      const end = await w.ended;
      expect(end.code).toBe(status.DEADLINE_EXCEEDED);
      await waitFor(async () => (await fx.json('/api/health')).status === 200 && (await metricValue('molten_grpc_watchers')) === 0, { message: 'no watch left on the server' });
    });
  });

  describe('resuming a watch', () => {
    it('replays from from_seq what it missed, then goes live, with no gap and no duplicate at the seam', async () => {
      // A reference watcher sees everything from now on.
      const ref = watch(client, {});
      await waitFor(() => ref.headers(), { message: 'reference watch open' });
      for (let i = 0; i < 20; i++) await publisher.put('qemu', '101', guest(101, { cpu: i / 100 }));
      await waitFor(() => ref.events.length >= 20, { message: 'reference saw the first batch' });
      const resumeFrom = ref.events[9]!.seq;

      // Events keep coming while the resumed watch replays and switches to live.
      let publishing = true;
      const writer = (async () => {
        for (let i = 0; publishing && i < 400; i++) await publisher.put(i % 2 ? 'qemu' : 'lxc', i % 2 ? '101' : '200', guest(i % 2 ? 101 : 200, { cpu: i / 1000, type: i % 2 ? 'qemu' : 'lxc' }));
      })();
      await new Promise((r) => setTimeout(r, 30));
      const resumed = watch(client, { fromSeq: resumeFrom });
      const filtered = watch(client, { fromSeq: resumeFrom, subjectFilter: 'molten.state.proxmox.homelab.lxc.>' });
      await writer;
      publishing = false;
      const last = ref.events.at(-1)!.seq;
      await waitFor(() => ref.events.at(-1)!.seq === last && resumed.events.at(-1)?.seq === last, { message: 'resumed watch caught up with the reference' });
      const expected = ref.events.filter((e) => e.seq > resumeFrom).map((e) => e.seq);
      expect(resumed.events.map((e) => e.seq)).toEqual(expected);
      const lxc = ref.events.filter((e) => e.seq > resumeFrom && e.subject.startsWith('molten.state.proxmox.homelab.lxc.')).map((e) => e.seq);
      await waitFor(() => filtered.events.at(-1)?.seq === lxc.at(-1), { message: 'filtered watch caught up' });
      expect(filtered.events.map((e) => e.seq)).toEqual(lxc);
      for (const w of [ref, resumed, filtered]) w.cancel();
    });

    it('refuses a from_seq the stream no longer holds, or past its end, with OUT_OF_RANGE', async () => {
      const future = watch(client, { fromSeq: 10_000_000 });
      const f = await future.ended;
      expect(f.code).toBe(status.OUT_OF_RANGE);
      expect(f.details).toMatch(/past the end/);
      const info = await adapterBus.jsm.streams.info(STREAMS.events);
      // Events age out of the stream (24 h / 512 MiB); purging the oldest does the same here.
      await adapterBus.jsm.streams.purge(STREAMS.events, { seq: info.state.last_seq - 5 });
      const old = watch(client, { fromSeq: 2 });
      const o = await old.ended;
      expect(o.code).toBe(status.OUT_OF_RANGE);
      expect(o.details).toMatch(/older than the events stream holds/);
      expect(Number(o.metadata.get('molten-first-seq')[0])).toBe(info.state.last_seq - 5);
    });
  });

  describe('server reflection', () => {
    it('lists ControlPlaneService and serves its file descriptors, as grpcurl needs', async () => {
      const require = createRequire(import.meta.url);
      const reflectionProto = path.join(path.dirname(require.resolve('@grpc/reflection')), '../proto/grpc/reflection/v1/reflection.proto');
      const pkg = loadPackageDefinition(loadSync(reflectionProto, { keepCase: true, oneofs: true })) as any;
      const rc = new pkg.grpc.reflection.v1.ServerReflection(fx.api.grpcUrl, credentials.createInsecure());
      const ask = (req: object) =>
        new Promise<any>((resolve, reject) => {
          const s = rc.ServerReflectionInfo();
          s.on('data', (d: unknown) => {
            resolve(d);
            s.end();
          });
          s.on('error', reject);
          s.write(req);
        });
      const list = await ask({ list_services: '' });
      expect(list.list_services_response.service.map((s: { name: string }) => s.name)).toContain('molten.v1.ControlPlaneService');
      const files = await ask({ file_containing_symbol: 'molten.v1.ControlPlaneService' });
      expect(files.file_descriptor_response.file_descriptor_proto.length).toBeGreaterThan(0);
      rc.close();
    });
  });

  describe('rate limits', () => {
    it('answers RESOURCE_EXHAUSTED with retry-after once a token spent its budget, shared with REST', async () => {
      const limited = await apiFixture({ MOLTEN_RATE_LIMIT: '1', MOLTEN_RATE_BURST: '2' }, fx.nats);
      const c2 = new ControlPlaneServiceClient(limited.api.grpcUrl, credentials.createInsecure());
      try {
        await waitFor(() => limited.api.plane.state.guests('homelab').length >= 3, { message: 'guests visible' });
        const rest = await limited.json('/api/vms/102/shutdown', { method: 'POST' });
        expect(rest.status).toBe(202);
        await call(c2.submitCommand, c2, { cluster: '', idempotencyKey: '', reason: '', payload: { $case: 'power', value: { vmid: 101, action: 'reboot', node: '', type: '' } } });
        const err = await callError(c2.submitCommand, c2, { cluster: '', idempotencyKey: '', reason: '', payload: { $case: 'power', value: { vmid: 200, action: 'reboot', node: '', type: '' } } });
        expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
        expect(Number(err.metadata.get('retry-after')[0])).toBeGreaterThan(0);
      } finally {
        c2.close();
        await limited.dispose();
      }
    });
  });

  describe('shutdown', () => {
    it('ends open watches with UNAVAILABLE and where to resume when the api stops', async () => {
      const second = await apiFixture({}, fx.nats);
      const c2 = new ControlPlaneServiceClient(second.api.grpcUrl, credentials.createInsecure());
      const w = watch(c2, {});
      await waitFor(() => w.headers(), { message: 'watch open' });
      await publisher.put('qemu', '101', guest(101, { cpu: 0.5 }));
      await waitFor(() => w.events.length > 0, { message: 'an event arrived' });
      await second.dispose();
      const end = await w.ended;
      expect(end.code).toBe(status.UNAVAILABLE);
      expect(end.details).toMatch(/shutting down; resume with from_seq=\d+/);
      expect(Number(end.metadata.get('molten-resume-from-seq')[0])).toBe(w.events.at(-1)!.seq);
      c2.close();
    });
  });

  async function metricValue(name: string): Promise<number | undefined> {
    const res = await fx.call('/metrics');
    const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : undefined;
  }
});
