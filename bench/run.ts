/**
 * npm run bench: the figures the issues ask for, measured on real components — a nats-server,
 * the Proxmox VE simulator (in its own process), the proxmox-adapter, homelab-adapter and api as
 * their own processes (as deployed), SSE clients over HTTP — with the default settings (the
 * adaptive 1 s poll), at 5,000 guests (50 nodes × 100) and at 15,000 (150 × 100), then a
 * summary of both. `BENCH_NODES=150` (or `--nodes 150`) runs one size; `--quick` shortens it.
 *
 *   requests per poll  Proxmox requests per poll
 *   poll CPU           the adapter's and the api's CPU per poll while nothing changes (from
 *                      /proc), and the poll alone measured in one process (bench/poll-cpu.ts)
 *   command overhead   api 202 → `succeeded` on SSE, minus the simulated task time, at 100 commands/s
 *   change → SSE       a guest's change in the simulator → its event on SSE
 *   SSE fan-out        delivery latency to 100 clients while 500 guest updates/s flow
 *   RSS                api and adapter resident memory: steady (one SSE client, polls going
 *                      on) and after everything above (100 SSE clients' snapshots included)
 *   tool calls         MCP tool call through the bus: api 202 → result, minus the server's own time
 *   floor              a JetStream publish → consume → ack round trip on loopback (same client):
 *                      every latency is also printed as a multiple (×N) of its p50
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { connectBus } from '@molten/bus';
import { createLogger } from '@molten/kit';
import { DEMO_TOKEN } from '@molten/simulators/pve';
import { NatsServer, freePort, waitFor } from '@molten/testkit';
import { buildServices } from '@molten/launcher/build-services';
import { ROOT, cpuMs, runService, type Service } from './processes.js';
import { measureFloors, withFloor } from './floor.js';
import { canReadPageFrames, together } from './page-frames.js';
import { startMcpSimProcess, startSimProcess } from './sim-handle.js';
import { traceStages } from './stage-trace.js';
import { COMMAND_PATH_ENV, benchCommandPath } from './command-path.js';
import { EventWaiters, openSse } from './sse-client.js';
import { sseFanOut } from './sse-fanout.js';
import { mb, ms, summary } from './stats.js';
import { measurePollCpu, pollCpuLines } from './poll-cpu.js';

const TOKEN = 'bench-operator-token-0123456789abcdef';
const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SIZES = (arg('nodes') ?? process.env.BENCH_NODES)?.split(',').map(Number) ?? [50, 150];
const GUESTS_PER_NODE = Number(process.env.BENCH_GUESTS_PER_NODE ?? 100);
/** The poll the adapter runs with: the default (PVE_POLL_MS unset), which adapts. */
const DEFAULT_POLL_MS = 1_000;
const log = createLogger('bench', { level: 'warn' });
const report = (line: string) => process.stdout.write(`${line}\n`);

/** The figures of one size, for the summary at the end. */
interface Figures {
  guests: number;
  floor: number;
  /** The same round trip from idle, one every 100 ms (floor.ts). */
  idleFloor: number;
  pollCpu: { adapter: number; api: number };
  inProcess?: Awaited<ReturnType<typeof measurePollCpu>>;
  overhead100: { p50: number; p99: number };
  overhead10: { p50: number; p99: number };
  taskEnd: { p50: number; p99: number };
  change: { p50: number; p99: number };
  fanout: { p50: number; p99: number };
  rssSteady: { api: number; adapter: number };
  rssEnd: { api: number; adapter: number; apiPeak: number; adapterPeak: number };
  /** The two processes' pages counted once (page-frames.ts; root only), steady and at the end, kB. */
  onceSteady?: number;
  onceEnd?: number;
  tool: { p50: number; p99: number };
}

async function main() {
  const quick = process.argv.includes('--quick');
  const all: Figures[] = [];
  for (const nodes of SIZES) {
    all.push(await benchSize(nodes, quick));
    // The poll alone, in one process, against a simulator of the same size (the stack is down).
    const nats = await NatsServer.start();
    try {
      const r = await measurePollCpu({ nats, nodes, perNode: GUESTS_PER_NODE, polls: quick ? 5 : 10, changes: [50, 500] });
      all.at(-1)!.inProcess = r;
      for (const l of pollCpuLines(r)) report(l);
    } finally {
      await nats.dispose();
    }
  }
  summarize(all);
}

