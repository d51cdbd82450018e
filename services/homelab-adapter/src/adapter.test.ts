import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandStore, connectBus, encodeBus, newCommandId, submitCommand, type Bus } from '@molten/bus';
import {
  CommandStatus,
  HEADERS,
  ServerStatus,
  commandStatusName,
  decodeMessage,
  subjects,
  type Command,
  type CommandRecord,
  type Heartbeat,
  type UpstreamServer,
} from '@molten/contracts';
import { startHomelabMcpSimulator, type HomelabMcpSimulator } from '@molten/simulators/homelab-mcp';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';
import { listToolsDirectly, startEverything } from '@molten/testkit';
import { startHomelabAdapter, type HomelabAdapter } from './adapter.js';
import { loadConfig } from './config.js';

const TOKEN = 'homelab-sim-token-4711';
const actor = { kind: 'user', name: 'tester', role: 'operator' };

describe('homelab-adapter with a real nats-server, the homelab simulator and server-everything', () => {
  let nats: NatsServer;
  let sim: HomelabMcpSimulator;
  let locked: HomelabMcpSimulator;
  let everything: Awaited<ReturnType<typeof startEverything>>;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let adapter: HomelabAdapter;
  let bus: Bus;
  let store: CommandStore;
  const heartbeats: Heartbeat[] = [];

  beforeAll(async () => {
    [nats, sim, locked, everything] = await Promise.all([
      NatsServer.start(),
      startHomelabMcpSimulator({ token: TOKEN }),
      startHomelabMcpSimulator({ token: 'the-right-token-0000' }),
      startEverything('streamableHttp'),
    ]);
    dir = mkdtempSync(path.join(os.tmpdir(), 'molten-homelab-'));
    const configFile = path.join(dir, 'molten.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        mcpServers: {
          everything: { url: everything.url },
          locked: { url: locked.url, headers: { Authorization: 'Bearer a-wrong-token-1234' } },
        },
        mcpServerOptions: { locked: { pingMs: 500 } },
      }),
    );
    env = {
      NATS_URL: nats.url,
      HOMELAB_MCP_URL: sim.url,
      HOMELAB_MCP_TOKEN: TOKEN,
      MOLTEN_CONFIG: configFile,
      MCP_PING_MS: '300',
      MOLTEN_HEARTBEAT_MS: '300',
      MOLTEN_LEASE_TTL_MS: '1500',
      // Far away: a state change must reach the bus by itself, not with a periodic refresh.
      MCP_STATE_REFRESH_MS: '600000',
      MCP_TOOLS_REFRESH_MS: '600000',
      MCP_TOOLS_GRACE_MS: '60000',
      MOLTEN_INSTANCE: 'homelab-a',
    };
    adapter = await startHomelabAdapter(loadConfig(env), testLogger('homelab-adapter'), { reconnect: { initialMs: 100, maxMs: 500 }, reconcileEveryMs: 300 });
    bus = await connectBus({ servers: nats.url, name: 'test', log: testLogger('bus') });
    store = new CommandStore(bus, 'api');
    const sub = bus.nc.subscribe('molten.adapter.mcp.*.heartbeat');
    void (async () => {
      for await (const m of sub) heartbeats.push(decodeMessage('molten.v1.Heartbeat', m.data));
    })();
  });

  afterAll(async () => {
    await adapter?.stop();
    await bus?.close();
    await Promise.all([sim?.close(), locked?.close(), everything?.stop()]);
    await nats?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  async function server(name: string): Promise<UpstreamServer | undefined> {
    const e = await bus.kv.state.get(subjects.stateKey({ domain: 'mcp', scope: name, kind: 'server', id: `mcp-${name}` }));
    return e && e.operation === 'PUT' && e.length > 0 ? decodeMessage('molten.v1.UpstreamServer', e.value) : undefined;
  }
  const serverWhen = (name: string, ok: (s: UpstreamServer) => boolean, message: string, timeoutMs = 10_000) =>
    waitFor(async () => {
      const s = await server(name);
      return s && ok(s) ? s : undefined;
    }, { timeoutMs, message });

  const callTool = (scope: string, tool: string, args: unknown, timeoutMs = 15_000) =>
    submitCommand(bus, store, {
      domain: 'mcp',
      scope,
      action: 'tool-call',
      payload: { $case: 'toolCall', value: { serverId: `mcp-${scope}`, tool, argumentsJson: JSON.stringify(args) } },
      actor,
      acceptTimeoutMs: 10_000,
      timeoutMs,
    });
  const finished = (id: string, timeoutMs = 20_000) =>
    waitFor(async () => {
      const r = (await store.get(id))?.record;
      return r && ['succeeded', 'failed', 'timed_out', 'uncertain'].includes(commandStatusName(r.status)) ? r : undefined;
    }, { timeoutMs, message: `command ${id} finished` });
  const run = async (scope: string, tool: string, args: unknown, timeoutMs?: number): Promise<CommandRecord> => {
    const { record } = await callTool(scope, tool, args, timeoutMs);
    return finished(record.command!.id);
  };

  it('publishes every server with its health and exactly the tools a plain SDK client lists', async () => {
    const homelab = await serverWhen('homelab', (s) => s.status === ServerStatus.SERVER_STATUS_CONNECTED && s.tools.length > 0, 'homelab connected');
    const direct = await listToolsDirectly(sim.url, { token: TOKEN });
    expect(homelab.tools.map((t) => t.name)).toEqual(direct.map((t) => t.name));
    expect(homelab.tools.map((t) => JSON.parse(t.inputSchemaJson))).toEqual(direct.map((t) => t.inputSchema));
    expect(homelab.tools.find((t) => t.name === 'list_containers')).toMatchObject({ title: 'List containers', description: expect.stringContaining('docker ps') });
    expect(homelab).toMatchObject({
      id: 'mcp-homelab',
      name: 'homelab',
      kind: 'mcp',
      domain: 'mcp',
      scope: 'homelab',
      endpoint: sim.url,
      transport: 'streamable-http',
      reachable: true,
      authenticated: true,
      usable: true,
      version: 'homelab-mcp/0.9.2',
      capabilities: [{ action: 'tool-call', available: true }],
      demo: false,
      reporter: 'homelab-a',
    });
    expect(homelab.lastSeenMs).toBeGreaterThan(0);
    expect(homelab.statusSinceMs).toBeGreaterThan(0);
    expect(JSON.stringify(homelab)).not.toContain(TOKEN);

    const ev = await serverWhen('everything', (s) => s.status === ServerStatus.SERVER_STATUS_CONNECTED && s.tools.length > 0, 'everything connected');
    const evDirect = await listToolsDirectly(everything.url);
    expect(ev.tools.map((t) => t.name)).toEqual(evDirect.map((t) => t.name));
    expect(ev.tools.map((t) => JSON.parse(t.inputSchemaJson))).toEqual(evDirect.map((t) => t.inputSchema));
    expect(ev.version).toMatch(/^mcp-servers\/everything\//);

    const beat = await waitFor(() => heartbeats.findLast((h) => h.instance === 'homelab-a' && h.upstreams.every((u) => u.leader)));
    expect(beat.upstreams.map((u) => u.serverId).sort()).toEqual(['mcp-everything', 'mcp-homelab', 'mcp-locked']);
    expect(beat.upstreams.find((u) => u.serverId === 'mcp-homelab')).toMatchObject({ scope: 'homelab', status: ServerStatus.SERVER_STATUS_CONNECTED, pollMs: 300 });
    expect(beat.upstreams.find((u) => u.serverId === 'mcp-locked')).toMatchObject({ scope: 'locked', pollMs: 500 });
  });

  it("runs echo as a tool-call command and returns the server's answer as the result", async () => {
    const r = await run('everything', 'echo', { message: 'hi from molten' });
    expect(commandStatusName(r.status)).toBe('succeeded');
    expect(JSON.parse(r.resultJson)).toEqual({ content: [{ type: 'text', text: 'Echo: hi from molten' }], isError: false });
    expect(r.transitions.map((t) => commandStatusName(t.status))).toEqual(['requested', 'accepted', 'running', 'succeeded']);
    expect(r.upstreamCallAtMs).toBeGreaterThan(0);
  });

  it('refuses invalid arguments with the field errors, without calling the server', async () => {
    const r = await run('homelab', 'start_container', { containr: 'grafana' });
    expect(commandStatusName(r.status)).toBe('failed');
    expect(r.error).toMatchObject({ code: 'invalid', fields: { container: 'is required', containr: 'is not an argument of this tool' } });
    expect(r.upstreamCallAtMs).toBe(0);
    expect(sim.counters.toolCalls.start_container).toBeUndefined();
  });

  it('acts on the homelab: a stop succeeds with structured content, an isError result fails as tool_error', async () => {
    const stop = await run('homelab', 'stop_container', { container: 'grafana' });
    expect(commandStatusName(stop.status)).toBe('succeeded');
    const result = JSON.parse(stop.resultJson);
    expect(result).toMatchObject({ isError: false, structuredContent: { changed: true, container: { name: 'grafana', state: 'exited' } } });
    expect(sim.model.get('grafana').state).toBe('exited');

    const bad = await run('homelab', 'start_container', { container: 'nope' });
    expect(commandStatusName(bad.status)).toBe('failed');
    expect(bad.error).toMatchObject({ code: 'tool_error', message: 'Error response from daemon: No such container: nope' });
    expect(JSON.parse(bad.resultJson)).toEqual({ content: [{ type: 'text', text: 'Error response from daemon: No such container: nope' }], isError: true });

    const unknown = await run('homelab', 'format_disk', {});
    expect(unknown.error).toMatchObject({ code: 'not_found' });
    expect(unknown.error!.message).toContain('it offers: list_containers');
  });

  it('announces a tool added at run time on the bus without waiting for a refresh', async () => {
    sim.addTool('prune_images', { description: 'Removes unused images', handler: () => 'Deleted 3 images' });
    const s = await serverWhen('homelab', (x) => x.tools.some((t) => t.name === 'prune_images'), 'prune_images on the bus');
    expect(s.tools.at(-1)).toMatchObject({ name: 'prune_images', description: 'Removes unused images' });
    const r = await run('homelab', 'prune_images', {});
    expect(JSON.parse(r.resultJson).content).toEqual([{ type: 'text', text: 'Deleted 3 images' }]);
  });

  it('ends a call that outlives its deadline as timed_out', async () => {
    sim.addTool('slow_backup', { description: 'Backs up, slowly', handler: () => new Promise((r) => setTimeout(() => r('done'), 6_000)) });
    await serverWhen('homelab', (x) => x.tools.some((t) => t.name === 'slow_backup'), 'slow_backup listed');
    const r = await run('homelab', 'slow_backup', {}, 2_000);
    expect(commandStatusName(r.status)).toBe('timed_out');
    expect(r.error).toMatchObject({ code: 'deadline' });
    expect(r.error!.message).toContain('may still have run');
  });

  it('accepts calls at once while every request slot to the server is taken (they wait accepted, never unaccepted), and runs each once', async () => {
    let calls = 0;
    sim.addTool('slow_scan', { description: 'Scans, slowly', handler: () => (calls++, new Promise((r) => setTimeout(() => r('scanned'), 3_000))) });
    await serverWhen('homelab', (x) => x.tools.some((t) => t.name === 'slow_scan'), 'slow_scan listed');
    // Two more than the 8 requests the adapter sends a server at once (MCP_MAX_CONCURRENCY).
    const ids = await Promise.all(Array.from({ length: 10 }, async () => (await callTool('homelab', 'slow_scan', {}, 20_000)).record.command!.id));
    // While the first eight run, the last two wait for a slot: accepted, not left requested (where
    // the api times out commands no adapter took).
    await waitFor(async () => (await Promise.all(ids.map(async (id) => (await store.get(id))!.record.status))).every((st) => st !== CommandStatus.COMMAND_STATUS_REQUESTED), {
      timeoutMs: 2_500,
      message: 'all ten accepted while the first eight run',
    });
    const done = await Promise.all(ids.map((id) => finished(id)));
    expect(done.map((r) => commandStatusName(r.status))).toEqual(Array(10).fill('succeeded'));
    expect(done.map((r) => r.transitions.map((t) => commandStatusName(t.status)))).toEqual(Array(10).fill(['requested', 'accepted', 'running', 'succeeded']));
    expect(calls).toBe(10);
  });

  it('reports a wrong token as auth_failed (reachable, not authenticated), never down', async () => {
    const s = await serverWhen('locked', (x) => x.status === ServerStatus.SERVER_STATUS_AUTH_FAILED, 'locked is auth_failed');
    expect(s).toMatchObject({ reachable: true, authenticated: false, usable: false, tools: [] });
    expect(s.statusReason).toContain('refused the credentials (HTTP 401');
    expect(s.remedy).toContain('mcpServers.locked.headers');
    expect(s.statusReason + s.remedy).not.toContain('a-wrong-token-1234');
    await new Promise((r) => setTimeout(r, 1_000)); // several reconnect attempts later
    expect((await server('locked'))!.status).toBe(ServerStatus.SERVER_STATUS_AUTH_FAILED);
    const r = await run('locked', 'list_containers', {}, 3_000);
    expect(r.error).toMatchObject({ code: 'auth' });
    expect(locked.counters.toolCalls).toEqual({});
  });

  it('resumes a call whose replica died: a read-only tool is called again, any other ends uncertain, never re-sent', async () => {
    // What a crashed replica leaves behind: accepted, the upstream call recorded, the message redelivered.
    const crashed = async (tool: string, args: object) => {
      const now = Date.now();
      const command: Command = {
        id: newCommandId(),
        correlationId: '',
        actor,
        domain: 'mcp',
        scope: 'homelab',
        action: 'tool-call',
        createdAtMs: now,
        acceptByMs: now + 10_000,
        deadlineMs: now + 15_000,
        idempotencyKey: '', reason: '',
        payload: { $case: 'toolCall', value: { serverId: 'mcp-homelab', tool, argumentsJson: JSON.stringify(args) } },
      };
      await store.create(command);
      await store.transition(command.id, CommandStatus.COMMAND_STATUS_ACCEPTED, { message: 'accepted by a replica that then died' });
      await store.markUpstreamCall(command.id);
      const { data, headers } = encodeBus('molten.v1.Command', command, { [HEADERS.deadline]: String(command.deadlineMs) });
      await bus.js.publish(subjects.command('mcp', 'homelab', 'tool-call'), data, { headers, msgID: command.id });
      return command.id;
    };
    const restarts = sim.counters.toolCalls.restart_container ?? 0;
    const lists = sim.counters.toolCalls.list_containers ?? 0;

    const restart = await finished(await crashed('restart_container', { container: 'jellyfin' }));
    expect(commandStatusName(restart.status)).toBe('uncertain');
    expect(restart.error).toMatchObject({ code: 'connection_lost' });
    expect(restart.transitions.at(-1)!.message).toContain('not marked read-only or idempotent');
    expect(sim.counters.toolCalls.restart_container ?? 0).toBe(restarts);

    const list = await finished(await crashed('list_containers', { name: 'jellyfin' }));
    expect(commandStatusName(list.status)).toBe('succeeded');
    expect(JSON.parse(list.resultJson).structuredContent.count).toBe(1);
    expect(sim.counters.toolCalls.list_containers).toBe(lists + 1);
  });

  it('shares the commands with a second replica: each runs once, and one replica publishes', async () => {
    const second = await startHomelabAdapter(loadConfig({ ...env, MOLTEN_INSTANCE: 'homelab-b' }), testLogger('homelab-b'), { reconnect: { initialMs: 100, maxMs: 500 } });
    try {
      await waitFor(() => second.servers.every((s) => s.conn.health.status !== 'connecting'));
      const before = sim.counters.toolCalls.container_logs ?? 0;
      const records = await Promise.all(Array.from({ length: 6 }, (_, i) => run('homelab', 'container_logs', { container: 'traefik', tail: i + 1 })));
      expect(records.map((r) => commandStatusName(r.status))).toEqual(Array(6).fill('succeeded'));
      expect(sim.counters.toolCalls.container_logs).toBe(before + 6);
      expect(records.every((r) => r.transitions.filter((t) => commandStatusName(t.status) === 'accepted').length === 1)).toBe(true);
      expect(second.servers.every((s) => !s.publisher.leader)).toBe(true);
    } finally {
      await second.stop();
    }
  });

  it('shows the server down within 10 s when it stops, and its tools again when it is back', async () => {
    await sim.stop();
    const down = await serverWhen('homelab', (x) => x.status === ServerStatus.SERVER_STATUS_DOWN, 'homelab down', 10_000);
    expect(down).toMatchObject({ reachable: false, usable: false });
    expect(down.remedy).toContain('HOMELAB_MCP_URL');
    await sim.start();
    const back = await serverWhen('homelab', (x) => x.status === ServerStatus.SERVER_STATUS_CONNECTED && x.usable, 'homelab back');
    expect(back.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['list_containers', 'network_scan', 'prune_images']));
  });

  it('keeps the last known tools listed, stale, when it restarts while a server is down', async () => {
    const before = await serverWhen('homelab', (x) => x.status === ServerStatus.SERVER_STATUS_CONNECTED && x.tools.length > 0, 'homelab connected');
    await adapter.stop();
    await sim.stop();
    adapter = await startHomelabAdapter(loadConfig(env), testLogger('homelab-adapter'), { reconnect: { initialMs: 100, maxMs: 500 }, reconcileEveryMs: 300 });
    try {
      const down = await serverWhen('homelab', (x) => x.status === ServerStatus.SERVER_STATUS_DOWN && x.reporter === 'homelab-a', 'homelab down after the restart', 15_000);
      expect(down.tools.map((t) => t.name)).toEqual(before.tools.map((t) => t.name));
      expect(down.toolsStale).toBe(true);
    } finally {
      await sim.start();
    }
  });
});
