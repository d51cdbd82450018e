/**
 * The command path's figures (issue 15), measured on the running stack:
 *
 *   command overhead   client POST → `succeeded` on SSE, instant tasks, open loop at 10 and at
 *                      100 commands/s; each run repeated, with its per-stage trace
 *   CPU per command    the api's and the proxmox-adapter's CPU time per command (their /proc
 *                      counters, the ones process.cpuUsage reads), minus what they use idle: the
 *                      api's idle rate over the same time, the adapter's CPU per poll times the
 *                      polls it made (it polls faster while a command is in flight; with them
 *                      counted too in brackets)
 *   tool-call overhead an MCP tool call through the bus (REST 202 → `succeeded` on SSE) and
 *                      through Molten's own MCP endpoint (POST /mcp → the result), minus the
 *                      MCP server's own round trip: a read-only tool (list_containers) both ways,
 *                      and one that may change things (start_container) through REST; each with
 *                      its per-stage trace
 *
 * bench/run.ts calls benchCommandPath() on its stack (its env includes COMMAND_PATH_ENV);
 * `node --import tsx bench/command-path.ts` runs it alone on a stack of its own
 * (BENCH_NODES × BENCH_GUESTS_PER_NODE guests, default 50 × 100; BENCH_RUNS, default 3; BENCH_RATES,
 * default "10,100"; BENCH_RATES= runs no power actions, not even their warm-up; BENCH_TOOL_CALLS=0
 * leaves the tool calls out; BENCH_PROFILE=<dir> writes CPU profiles of the services, see
 * processes.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Pool } from 'undici';
import { connectBus } from '@molten/bus';
import { createLogger, isMain } from '@molten/kit';
import { McpConnection } from '@molten/mcp-client';
import { DEMO_TOKEN, type GuestView } from '@molten/simulators/pve';
import { NatsServer, freePort, waitFor } from '@molten/testkit';
import { buildServices } from '@molten/launcher/build-services';
import { measureFloors, withFloor, type Floors } from './floor.js';
import { ROOT, cpuMs, runService, type Service } from './processes.js';
import { busCounts } from './bus-messages.js';
import { startMcpSimProcess, startSimProcess } from './sim-handle.js';
import { EventWaiters, openSse } from './sse-client.js';
import { traceStages } from './stage-trace.js';
import { ms, summary } from './stats.js';

const AGENT_TOKEN = 'bench-agent-token-0123456789abcdef0123';

/**
 * What these figures need beyond run.ts's env: an agent token for the MCP endpoint, and no
 * MCP request budget in the homelab-adapter (its default, 600 a minute, holds back a bench's
 * tool calls for seconds: a limit, not overhead).
 */
export const COMMAND_PATH_ENV = { MOLTEN_AGENT_TOKEN: AGENT_TOKEN, MCP_RATE_LIMIT_RPM: '1000000' };

type Sim = Awaited<ReturnType<typeof startSimProcess>>;
type McpSim = Awaited<ReturnType<typeof startMcpSimProcess>>;

export interface CommandPathContext {
  natsUrl: string;
  /** nats-server's HTTP monitoring, when it has one: the bus messages per command are printed too. */
  natsMonitorUrl?: string;
  /** The api, http://host:port. */
  base: string;
  token: string;
  sim: Sim;
  /** The homelab MCP server the homelab-adapter serves as `mcp-homelab`. */
  mcp: McpSim;
  /** The homelab-adapter's too: its CPU per tool call is printed. */
  pids: { api: number; adapter: number; homelab: number };
  pollMs: number;
  floorMs: number;
  /** The floor of one round trip from idle (see floor.ts): what each hop of a command at 10/s starts from. */
  idleFloor?: Floors['idle'];
  report(line: string): void;
  quick?: boolean;
  /** Runs of each figure (default BENCH_RUNS or 3). */
  runs?: number;
}