async function benchSize(NODES: number, quick: boolean): Promise<Figures> {
  const figures = { guests: NODES * GUESTS_PER_NODE } as Figures;
  const nats = await NatsServer.start({ monitor: true });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-bench-'));
  const sim = await startSimProcess({ nodes: NODES, guestsPerNode: GUESTS_PER_NODE, seed: 7, loadIntervalMs: 0, taskDurations: { start: 0, stop: 0, shutdown: 0, reboot: 0 } });
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
    MOLTEN_TOKEN: TOKEN,
    MOLTEN_DATA_DIR: dataDir,
    MOLTEN_RATE_LIMIT: '1000000',
    MOLTEN_RATE_BURST: '100000',
    MOLTEN_COMMAND_CONCURRENCY: '256',
    HOMELAB_MCP_URL: mcp.url,
    MOLTEN_STAGE_TRACE: '1',
    ...COMMAND_PATH_ENV,
  };
  const services: Service[] = [];
  const base = `http://127.0.0.1:${apiPort}`;
  try {
    await buildServices(ROOT);
    const adapter = runService('proxmox-adapter', 'dist/proxmox-adapter.mjs', env);
    const homelab = runService('homelab-adapter', 'dist/homelab-adapter.mjs', env);
    const api = runService('api', 'dist/api.mjs', env);
    services.push(adapter, homelab, api);
    const call = (p: string, init: RequestInit = {}) => fetch(`${base}${p}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers } });
    await waitFor(async () => ((await (await call('/api/vms')).json()) as { data: unknown[] }).data.length === NODES * GUESTS_PER_NODE, {
      timeoutMs: 180_000,
      intervalMs: 500,
      message: `the api lists all ${NODES * GUESTS_PER_NODE} guests`,
    });
    report(`\nMolten benchmarks — ${NODES} nodes × ${GUESTS_PER_NODE} guests (${(NODES * GUESTS_PER_NODE).toLocaleString('en-US')}), default settings (poll ${DEFAULT_POLL_MS} ms, adaptive), ${os.cpus().length} cores, Node ${process.version}`);
    const benchBus = await connectBus({ servers: nats.url, name: 'bench', log });
    const floors = await measureFloors(benchBus, report);
    const floor = floors.busy;
    figures.floor = floor.p50;
    figures.idleFloor = floors.idle.p50;
    const fl = (v: number) => withFloor(v, floor.p50);
    const trace = traceStages(benchBus);

    // One SSE client that sees every event, for the timing sections.
    // A command's end can come before the client has read its 202: EventWaiters keeps it a while.
    const events = new EventWaiters();
    const sse = await openSse(`${base}/api/events`, TOKEN, (e) => {
      if (e.event === 'command') {
        const m = /"id":"([0-9A-Z]{26})".*?"status":"(\w+)"/.exec(e.data);
        if (m) events.arrived(`cmd:${m[1]}:${m[2]}`, e.at, m[2] === 'succeeded' || m[2] === 'failed');
      } else if (e.event === 'guest') {
        const m = /"vmid":(\d+),.*?"status":"(\w+)"/.exec(e.data);
        if (m) events.arrived(`guest:${m[1]}:${m[2]}`, e.at, false);
      }
    });
    const waitEvent = (key: string, timeoutMs?: number) => events.wait(key, timeoutMs);
    await new Promise((r) => setTimeout(r, 1_000));

    // Requests and CPU per poll, idle: nothing changes in the cluster but counters.
    await sim.clearRequests();
    const window = quick ? 6_000 : 12_000;
    const idleCpu = { api: cpuMs(api.child.pid!), adapter: cpuMs(adapter.child.pid!) };
    await new Promise((r) => setTimeout(r, window));
    const { total, resources } = await sim.requestCounts();
    const polls = Math.max(1, resources);
    figures.pollCpu = { adapter: (cpuMs(adapter.child.pid!) - idleCpu.adapter) / polls, api: (cpuMs(api.child.pid!) - idleCpu.api) / polls };
    report(`requests per poll      ${(total / polls).toFixed(2)} Proxmox requests per poll (${resources} × /cluster/resources, ${total - resources} other, in ${window / 1000} s)`);
    report(`poll CPU (processes)   proxmox-adapter ${ms(figures.pollCpu.adapter)}, api ${ms(figures.pollCpu.api)} of CPU per poll (from /proc over ${polls} polls; heartbeats and timers included; nothing but counters changing)`);
    const steady = { api: api.rss(), adapter: adapter.rss() };
    figures.rssSteady = { api: steady.api.rssKb, adapter: steady.adapter.rssKb };
    report(`RSS steady             api ${mb(steady.api.rssKb)}, proxmox-adapter ${mb(steady.adapter.rssKb)}, together ${mb(steady.api.rssKb + steady.adapter.rssKb)} (one SSE client, polls going on)`);
    figures.onceSteady = pagesOnce([api.child.pid!, adapter.child.pid!], report, 'steady');

    // Command overhead at 100 commands/s, instant tasks.
    const guests = (await sim.guests()).filter((g) => !g.lock && !g.template && !g.hastate && g.qmpstatus !== 'paused');
    // The i-th guest to act on, wrapping round on a small cluster (the sections below take guests
    // past the 100/s run's; at --nodes 5 there are fewer than that).
    const guest = (i: number) => guests[i % guests.length]!;
    const rate = 100;
    const count = quick ? 300 : 1_000;
    // The open-loop client spends as little CPU as it can (the two cores are the services'): each
    // guest's status is kept here rather than asked of the simulator per command, and the POSTs
    // go through a keep-alive pool rather than fetch (as bench/command-path.ts does).
    const status = new Map(guests.map((g) => [g.vmid, g.status]));
    const pool = new Pool(base, { connections: 64 });
    /** `n` commands at `perSecond`/s, open loop, on the guests from `from` on: each one's client → SSE time. */
    const fire = async (perSecond: number, n: number, from: number) => {
      const times: number[] = [];
      const failed: string[] = [];
      const ids: string[] = [];
      const t = performance.now();
      await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const g = guest(from + i);
          await new Promise((r) => setTimeout(r, Math.max(0, t + (i * 1000) / perSecond - performance.now())));
          const action = status.get(g.vmid) === 'running' ? 'stop' : 'start';
          const t0 = performance.now();
          const res = await pool.request({ path: `/api/vms/${g.vmid}/${action}`, method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
          if (res.statusCode !== 202) {
            failed.push(`${res.statusCode}: ${await res.body.text()}`);
            return;
          }
          const { data } = (await res.body.json()) as { data: { id: string } };
          status.set(g.vmid, action === 'stop' ? 'stopped' : 'running');
          trace.mark(data.id, 'client.sent', t0);
          ids.push(data.id);
          const done = await waitEvent(`cmd:${data.id}:succeeded`).catch(() => NaN);
          if (Number.isNaN(done)) {
            const c = ((await (await call(`/api/commands/${data.id}`)).json()) as { data: { status: string; message: string } }).data;
            failed.push(`${data.id} ${c.status}: ${c.message}`);
          } else {
            trace.mark(data.id, 'sse.succeeded', done);
            times.push(done - t0);
          }
        }),
      );
      return { times, failed, ids };
    };
    // Warm-up, not counted: the services' code compiled as it runs in steady state (on a cold
    // start, 100/s at 15,000 guests can tip 2 cores into a queue that outlasts the run; see
    // docs/performance.md), as bench/command-path.ts does before its runs.
    const warm = await fire(50, quick ? 100 : 200, count + 300);
    report(`warm-up                ${warm.times.length} commands at 50/s (not counted)`);
    const pids = { 'nats-server': nats.pid!, api: api.child.pid!, 'proxmox-adapter': adapter.child.pid!, bench: process.pid, simulator: sim.pid };
    const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
    const started = performance.now();
    const { times: overhead, failed: failures, ids: fastIds } = await fire(rate, count, 0);
    const elapsed = performance.now() - started;
    await pool.close();
    const cpuShare = Object.entries(pids)
      .map(([k, pid]) => `${k} ${((100 * (cpuMs(pid) - cpuBefore[k]!)) / elapsed).toFixed(0)}%`)
      .join(', ');
    // Where the time goes, from the transitions' own timestamps (one clock: this machine).
    const stages = { accept: [] as number[], run: [] as number[], finish: [] as number[] };
    const recent = ((await (await call(`/api/commands?limit=${Math.min(500, count)}`)).json()) as { data: { transitions: { status: string; at: string }[] }[] }).data;
    for (const c of recent) {
      const at = (s: string) => Date.parse(c.transitions.find((t) => t.status === s)?.at ?? '');
      stages.accept.push(at('accepted') - at('requested'));
      stages.run.push(at('running') - at('accepted'));
      stages.finish.push(at('succeeded') - at('running'));
    }
    const o = summary(overhead);
    for (const f of failures.slice(0, 5)) report(`  not measured: ${f}`);
    figures.overhead100 = o;
    report(`command overhead       p50 ${fl(o.p50)}, p99 ${fl(o.p99)} (${o.n} commands at ${rate}/s, instant tasks${failures.length ? `, ${failures.length} not measured` : ''}; target p99 ≤ 20 ms)`);
    const st = (v: number[]) => `${ms(summary(v.filter(Number.isFinite)).p50)}/${ms(summary(v.filter(Number.isFinite)).p99)}`;
    report(`  CPU while it ran      ${cpuShare} of one core (${os.cpus().length} cores in all)`);
    report(`  stages p50/p99        requested→accepted ${st(stages.accept)}, accepted→running (POST to Proxmox) ${st(stages.run)}, running→succeeded (task followed, guest re-read) ${st(stages.finish)}`);
    report(`  per-stage trace at ${rate}/s (each stage from the previous mark; epoch clocks of one machine):`);
    for (const line of trace.report(fastIds)) report(line);

    // The pipeline's own latency, when the machine is not saturated by the rate above.
    const calm: number[] = [];
    const calmIds: string[] = [];
    for (let i = 0; i < (quick ? 20 : 50); i++) {
      const g = guest(count + 60 + i);
      const action = (await sim.status(g.vmid)) === 'running' ? 'stop' : 'start';
      const t0 = performance.now();
      const res = await call(`/api/vms/${g.vmid}/${action}`, { method: 'POST', body: '{}' });
      const { data } = (await res.json()) as { data: { id: string } };
      const done = await waitEvent(`cmd:${data.id}:succeeded`);
      calm.push(done - t0);
      trace.mark(data.id, 'client.sent', t0);
      trace.mark(data.id, 'sse.succeeded', done);
      calmIds.push(data.id);
      await new Promise((r) => setTimeout(r, 100));
    }
    const c10 = summary(calm);
    figures.overhead10 = c10;
    report(`  at 10 commands/s      p50 ${fl(c10.p50)}, p99 ${fl(c10.p99)} (${c10.n} commands, instant tasks)`);
    report(`  per-stage trace at 10/s:`);
    for (const line of trace.report(calmIds)) report(line);

    // The same with a 500 ms task: the overhead now includes following the task by polling.
    await sim.setTaskDurations({ start: 500, stop: 500 });
    const withTask: number[] = [];
    const taskIds: string[] = [];
    for (let i = 0; i < (quick ? 10 : 30); i++) {
      const g = guest(count + 20 + i);
      const action = (await sim.status(g.vmid)) === 'running' ? 'stop' : 'start';
      const t0 = performance.now();
      const res = await call(`/api/vms/${g.vmid}/${action}`, { method: 'POST', body: '{}' });
      const { data } = (await res.json()) as { data: { id: string } };
      const done = await waitEvent(`cmd:${data.id}:succeeded`);
      withTask.push(done - t0 - 500);
      trace.mark(data.id, 'client.sent', t0);
      trace.mark(data.id, 'sse.succeeded', done);
      taskIds.push(data.id);
    }
    const w = summary(withTask);
    report(`  with 500 ms tasks     p50 ${fl(w.p50)}, p99 ${fl(w.p99)} over the task time`);
    // The task ends 500 ms after Proxmox answered the POST (the simulator starts it as it answers).
    const endToState = summary(trace.between(taskIds, 'adapter.posted', 'adapter.state-published', 500));
    const endToSse = summary(trace.between(taskIds, 'adapter.posted', 'sse.succeeded', 500));
    figures.taskEnd = endToState;
    report(`  task end → state      p50 ${fl(endToState.p50)}, p99 ${fl(endToState.p99)} until the adapter has published the guest's new state; until \`succeeded\` on SSE p50 ${fl(endToSse.p50)}, p99 ${fl(endToSse.p99)} (target p50 ≤ 40 ms, p99 ≤ 100 ms)`);
    report(`  per-stage trace with 500 ms tasks ("task end seen" includes the 500 ms task):`);
    for (const line of trace.report(taskIds)) report(line);
    await sim.setTaskDurations({ start: 0, stop: 0 });

    // Change in the simulator → event on SSE.
    const delays: number[] = [];
    const samples = quick ? 8 : 30;
    for (let i = 0; i < samples; i++) {
      const g = guest(count + 200 + i);
      const to = (await sim.status(g.vmid)) === 'running' ? 'stopped' : 'running';
      const seen = waitEvent(`guest:${g.vmid}:${to}`, 15_000);
      const t0 = await sim.setStatus(g.vmid, to);
      delays.push((await seen) - t0);
      await new Promise((r) => setTimeout(r, Math.random() * 700));
    }
    const d = summary(delays);
    figures.change = d;
    report(`change → SSE           p50 ${fl(d.p50)}, p99 ${fl(d.p99)} (${d.n} changes, default settings; target p99 ≤ 1,050 ms)`);

    // SSE fan-out: 100 clients while 500 guest updates/s arrive.
    const CLIENTS = 100;
    const perSecond = 500;
    const fan = await sseFanOut({ eventsUrl: `${base}/api/events`, token: TOKEN, natsUrl: nats.url, clients: CLIENTS, seconds: quick ? 3 : 6, perSecond, log });
    const f = fan.latency;
    figures.fanout = f;
    report(`SSE fan-out            p50 ${fl(f.p50)}, p99 ${fl(f.p99)} publish → client, ${CLIENTS} clients × ${perSecond} updates/s (${f.n}/${fan.expected} deliveries)`);
    await fan.close();

    // Memory after all of the above (100 SSE clients' snapshots included).
    const a = adapter.rss();
    const p = api.rss();
    figures.rssEnd = { api: p.rssKb, adapter: a.rssKb, apiPeak: p.peakKb, adapterPeak: a.peakKb };
    report(`RSS                    api ${mb(p.rssKb)} (peak ${mb(p.peakKb)}), proxmox-adapter ${mb(a.rssKb)} (peak ${mb(a.peakKb)}), together ${mb(p.rssKb + a.rssKb)} (target at 15,000 guests: ≤ 256 MB together)`);
    figures.onceEnd = pagesOnce([api.child.pid!, adapter.child.pid!], report, 'at the end');

    // Tool calls through the bus.
    await waitFor(async () => ((await (await call('/api/servers/mcp-homelab')).json()) as { data?: { status: string } }).data?.status === 'connected', { timeoutMs: 30_000 });
    const toolOverhead: number[] = [];
    const serverTime: number[] = [];
    for (let i = 0; i < (quick ? 30 : 100); i++) {
      const before = await mcp.toolCalls('list_containers');
      const t0 = performance.now();
      const res = await call('/api/servers/mcp-homelab/tools/list_containers/call', { method: 'POST', body: JSON.stringify({ arguments: {} }) });
      const { data } = (await res.json()) as { data: { id: string } };
      const done = await waitEvent(`cmd:${data.id}:succeeded`);
      toolOverhead.push(done - t0);
      if ((await mcp.toolCalls('list_containers')) !== before + 1) throw new Error('tool not called exactly once');
      await new Promise((r) => setTimeout(r, 20));
    }
    // The server's own time: the same call straight to the simulator, through the MCP client.
    const { McpConnection } = await import('@molten/mcp-client');
    const direct = new McpConnection({ name: 'bench', endpoint: { url: mcp.url }, log });
    await direct.start();
    await direct.whenConnected(10_000);
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await direct.callTool('list_containers', {});
      serverTime.push(performance.now() - t0);
    }
    await direct.close();
    const own = summary(serverTime).p50;
    const t = summary(toolOverhead.map((x) => x - own));
    figures.tool = t;
    report(`tool-call overhead     p50 ${fl(t.p50)}, p99 ${fl(t.p99)} (${t.n} calls; the server's own round trip, p50 ${ms(own)}, subtracted; target p99 ≤ 10 ms)`);
    await benchCommandPath({ natsUrl: nats.url, natsMonitorUrl: nats.monitorUrl, base, token: TOKEN, sim, mcp, pids: { api: api.child.pid!, adapter: adapter.child.pid!, homelab: homelab.child.pid! }, pollMs: DEFAULT_POLL_MS, floorMs: floor.p50, idleFloor: floors.idle, report, quick });
    sse.close();
    trace.close();
    await benchBus.close();
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
  return figures;
}

