import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { waitFor } from '@molten/testkit';
import { DEMO_TOKEN, type PveSimulator } from '../pve/index.js';
import { startTestSimulator } from '../../test/pve-client.js';
import { formatBytes, formatUptime, pyFixed, theme } from './format.js';
import { startProxmoxMcpSimulator, type ProxmoxMcpSimulator, type ProxmoxMcpSimulatorOptions } from './index.js';

const KEY = 'rest-key-0123456789';
const MCP_KEY = 'mcp-key-0123456789';

let pve: PveSimulator;
const sims: ProxmoxMcpSimulator[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  pve = await startTestSimulator();
});
afterAll(() => pve?.close());
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await Promise.all(sims.splice(0).map((s) => s.close()));
  pve.clearFaults();
});

async function sim(o: Partial<ProxmoxMcpSimulatorOptions> = {}, on: PveSimulator = pve) {
  const s = await startProxmoxMcpSimulator({ pve: { url: on.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, ca: on.ca }, apiKey: KEY, mcpApiKey: MCP_KEY, ...o });
  sims.push(s);
  return s;
}

async function post(s: ProxmoxMcpSimulator, tool: string, body?: unknown, auth: string | null = `Bearer ${KEY}`) {
  const res = await fetch(`${s.restUrl}/${tool}`, {
    method: 'POST',
    headers: { ...(auth ? { authorization: auth } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
}

async function get(s: ProxmoxMcpSimulator, path: string, auth: string | null = `Bearer ${KEY}`) {
  const res = await fetch(`${s.restUrl}${path}`, { headers: auth ? { authorization: auth } : {} });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

async function mcp(s: ProxmoxMcpSimulator, token: string | undefined = MCP_KEY) {
  const client = new Client({ name: 'test', version: '1' });
  clients.push(client);
  await client.connect(new StreamableHTTPClientTransport(new URL(s.mcpUrl), { requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : undefined }));
  return client;
}

const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('Python-compatible number formatting', () => {
  it('rounds exact ties to even, as f-strings do, and everything else as toFixed', () => {
    expect(pyFixed(0.125, 2)).toBe('0.12');
    expect(pyFixed(0.375, 2)).toBe('0.38');
    expect(pyFixed(2.5, 0)).toBe('2');
    expect(pyFixed(0.25, 1)).toBe('0.2');
    expect(pyFixed(1.005, 2)).toBe('1.00'); // 1.005 is 1.00499999… as a double
    expect(pyFixed(55.55555, 1)).toBe('55.6');
  });

  it('formats bytes in 1024 units with two decimals, and uptime by minutes with "0m" below one', () => {
    expect(formatBytes(0)).toBe('0.00 B');
    expect(formatBytes(536870912)).toBe('512.00 MB');
    expect(formatBytes(4 * 1024 ** 3)).toBe('4.00 GB');
    expect(formatBytes(7450 * 1024 ** 3)).toBe('7.28 TB');
    const t = theme('ascii');
    expect(formatUptime(0, t)).toBe('0m');
    expect(formatUptime(59, t)).toBe('0m');
    expect(formatUptime(3 * 86_400, t)).toBe('[uptime] 3d');
    expect(formatUptime(3 * 86_400 + 4 * 3_600 + 5 * 60 + 59, t)).toBe('[uptime] 3d 4h 5m');
    expect(formatUptime(3_600, theme('emoji'))).toBe('⏳ 1h');
  });
});

describe('ProxmoxMCP-Plus simulator: REST bridge', () => {
  it('refuses requests without the API key (401) or with a wrong one (403), in its own words; /livez needs none', async () => {
    const s = await sim();
    const none = await post(s, 'get_vms', undefined, null);
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ detail: 'Missing or invalid Authorization header' });
    expect(none.headers.get('www-authenticate')).toBe('Bearer, Basic');
    const wrong = await post(s, 'get_vms', undefined, 'Bearer nope');
    expect(wrong.status).toBe(403);
    expect(wrong.body).toEqual({ detail: 'Invalid API key' });
    expect((await post(s, 'get_vms', undefined, 'Token abc')).body).toEqual({ detail: 'Unsupported authorization method' });
    // Basic auth with the key as password is accepted too.
    const basic = await post(s, 'get_cluster_status', undefined, `Basic ${Buffer.from(`any:${KEY}`).toString('base64')}`);
    expect(basic.status).toBe(200);
    expect((await get(s, '/livez', null)).body).toEqual({ status: 'ok' });
    expect((await get(s, '/health', null)).status).toBe(401);
    expect((await get(s, '/readyz', null)).status).toBe(401);
    const ready = await get(s, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', connected_to_mcp: true, auth: { api_key_configured: true, strict_auth: true }, jobs: { enabled: true } });
    expect(s.counters.rest).toEqual({ get_cluster_status: 1 });
  });

  it('answers text tools with a JSON string literal and format_style=json with real JSON', async () => {
    const s = await sim();
    const vms = await post(s, 'get_vms');
    expect(vms.status).toBe(200);
    expect(vms.text.startsWith('"[vm] Virtual Machines\\n\\n[vm] ')).toBe(true);
    expect(typeof vms.body).toBe('string');
    for (const g of pve.guests({ type: 'qemu' })) expect(vms.body).toContain(`[vm] ${g.name} (ID: ${g.vmid})\n  - Status: ${(g.qmpstatus === 'paused' ? 'paused' : g.status).toUpperCase()}\n  - Node: ${g.node}\n`);

    const cts = await post(s, 'get_containers', { format_style: 'json' });
    expect(Array.isArray(cts.body)).toBe(true);
    const lxc = pve.guests({ type: 'lxc' });
    expect(cts.body.map((r: { vmid: string }) => r.vmid).sort()).toEqual(lxc.map((g) => String(g.vmid)).sort());
    const first = cts.body.find((r: { vmid: string }) => r.vmid === String(lxc[0]!.vmid));
    expect(first).toMatchObject({ name: lxc[0]!.name, node: lxc[0]!.node, status: lxc[0]!.status, maxmem_bytes: lxc[0]!.maxmem, cores: lxc[0]!.cpus });
    expect(Object.keys(first)).toEqual([...Object.keys(first)].sort());

    const cluster = await post(s, 'get_cluster_status');
    expect(cluster.body).toBe('[config] Proxmox Cluster\n\n  - Name: homelab\n  - Quorum: OK\n  - Nodes: 3');
    const node = await post(s, 'get_node_status', { node: pve.nodes[0] });
    expect(node.body).toMatch(/^\[node\] Node: pve1\n {2}- Status: UNKNOWN\n {2}- Uptime: \[uptime\] .+\n {2}- CPU Cores: N\/A\n {2}- Memory: \d+\.\d\d GB \/ 64\.00 GB \(\d+\.\d%\)$/);
    const storage = await post(s, 'get_storage');
    expect(storage.body.match(/Status: ONLINE/g)).toHaveLength(3);
  });

  it('gives 422 for what mcpo\'s model refuses, 500 with the tool\'s words for what the tool refuses, 404/405 for routes', async () => {
    const s = await sim();
    const missing = await post(s, 'start_vm', { vmid: '101' });
    expect(missing.status).toBe(422);
    expect(missing.body.detail[0]).toMatchObject({ type: 'missing', loc: ['body', 'node'], msg: 'Field required' });
    const number = await post(s, 'start_vm', { node: 'pve1', vmid: 101 });
    expect(number.status).toBe(422);
    expect(number.body.detail[0]).toMatchObject({ type: 'string_type', loc: ['body', 'vmid'], msg: 'Input should be a valid string', input: 101 });
    expect((await post(s, 'start_vm')).body.detail[0]).toMatchObject({ type: 'missing', loc: ['body'] });
    expect((await post(s, 'start_vm', '{nope')).status).toBe(422);
    // The enum is lost in mcpo's model: FastMCP refuses it, and the bridge answers 500.
    const literal = await post(s, 'stop_container', { selector: '100', format_style: 'xml' });
    expect(literal.status).toBe(500);
    expect(literal.body.detail.message).toMatch(/^Error executing tool stop_container: 1 validation error for stop_containerArguments\nformat_style\n {2}Input should be 'pretty' or 'json' \[type=literal_error/);
    const unknown = await post(s, 'stop_vm', { node: 'pve1', vmid: '4242' });
    expect(unknown).toMatchObject({ status: 500, body: { detail: { message: 'Error executing tool stop_vm: VM 4242 not found on node pve1' } } });
    expect((await post(s, 'reboot_vm', { node: 'pve1', vmid: '101' })).status).toBe(404);
    expect((await get(s, '/get_vms')).status).toBe(405);
  });

  it('can answer isError the way mcpo really does (its catch-all wraps the HTTPException)', async () => {
    const s = await sim({ errorStyle: 'mcpo' });
    const r = await post(s, 'stop_vm', { node: 'pve1', vmid: '4242' });
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ detail: { message: 'Unexpected error', error: "500: {'message': 'Error executing tool stop_vm: VM 4242 not found on node pve1'}" } });
  });

  it('publishes /openapi.json from the tool list: one POST route per tool, form models, and no reboot_vm', async () => {
    const s = await sim();
    const doc = (await get(s, '/openapi.json')).body;
    const toolPaths = Object.keys(doc.paths).filter((p) => !p.startsWith('/jobs'));
    expect(toolPaths.sort()).toEqual(s.toolNames().map((n) => `/${n}`).sort());
    expect(doc.paths['/jobs/{job_id}/poll'].post).toBeDefined();
    expect(s.toolNames()).not.toContain('reboot_vm');
    expect(s.toolNames()).toEqual(expect.arrayContaining(['get_nodes', 'get_node_status', 'get_vms', 'start_vm', 'stop_vm', 'shutdown_vm', 'reset_vm', 'get_containers', 'start_container', 'stop_container', 'restart_container', 'get_storage', 'get_cluster_status', 'list_jobs', 'get_job', 'poll_job']));
    expect(doc.paths['/start_vm'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/start_vm_form_model' });
    expect(doc.components.schemas.start_vm_form_model).toMatchObject({ required: ['node', 'vmid'], properties: { vmid: { type: 'string', title: 'Vmid' } } });
    expect(doc.paths['/get_vms'].post.requestBody).toBeUndefined();
    expect(doc.components.schemas.get_containers_form_model.properties.format_style.enum).toBeUndefined();
  });

  it('answers 429 without Retry-After beyond PROXMOX_RATE_LIMIT_RPM, counting every route', async () => {
    const s = await sim({ rateLimitRpm: 3, rateLimitWindowMs: 60_000 });
    expect((await get(s, '/livez', null)).status).toBe(200);
    expect((await post(s, 'get_cluster_status')).status).toBe(200);
    expect((await post(s, 'get_cluster_status')).status).toBe(200);
    const limited = await post(s, 'get_cluster_status');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ status: 'rate_limited', message: 'Too many requests', limit_per_minute: 3 });
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(s.counters.rateLimited).toBe(1);
  });

  it('reports a lost MCP session in /readyz and on tool routes', async () => {
    const s = await sim();
    s.setBridgeConnected(false);
    expect((await get(s, '/readyz')).status).toBe(503);
    expect(await post(s, 'get_vms')).toMatchObject({ status: 500, body: { detail: { message: 'MCP session is not available' } } });
  });
});

describe('ProxmoxMCP-Plus simulator: actions and jobs on the PVE simulator', () => {
  it('stops a VM with one PVE task, tracks it as a job that completes when polled, and says "already stopped" after', async () => {
    const s = await sim();
    const vm = pve.guests({ type: 'qemu' }).find((g) => g.status === 'running' && !g.lock && !g.hastate && g.qmpstatus === 'running')!;
    pve.clearRequests();
    const r = await post(s, 'stop_vm', { node: vm.node, vmid: String(vm.vmid) });
    const m = /^VM (\d+) stop initiated successfully\nTask ID: (UPID:[^\n]+)\nJob ID: ([0-9a-f-]{36})$/.exec(r.body);
    expect(m, r.body).not.toBeNull();
    const [, , upid, jobId] = m!;
    expect(pve.task(upid!)).toMatchObject({ type: 'qmstop', id: String(vm.vmid) });
    expect(pve.countRequests({ method: 'POST', vmid: vm.vmid })).toBe(1);
    // The job changes only when polled.
    const job = await waitFor(async () => {
      const j = (await post(s, 'poll_job', { job_id: jobId })).body;
      return j.status === 'running' ? undefined : j;
    });
    expect(job).toMatchObject({ job_id: jobId, tool_name: 'stop_vm', node: vm.node, upid, status: 'completed', metadata: { vmid: String(vm.vmid) }, result: { status: 'stopped', exitstatus: 'OK' } });
    expect(pve.guest(vm.vmid)!.status).toBe('stopped');
    expect((await post(s, 'stop_vm', { node: vm.node, vmid: String(vm.vmid) })).body).toBe(`VM ${vm.vmid} is already stopped`);
    expect((await post(s, 'reset_vm', { node: vm.node, vmid: String(vm.vmid) })).body).toBe(`Cannot reset VM ${vm.vmid}: VM is currently stopped\nUse start_vm to start it first`);
    const listed = (await post(s, 'list_jobs', { tool_name: 'stop_vm' })).body;
    expect(listed.map((j: { job_id: string }) => j.job_id)).toContain(jobId);
    // The same through the bridge's /jobs routes.
    expect((await get(s, `/jobs/${jobId}`)).body).toMatchObject({ job_id: jobId, status: 'completed' });
    expect((await get(s, '/jobs/nope')).status).toBe(404);
    await post(s, 'start_vm', { node: vm.node, vmid: String(vm.vmid) });
    await waitFor(() => pve.guest(vm.vmid)!.status === 'running');
  });

  it('counts a "WARNINGS: n" task as completed, or as failed when reproducing v0.5.2', async () => {
    for (const warningsAsFailed of [false, true]) {
      const s = await sim({ warningsAsFailed });
      const vm = pve.guests({ type: 'qemu' }).find((g) => g.status === 'stopped' && !g.template && !g.lock)!;
      pve.failNextTask({ vmid: vm.vmid }, 'WARNINGS: 1');
      const r = await post(s, 'start_vm', { node: vm.node, vmid: String(vm.vmid) });
      const jobId = /Job ID: (\S+)$/.exec(r.body)![1]!;
      const job = await waitFor(async () => {
        const j = (await post(s, 'get_job', { job_id: jobId, refresh: true })).body;
        return j.status === 'running' ? undefined : j;
      });
      expect(job.status).toBe(warningsAsFailed ? 'failed' : 'completed');
      if (warningsAsFailed) expect(job.last_error).toBe('WARNINGS: 1');
      await post(s, 'stop_vm', { node: vm.node, vmid: String(vm.vmid) });
      await waitFor(() => pve.guest(vm.vmid)!.status === 'stopped');
    }
  });

  it('acts on containers by selector and answers rows with task and job ids', async () => {
    const s = await sim();
    const ct = pve.guests({ type: 'lxc' }).find((g) => g.status === 'running' && !g.lock && !g.hastate)!;
    const r = await post(s, 'stop_container', { selector: `${ct.node}:${ct.vmid}`, graceful: false, format_style: 'json' });
    expect(r.body).toEqual([{ ok: true, node: ct.node, vmid: ct.vmid, name: ct.name, message: expect.stringMatching(/^UPID:.*:vzstop:/), task_id: expect.stringMatching(/^UPID:/), job_id: expect.any(String) }]);
    await waitFor(() => pve.guest(ct.vmid)!.status === 'stopped');
    const again = await post(s, 'stop_container', { selector: String(ct.vmid), graceful: false, format_style: 'json' });
    expect(again.body[0]).toMatchObject({ ok: false, error: `500 Internal Server Error: CT ${ct.vmid} not running` });
    const none = await post(s, 'start_container', { selector: 'pve9:1' });
    expect(none.status).toBe(500);
    expect(none.body.detail.message).toBe('Error executing tool start_container: Failed to Failed to start container(s): Failed to No containers matched the selector: pve9:1');
    const pretty = await post(s, 'start_container', { selector: ct.name });
    expect(pretty.body).toMatch(new RegExp(`^Start Containers\\n\\nOK ${ct.name} \\(ID: ${ct.vmid}, node: ${ct.node}\\) - UPID:`));
    await waitFor(() => pve.guest(ct.vmid)!.status === 'running');
  });

  it('without a job store says "Job ID: n/a" and lists no job tools', async () => {
    const s = await sim({ jobs: false });
    expect(s.toolNames()).not.toContain('poll_job');
    const vm = pve.guests({ type: 'qemu' }).find((g) => g.status === 'stopped' && !g.template && !g.lock)!;
    const r = await post(s, 'start_vm', { node: vm.node, vmid: String(vm.vmid) });
    expect(r.body).toMatch(/\nJob ID: n\/a$/);
    await waitFor(() => pve.guest(vm.vmid)!.status === 'running');
    await post(s, 'stop_vm', { node: vm.node, vmid: String(vm.vmid) });
    await waitFor(() => pve.guest(vm.vmid)!.status === 'stopped');
  });
});

describe('ProxmoxMCP-Plus simulator: output styles and quirks', () => {
  it('writes the emoji style of ≤ v0.3 and the "•" bullet builds', async () => {
    const s = await sim({ format: 'emoji' });
    const nodes = (await s.callTool('get_nodes')).text;
    expect(nodes).toMatch(/^🖥️ Proxmox Nodes\n\n🖥️ pve1\n {2}• Status: ONLINE\n {2}• Uptime: ⏳ /);
    expect((await s.callTool('get_cluster_status')).text).toBe('⚙️ Proxmox Cluster\n\n  • Name: homelab\n  • Quorum: OK\n  • Nodes: 3');
    const vm = pve.guests({ type: 'qemu' }).find((g) => g.status === 'running')!;
    expect((await s.callTool('start_vm', { node: vm.node, vmid: String(vm.vmid) })).text).toBe(`🟢 VM ${vm.vmid} is already running`);
    s.setFormat('bullets');
    expect((await s.callTool('get_storage')).text).toMatch(/^\[storage\] Storage Pools\n\n\[storage\] local\n {2}• Status: ONLINE\n {2}• Type: dir\n/);
  });

  it('names a standalone node as the cluster with "Quorum: NOT OK", and prints an offline node with 0m and N/A', async () => {
    const standalone = await startTestSimulator({ standalone: true, preset: 'empty' });
    try {
      const s = await sim({}, standalone);
      const node = standalone.nodes[0]!;
      expect((await s.callTool('get_cluster_status')).text).toBe(`[config] Proxmox Cluster\n\n  - Name: ${node}\n  - Quorum: NOT OK\n  - Nodes: 1`);
    } finally {
      await standalone.close();
    }
    const s = await sim({ cache: false });
    pve.setNodeOnline('pve3', false, { delayMs: 0 });
    try {
      const text = (await s.callTool('get_nodes')).text;
      // /nodes still gives an offline node's maxmem, not its mem.
      expect(text).toContain('[node] pve3\n  - Status: OFFLINE\n  - Uptime: 0m\n  - CPU Cores: N/A\n  - Memory: 0.00 B / 16.00 GB (0.0%)');
    } finally {
      pve.setNodeOnline('pve3', true);
    }
  });
});

describe('ProxmoxMCP-Plus simulator: native MCP', () => {
  it('requires MCP_API_KEY as a bearer token', async () => {
    const s = await sim();
    const res = await fetch(s.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'invalid_token', error_description: 'Authentication required' });
    await expect(mcp(s, 'wrong')).rejects.toThrow();
  });

  it('lists the tools with FastMCP schemas (vmid and node are strings) and calls them', async () => {
    const s = await sim({ structuredContent: true });
    const client = await mcp(s);
    expect(client.getServerVersion()?.name).toBe('ProxmoxMCP');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(s.toolNames());
    expect(tools.find((t) => t.name === 'start_vm')!.inputSchema).toEqual({
      type: 'object',
      title: 'start_vmArguments',
      required: ['node', 'vmid'],
      properties: {
        node: { type: 'string', title: 'Node', description: "Host node name (e.g. 'pve')" },
        vmid: { type: 'string', title: 'Vmid', description: "VM ID number (e.g. '101')" },
      },
    });
    expect(tools.find((t) => t.name === 'get_containers')!.inputSchema.properties!.node).toEqual({
      anyOf: [{ type: 'string' }, { type: 'null' }],
      default: null,
      description: "Optional node name (e.g. 'pve1')",
      title: 'Node',
    });
    const r = (await client.callTool({ name: 'get_cluster_status', arguments: {} })) as CallToolResult;
    expect(textOf(r)).toBe('[config] Proxmox Cluster\n\n  - Name: homelab\n  - Quorum: OK\n  - Nodes: 3');
    expect(r.structuredContent).toEqual({ result: r.content });
    const bad = (await client.callTool({ name: 'start_vm', arguments: { node: 'pve1', vmid: 101 } })) as CallToolResult;
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/^Error executing tool start_vm: 1 validation error for start_vmArguments\nvmid\n {2}Input should be a valid string \[type=string_type, input_value=101, input_type=int\]/);
    const unknown = (await client.callTool({ name: 'reboot_vm', arguments: { node: 'pve1', vmid: '101' } })) as CallToolResult;
    expect(unknown).toMatchObject({ isError: true, content: [{ type: 'text', text: 'Unknown tool: reboot_vm' }] });
    expect(s.counters.mcp).toMatchObject({ get_cluster_status: 1, start_vm: 1 });
  });
});