const log = createLogger('bench', { level: 'warn' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "p50 a–b, p99 c–d": the spread of a figure over runs. */
function spread(runs: { p50: number; p99: number }[], fl: (v: number) => string): string {
  const lo = (k: 'p50' | 'p99') => Math.min(...runs.map((r) => r[k]));
  const hi = (k: 'p50' | 'p99') => Math.max(...runs.map((r) => r[k]));
  return `p50 ${fl(lo('p50'))} – ${fl(hi('p50'))}, p99 ${fl(lo('p99'))} – ${fl(hi('p99'))}`;
}

export async function benchCommandPath(ctx: CommandPathContext): Promise<void> {
  const { base, token, sim, report, pollMs } = ctx;
  const runs = ctx.runs ?? Number(process.env.BENCH_RUNS ?? 3);
  const fl = (v: number) => withFloor(v, ctx.floorMs);
  const call = (p: string, init: RequestInit = {}) => fetch(`${base}${p}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
  // The timed requests go through undici's plain request on a keep-alive pool, as curl would:
  // fetch() costs the client a millisecond or more per request on this machine, which is not Molten's.
  const pool = new Pool(base, { connections: 256, pipelining: 1 });
  const post = async (p: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await pool.request({ path: p, method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.statusCode, text: () => res.body.text(), json: () => res.body.json() };
  };
  const bus = await connectBus({ servers: ctx.natsUrl, name: 'bench-command-path', log });
  const trace = traceStages(bus);
  // A command can end before its 202 is read: EventWaiters keeps its end a while.
  const events = new EventWaiters();
  const sse = await openSse(`${base}/api/events`, token, (e) => {
    if (e.event !== 'command') return;
    const m = /"id":"([0-9A-Z]{26})".*?"status":"(\w+)"/.exec(e.data);
    if (!m || (m[2] !== 'succeeded' && m[2] !== 'failed')) return;
    events.arrived(`${m[1]}:${m[2]}`, e.at);
  });
  const waitEvent = (key: string, timeoutMs?: number) => events.wait(key, timeoutMs);

  try {
    report(`command path (bench/command-path.ts), ${runs} runs of each figure; the machine is shared, so each figure is a spread over runs:`);
    // Guests each run acts on, each once per run; their status is tracked here (no simulator round trip per command).
    const status = new Map<number, string>();
    const eligible = (await sim.guests()).filter((g: GuestView) => !g.lock && !g.template && !g.hastate && g.qmpstatus !== 'paused');
    for (const g of eligible) status.set(g.vmid, g.status);
    // A guest is taken again only once its last command has ended (a second would be a 409).
    const free = [...eligible];
    const take = () => free.shift();
    const release = (g: GuestView) => free.push(g);

    const cpu = () => ({ api: cpuMs(ctx.pids.api), adapter: cpuMs(ctx.pids.adapter) });
    const polls = async () => (await sim.requestCounts()).resources;
    const noBus = { api: { sent: 0, received: 0 }, adapter: { sent: 0, received: 0 } };
    const messages = async () => (ctx.natsMonitorUrl ? busCounts(ctx.natsMonitorUrl, { api: 'molten-api', adapter: 'proxmox-adapter' }) : noBus);
    /**
     * What the api and adapter use idle, over whole poll periods: the api per ms, the adapter per
     * poll (its idle work is the poll, and the poll runs faster while commands are in flight).
     */
    const idleRate = async () => {
      const window = Math.max(4_000, 2 * pollMs);
      const [a, p0, m0] = [cpu(), await polls(), await messages()];
      const t0 = performance.now();
      await sleep(window);
      const [b, p1, m1] = [cpu(), await polls(), await messages()];
      const dt = performance.now() - t0;
      const perPoll = (x: number) => x / Math.max(1, p1 - p0);
      return {
        api: (b.api - a.api) / dt,
        adapter: (b.adapter - a.adapter) / dt,
        adapterPerPoll: perPoll(b.adapter - a.adapter),
        // Bus messages idle: the api's per ms, the adapter's per poll (as its CPU).
        bus: {
          api: { sent: (m1.api.sent - m0.api.sent) / dt, received: (m1.api.received - m0.api.received) / dt },
          adapter: { sent: perPoll(m1.adapter.sent - m0.adapter.sent), received: perPoll(m1.adapter.received - m0.adapter.received) },
        },
      };
    };

    /** `count` commands sent open loop at `rate`/s; resolves with each one's client → SSE time. */
    const commandRun = async (rate: number, count: number) => {
      const idle = await idleRate();
      const times: number[] = [];
      const ids: string[] = [];
      const failures: string[] = [];
      // One read of the simulator's counts gives the polls (`resources`) and every other request.
      const [before, requestsBefore, busBefore] = [cpu(), await sim.requestCounts(), await messages()];
      const pollsBefore = requestsBefore.resources;
      const started = performance.now();
      const all: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        const at = started + (i * 1000) / rate;
        all.push(
          (async () => {
            await sleep(Math.max(0, at - performance.now()));
            const g = take();
            if (!g) {
              failures.push('no guest free (every one has a command in flight)');
              return;
            }
            try {
              await one(g);
            } finally {
              release(g);
            }
          })(),
        );
      }
      async function one(g: GuestView) {
        const action = status.get(g.vmid) === 'running' ? 'stop' : 'start';
        const t0 = performance.now();
        const res = await post(`/api/vms/${g.vmid}/${action}`, {}).catch((err: Error) => err);
        if (res instanceof Error) {
          failures.push(`POST: ${res.message} ${String((res.cause as Error | undefined)?.message ?? '')}`);
          return;
        }
        if (res.status !== 202) {
          failures.push(`${res.status} ${(await res.text()).slice(0, 200)}`);
          return;
        }
        const { data } = (await res.json()) as { data: { id: string } };
        trace.mark(data.id, 'client.sent', t0);
        ids.push(data.id);
        const seen = await waitEvent(`${data.id}:succeeded`).catch(() => NaN);
        if (Number.isNaN(seen)) {
          failures.push(`${data.id} did not succeed`);
          return;
        }
        trace.mark(data.id, 'sse.succeeded', seen);
        status.set(g.vmid, action === 'stop' ? 'stopped' : 'running');
        times.push(seen - t0);
      }
      await Promise.all(all);
      const elapsed = performance.now() - started;
      const [after, requestsAfter, busAfter] = [cpu(), await sim.requestCounts(), await messages()];
      const pollsAfter = requestsAfter.resources;
      // Proxmox requests per command other than the polls (a POST, its task's status reads, the
      // guest's re-read: 3 when the first status read finds the task ended).
      const requests = (requestsAfter.total - requestsBefore.total - (pollsAfter - pollsBefore)) / count;
      const per = (k: 'api' | 'adapter') => (after[k] - before[k] - idle[k] * elapsed) / count;
      const adapter = (after.adapter - before.adapter - idle.adapterPerPoll * (pollsAfter - pollsBefore)) / count;
      const extraPolls = pollsAfter - pollsBefore - elapsed / pollMs;
      // Bus messages per command, minus what the processes send and receive idle (the api per ms, the adapter per poll).
      const msgs = (k: 'api' | 'adapter', d: 'sent' | 'received') =>
        (busAfter[k][d] - busBefore[k][d] - (k === 'api' ? idle.bus.api[d] * elapsed : idle.bus.adapter[d] * (pollsAfter - pollsBefore))) / count;
      const busPerCommand = { api: { sent: msgs('api', 'sent'), received: msgs('api', 'received') }, adapter: { sent: msgs('adapter', 'sent'), received: msgs('adapter', 'received') } };
      return { ...summary(times), ids, failures, cpu: { api: per('api'), adapter, adapterWithPolls: per('adapter') }, extraPolls, bus: busPerCommand, requests };
    };

    // The api's own HTTP floor: a POST it refuses after authentication, without the bus (a vmid
    // that is not a number: 400).
    const refused: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      const res = await post('/api/vms/not-a-vmid/start', {});
      await res.text();
      if (i >= 10) refused.push(performance.now() - t0);
      await sleep(20);
    }
    const h = summary(refused);
    report(`  api HTTP floor: a POST refused without the bus (400, bad vmid) p50 ${fl(h.p50)}, p99 ${fl(h.p99)}`);
    // Warm up first (V8 compiles the hot paths during the first few hundred commands; that CPU
    // is not a command's). BENCH_RATES= (none): no power actions at all, the tool calls warm up
    // on their own (a CPU profile of the api then holds tool calls only).
    const rates = (process.env.BENCH_RATES ?? '10,100').split(',').map(Number).filter(Boolean);
    if (rates.length > 0) {
      const warm = await commandRun(50, ctx.quick ? 100 : 200);
      report(`  warm-up: ${warm.n} commands at 50/s (not counted)`);
    }
    for (const rate of rates) {
      // 8 s of commands (4 s in quick mode) at either rate: whole poll periods.
      const count = rate * (ctx.quick ? 4 : 8);
      const results: Awaited<ReturnType<typeof commandRun>>[] = [];
      for (let r = 0; r < runs; r++) {
        const res = await commandRun(rate, count);
        results.push(res);
        for (const f of res.failures.slice(0, 3)) report(`    not measured: ${f}`);
        report(
          `  ${rate} commands/s, run ${r + 1}: p50 ${fl(res.p50)}, p99 ${fl(res.p99)} (${res.n} of ${count} commands, instant tasks); CPU per command: api ${res.cpu.api.toFixed(2)} ms, proxmox-adapter ${res.cpu.adapter.toFixed(2)} ms (${res.cpu.adapterWithPolls.toFixed(2)} ms with the ${Math.max(0, Math.round(res.extraPolls))} polls more that commands in flight bring); ${res.requests.toFixed(2)} Proxmox requests per command besides the polls`,
        );
      }
      const cpuApi = results.map((x) => x.cpu.api);
      const cpuAdapter = results.map((x) => x.cpu.adapter);
      const target = rate === 10 ? 'target p50 ≤ 5 ms, p99 ≤ 15 ms' : 'target p99 ≤ 20 ms';
      report(`command overhead at ${rate}/s: ${spread(results, fl)} over ${runs} runs (${target})`);
      if (rate === 10 && ctx.idleFloor) {
        const idle = ctx.idleFloor;
        const x = (v: number[]) => `×${Math.min(...v.map((y) => y / idle.p50)).toFixed(0)} – ×${Math.max(...v.map((y) => y / idle.p50)).toFixed(0)}`;
        report(`  as multiples of the idle floor's p50 (${idle.p50.toFixed(2)} ms): p50 ${x(results.map((r) => r.p50))}, p99 ${x(results.map((r) => r.p99))} (the issue's targets are ×17 / ×52 of its busy floor's p50)`);
      }
      report(
        `  CPU per command at ${rate}/s: api ${Math.min(...cpuApi).toFixed(2)} – ${Math.max(...cpuApi).toFixed(2)} ms, proxmox-adapter ${Math.min(...cpuAdapter).toFixed(2)} – ${Math.max(...cpuAdapter).toFixed(2)} ms (target ≤ 1 ms each)`,
      );
      if (ctx.natsMonitorUrl) {
        const b = (k: 'api' | 'adapter', d: 'sent' | 'received') => {
          const v = results.map((x) => x.bus[k][d]);
          return `${Math.min(...v).toFixed(1)} – ${Math.max(...v).toFixed(1)}`;
        };
        report(`  bus messages per command at ${rate}/s (nats-server's counters, idle traffic subtracted): api sends ${b('api', 'sent')}, receives ${b('api', 'received')}; proxmox-adapter sends ${b('adapter', 'sent')}, receives ${b('adapter', 'received')}`);
      }
      report(`  per-stage trace at ${rate}/s, all runs (each stage from the previous mark):`);
      for (const line of trace.report(results.flatMap((x) => x.ids), '    ')) report(line);
    }

    if (process.env.BENCH_TOOL_CALLS !== '0') await toolCalls(ctx, call, post, waitEvent, trace, runs, fl);
  } finally {
    sse.close();
    trace.close();
    await pool.close();
    await bus.close();
  }
}