/** Every figure side by side, one column per size. */
function summarize(all: Figures[]) {
  const f = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)}` : 'n/a');
  const pair = (x: { p50: number; p99: number } | undefined) => (x ? `${f(x.p50)} / ${f(x.p99)}` : 'n/a');
  const rows: [string, (x: Figures) => string, string][] = [
    ['JetStream floor p50, back to back / from idle (ms)', (x) => `${f(x.floor)} / ${f(x.idleFloor)}`, ''],
    ['poll CPU, adapter / api process (ms per poll, idle)', (x) => `${f(x.pollCpu.adapter)} / ${f(x.pollCpu.api)}`, ''],
    ['poll CPU in one process: counters moved / PVE-like (ms)', (x) => (x.inProcess ? `${f(x.inProcess.quiet.p50)} / ${f(x.inProcess.pveLike.mean)}` : 'n/a'), '≤ 30'],
    ['command overhead, 100/s, p50 / p99 (ms)', (x) => pair(x.overhead100), 'p99 ≤ 20'],
    ['command overhead, 10/s, p50 / p99 (ms)', (x) => pair(x.overhead10), 'p50 ≤ 5, p99 ≤ 15'],
    ['command overhead, 10/s, p50 / p99 as multiples of the idle floor', (x) => `×${(x.overhead10.p50 / x.idleFloor).toFixed(0)} / ×${(x.overhead10.p99 / x.idleFloor).toFixed(0)}`, '(×17 / ×52 of a busy floor)'],
    ['task end → state published, p50 / p99 (ms)', (x) => pair(x.taskEnd), '≤ 40 / ≤ 100'],
    ['change → SSE, p50 / p99 (ms)', (x) => pair(x.change), 'p99 ≤ 1,050'],
    ['SSE fan-out, p50 / p99 (ms)', (x) => pair(x.fanout), ''],
    ['RSS steady, api + adapter (MB)', (x) => `${f(x.rssSteady.api / 1024)} + ${f(x.rssSteady.adapter / 1024)} = ${f((x.rssSteady.api + x.rssSteady.adapter) / 1024)}`, '≤ 256 at 15,000'],
    ['RSS at the end, api + adapter (MB)', (x) => `${f(x.rssEnd.api / 1024)} + ${f(x.rssEnd.adapter / 1024)} = ${f((x.rssEnd.api + x.rssEnd.adapter) / 1024)}`, '≤ 256 at 15,000'],
    ['api + adapter in RAM, each page counted once, steady / at the end (MB)', (x) => (x.onceSteady && x.onceEnd ? `${f(x.onceSteady / 1024)} / ${f(x.onceEnd / 1024)}` : 'n/a (root only)'), '≤ 256 at 15,000'],
    ['RSS peaks, api / adapter (MB)', (x) => `${f(x.rssEnd.apiPeak / 1024)} / ${f(x.rssEnd.adapterPeak / 1024)}`, ''],
    ['tool-call overhead, p50 / p99 (ms)', (x) => pair(x.tool), 'p99 ≤ 10'],
  ];
  report(`\nSummary (${os.cpus().length} cores; CPU and latencies vary with what else runs on the machine)`);
  report(`| figure | ${all.map((x) => `${x.guests.toLocaleString('en-US')} guests`).join(' | ')} | target |`);
  report(`|---|${all.map(() => '---|').join('')}---|`);
  for (const [label, get, target] of rows) report(`| ${label} | ${all.map((x) => (x.pollCpu ? get(x) : 'n/a')).join(' | ')} | ${target} |`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);

/**
 * What the api and the proxmox-adapter keep in RAM together, each physical page once (the RSS
 * sum counts the node binary's and the libraries' pages, mapped by both, twice); undefined where
 * page frames cannot be read (not root).
 */
function pagesOnce(pids: number[], report: (line: string) => void, when: string): number | undefined {
  if (!canReadPageFrames()) return undefined;
  const t = together(pids);
  report(`in RAM, counted once   api + proxmox-adapter ${mb(t.unionKb)} ${when} (each physical page once; ${mb(t.bothKb)} of pages mapped by both, the node binary and libraries, which the RSS sum counts twice)`);
  return t.unionKb;
}
