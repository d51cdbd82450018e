/**
 * The CPU Molten's MCP endpoint spends per `tools/call`, in-process and without the bus
 * (issue 15): the endpoint with a Commands port whose command has already ended, driven with
 * the JSON-RPC request an MCP client sends after its handshake, against the homelab MCP
 * simulator's tool catalog. `node --import tsx bench/mcp-endpoint-cpu.ts` prints the time per
 * request (and per server the stateless mode builds for it). BENCH_PROFILE=<file> writes a CPU profile.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { CommandStatus, type CommandRecord } from '@molten/contracts';
import type * as Rest from '@molten/contracts/rest';
import { createLogger } from '@molten/kit';
import { McpConnection } from '@molten/mcp-client';
import { startHomelabMcpSimulator } from '@molten/simulators/homelab-mcp';
import { McpEndpoint } from '../services/api/src/mcp/mcp-endpoint.js';
import { CommandsView } from '../services/api/src/state/commands-view.js';
import type { Commands, Reads } from '../services/api/src/ports.js';
import type { TokenRegistry } from '../services/api/src/auth/tokens.js';
import { ms, summary } from './stats.js';

const log = createLogger('bench', { level: 'warn' });
const sim = await startHomelabMcpSimulator({ port: 0 });
const conn = new McpConnection({ name: 'bench', endpoint: { url: sim.url }, log });
conn.start();
await conn.whenConnected(10_000);
const tools: Rest.Tool[] = conn.tools.map((t) => ({ name: t.name, description: t.description ?? '', inputSchema: t.inputSchema, ...(t.annotations ? { annotations: t.annotations } : {}) }));
await conn.close();
await sim.close();

const server = { id: 'mcp-homelab', name: 'homelab', capabilities: [{ action: 'tool-call', available: true }], tools } as unknown as Rest.Server;
const view = new CommandsView();
let n = 0;
const done = (id: string): CommandRecord => ({
  command: { id, correlationId: id, domain: 'mcp', scope: 'homelab', action: 'tool-call', createdAtMs: 0, acceptByMs: 0, deadlineMs: 0, idempotencyKey: '', reason: '', payload: undefined },
  status: CommandStatus.COMMAND_STATUS_SUCCEEDED,
  transitions: [],
  upstreamTaskId: '',
  upstreamCallAtMs: 0,
  resultJson: JSON.stringify({ content: [{ type: 'text', text: 'ok' }], isError: false }),
  updatedAtMs: 0,
});
const reads = { servers: () => [server] } as unknown as Reads;
const commands = { toolCall: async () => ({ record: done(`01BENCH${String(++n).padStart(19, '0')}`), duplicate: false }) } as unknown as Commands;
const principal = { name: 'agent', role: 'agent', key: 'k' };
const tokens = { verify: () => principal } as unknown as TokenRegistry;
const endpoint = new McpEndpoint({ reads, commands, commandsView: view, tokens, log });
const app = endpoint.routes();

const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'mcp-homelab__list_containers', arguments: {} } });
const request = () =>
  app.request('/', { method: 'POST', headers: { authorization: 'Bearer x', 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', 'content-length': String(Buffer.byteLength(body)) }, body });
const one = async () => {
  const res = await request();
  const text = await res.text();
  if (res.status !== 200 || !text.includes('"result"')) throw new Error(`${res.status} ${text.slice(0, 300)}`);
};

for (let i = 0; i < 2_000; i++) await one();
const session = process.env.BENCH_PROFILE ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const times: number[] = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const count = 3_000;
for (let i = 0; i < count; i++) {
  const a = performance.now();
  await one();
  times.push(performance.now() - a);
}
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
if (session) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(process.env.BENCH_PROFILE!, JSON.stringify(profile));
}
const s = summary(times);
process.stdout.write(`MCP endpoint, tools/call in-process (${tools.length} proxied tools): p50 ${ms(s.p50)}, p99 ${ms(s.p99)}; CPU ${((cpu.user + cpu.system) / 1000 / count).toFixed(3)} ms per call (wall ${(wall / count).toFixed(3)} ms)\n`);
await endpoint.close();
process.exit(0);