/** MCP tool calls through the bus (REST) and through Molten's MCP endpoint, minus the server's own time. */
async function toolCalls(
  ctx: CommandPathContext,
  call: (p: string, init?: RequestInit) => Promise<Response>,
  post: (p: string, body: unknown, headers?: Record<string, string>) => Promise<{ status: number; text(): Promise<string>; json(): Promise<unknown> }>,
  waitEvent: (key: string, timeoutMs?: number) => Promise<number>,
  trace: ReturnType<typeof traceStages>,
  runs: number,
  fl: (v: number) => string,
): Promise<void> {
  const { base, mcp, report } = ctx;
  const n = ctx.quick ? 30 : 100;
  await waitFor(async () => ((await (await call('/api/servers/mcp-homelab')).json()) as { data?: { status: string } }).data?.status === 'connected', { timeoutMs: 30_000 });

  // A read-only tool (list_containers) and one that may change things (start_container of a
  // running container: not read-only, so it is sent only once its call is recorded; it changes
  // nothing here, so it can be called again and again).
  const changing = { tool: 'start_container', args: { container: 'grafana' } };
  // The server's own round trip: the same call straight to it, through the MCP client.
  const direct = new McpConnection({ name: 'bench', endpoint: { url: mcp.url }, log });
  direct.start();
  await direct.whenConnected(10_000);
  const ownRoundTrip = async (tool: string, args: Record<string, unknown>) => {
    const own: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      await direct.callTool(tool, args);
      if (i >= 10) own.push(performance.now() - t0);
    }
    const s = summary(own);
    report(`  MCP server's own round trip (${tool}, straight to it): p50 ${ms(s.p50)}, p99 ${ms(s.p99)}; subtracted below`);
    return s.p50;
  };
  const ownP50 = { list_containers: await ownRoundTrip('list_containers', {}), [changing.tool]: await ownRoundTrip(changing.tool, changing.args) };
  await direct.close();

  // An agent's tools/call as JSON-RPC over HTTP, as an MCP client sends it after its handshake
  // (the MCP SDK's client would add its own milliseconds per call, which are not Molten's).
  const agent = new Client({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode: 'legacy' } });
  await agent.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${AGENT_TOKEN}` } } }));
  const protocolVersion = (agent.transport as { protocolVersion?: string } | undefined)?.protocolVersion ?? '2025-11-25';
  let rpcId = 0;
  const mcpCall = async (name: string) => {
    const res = await post('/mcp', { jsonrpc: '2.0', id: ++rpcId, method: 'tools/call', params: { name, arguments: {} } }, { authorization: `Bearer ${AGENT_TOKEN}`, accept: 'application/json, text/event-stream', 'mcp-protocol-version': protocolVersion });
    const text = await res.text();
    const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '');
    const answer = JSON.parse(json || '{}') as { result?: { isError?: boolean; _meta?: Record<string, string> }; error?: unknown };
    if (res.status !== 200 || !answer.result || answer.result.isError) throw new Error(`MCP endpoint answered ${res.status}: ${text.slice(0, 300)}`);
    return answer.result._meta?.['molten/commandId'] ?? '';
  };
  const restCall = async (tool = 'list_containers', args: Record<string, unknown> = {}) => {
    const res = await post(`/api/servers/mcp-homelab/tools/${tool}/call`, { arguments: args });
    if (res.status !== 202) throw new Error(`REST tool call answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    return ((await res.json()) as { data: { id: string } }).data.id;
  };
  try {
    // Warm-up, both ways (not counted): V8 compiles the tool-call paths of every process.
    for (let i = 0; i < (ctx.quick ? 20 : 50); i++) {
      await waitEvent(`${await restCall()}:succeeded`);
      await mcpCall('mcp-homelab__list_containers');
    }
    for (let i = 0; i < (ctx.quick ? 10 : 25); i++) await waitEvent(`${await restCall(changing.tool, changing.args)}:succeeded`);
    const ways = [
      { via: 'REST → bus → homelab-adapter', tool: 'list_containers' },
      { via: "Molten's MCP endpoint → bus → homelab-adapter", tool: 'list_containers' },
      // An agent's call of a tool that may change things waits for an operator: REST (an operator) only.
      { via: `REST → bus → homelab-adapter, ${changing.tool} (not read-only)`, tool: changing.tool },
    ];
    // CPU per call: the api's and the homelab-adapter's /proc counters over a run, minus their
    // idle rate (heartbeats, pings) over the same time.
    const cpu = () => ({ api: cpuMs(ctx.pids.api), homelab: cpuMs(ctx.pids.homelab) });
    const idleWindowMs = 3_000;
    const c0 = cpu();
    await sleep(idleWindowMs);
    const c1 = cpu();
    const idle = { api: (c1.api - c0.api) / idleWindowMs, homelab: (c1.homelab - c0.homelab) / idleWindowMs };
    for (const { via, tool } of ways) {
      const results = [];
      const ids: string[] = [];
      const cpuPerCall: { api: number; homelab: number }[] = [];
      for (let r = 0; r < runs; r++) {
        const times: number[] = [];
        const [before, startedAt] = [cpu(), performance.now()];
        for (let i = 0; i < n + 5; i++) {
          const before = await mcp.toolCalls(tool);
          const t0 = performance.now();
          let end: number;
          let id: string;
          if (via.startsWith('REST')) {
            id = await (tool === changing.tool ? restCall(changing.tool, changing.args) : restCall());
            end = await waitEvent(`${id}:succeeded`);
          } else {
            id = await mcpCall('mcp-homelab__list_containers');
            end = performance.now();
          }
          if ((await mcp.toolCalls(tool)) !== before + 1) throw new Error(`${tool} not called exactly once`);
          if (i >= 5) {
            times.push(end - t0 - ownP50[tool]!);
            trace.mark(id, 'client.sent', t0);
            trace.mark(id, 'sse.succeeded', end);
            ids.push(id);
          }
          await sleep(20);
        }
        const [after, elapsed] = [cpu(), performance.now() - startedAt];
        const per = (k: 'api' | 'homelab') => (after[k] - before[k] - idle[k] * elapsed) / (n + 5);
        cpuPerCall.push({ api: per('api'), homelab: per('homelab') });
        const s = summary(times);
        results.push(s);
        report(`  tool call via ${via}, run ${r + 1}: p50 ${fl(s.p50)}, p99 ${fl(s.p99)} (${s.n} calls); CPU per call: api ${per('api').toFixed(2)} ms, homelab-adapter ${per('homelab').toFixed(2)} ms`);
      }
      report(`tool-call overhead via ${via}: ${spread(results, fl)} over ${runs} runs (target p99 ≤ 10 ms)`);
      const range = (k: 'api' | 'homelab') => `${Math.min(...cpuPerCall.map((c) => c[k])).toFixed(2)} – ${Math.max(...cpuPerCall.map((c) => c[k])).toFixed(2)} ms`;
      report(`  CPU per call (the trace's marks included unless BENCH_TRACE=0): api ${range('api')}, homelab-adapter ${range('homelab')}`);
      report(`  per-stage trace, all runs (the last line is the answer on SSE, or the MCP endpoint's answer):`);
      for (const line of trace.report(ids, '    ')) report(line);
    }
  } finally {
    await agent.close().catch(() => undefined);
  }
}

/** Alone: nats-server, the PVE simulator (own process), the homelab MCP simulator, the three services as processes. */
async function main() {
  const nodes = Number(process.env.BENCH_NODES ?? 50);
  const perNode = Number(process.env.BENCH_GUESTS_PER_NODE ?? 100);
  // The default poll (1 s, a quarter of it while a command is in flight), or PVE_POLL_MS.
  const pollMs = Number(process.env.PVE_POLL_MS ?? 1_000);
  const quick = process.argv.includes('--quick');
  const token = 'bench-operator-token-0123456789abcdef';
  const nats = await NatsServer.start({ monitor: true });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-bench-cmd-'));
  const sim = await startSimProcess({ nodes, guestsPerNode: perNode, seed: 7, loadIntervalMs: 0, taskDurations: { start: 0, stop: 0, shutdown: 0, reboot: 0 } });
  const mcp = await startMcpSimProcess();
  const apiPort = await freePort();
  const env = {
    NATS_URL: nats.url,
    MOLTEN_CLUSTER: 'homelab',
    PVE_URL: sim.url,
    PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`,
    PVE_CA_FILE: sim.caFile ?? '',
    MOLTEN_PORT: String(apiPort),
    MOLTEN_GRPC_PORT: '0',
    MOLTEN_TOKEN: token,
    MOLTEN_DATA_DIR: dataDir,
    MOLTEN_RATE_LIMIT: '1000000',
    MOLTEN_RATE_BURST: '100000',
    MOLTEN_COMMAND_CONCURRENCY: '256',
    HOMELAB_MCP_URL: mcp.url,
    // BENCH_TRACE=0: no stage marks (one publish each), for CPU figures without them.
    MOLTEN_STAGE_TRACE: process.env.BENCH_TRACE === '0' ? '0' : '1',
    ...COMMAND_PATH_ENV,
  };
  const services: Service[] = [];
  const report = (line: string) => process.stdout.write(`${line}\n`);
  try {
    if (process.env.BENCH_NO_BUILD !== '1') await buildServices(ROOT);
    const adapter = runService('proxmox-adapter', 'dist/proxmox-adapter.mjs', env);
    const homelab = runService('homelab-adapter', 'dist/homelab-adapter.mjs', env);
    const api = runService('api', 'dist/api.mjs', env);
    services.push(adapter, homelab, api);
    const base = `http://127.0.0.1:${apiPort}`;
    await waitFor(
      async () => ((await (await fetch(`${base}/api/vms`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data?: unknown[] }).data?.length === nodes * perNode,
      { timeoutMs: 120_000, intervalMs: 500, message: `the api lists all ${nodes * perNode} guests` },
    );
    report(`command path — ${nodes} nodes × ${perNode} guests, poll ${pollMs} ms (adaptive), ${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const bus = await connectBus({ servers: nats.url, name: 'bench-floor', log });
    const floors = await measureFloors(bus, report);
    await bus.close();
    await sleep(2_000);
    await benchCommandPath({ natsUrl: nats.url, natsMonitorUrl: nats.monitorUrl, base, token, sim, mcp, pids: { api: api.child.pid!, adapter: adapter.child.pid!, homelab: homelab.child.pid! }, pollMs, floorMs: floors.busy.p50, idleFloor: floors.idle, report, quick });
  } catch (err) {
    for (const s of services) process.stderr.write(`--- ${s.name} ---\n${s.output().slice(-3000)}\n`);
    throw err;
  } finally {
    for (const s of services.reverse()) await s.stop();
    await mcp.close();
    await sim.close();
    await nats.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
      process.exit(1);
    },
  );
}
