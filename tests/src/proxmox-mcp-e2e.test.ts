import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxmoxMcpSimulator, type ProxmoxMcpSimulator } from '@molten/simulators/proxmox-mcp';
import { DEMO_TOKEN, type GuestView } from '@molten/simulators/pve';
import { waitFor } from '@molten/testkit';
import { guestPicker, startStack, type Stack } from './stack.js';

/**
 * Issue 4's ProxmoxMCP-Plus checks on real components: nats-server, the PVE simulator, the
 * ProxmoxMCP-Plus simulator in front of it (REST bridge and native MCP), the proxmox-adapter
 * and the api.
 *
 * - cluster "homelab": only PROXMOX_MCP_URL (the REST bridge): ProxmoxMCP-Plus is the driver;
 * - cluster "both": PVE_URL and PROXMOX_MCP_URL (native MCP): the pve driver reads and acts,
 *   ProxmoxMCP-Plus is a second server with its tools.
 */
const REST_KEY = 'e2e-rest-key-0123456789';
const MCP_KEY = 'e2e-mcp-key-0123456789';
const near = (got: number, want: number) => Math.abs(got - want) <= Math.max(1, want * 0.005);

describe('ProxmoxMCP-Plus end to end', () => {
  let stack: Stack;
  let mcp: ProxmoxMcpSimulator;

  beforeAll(async () => {
    stack = await startStack({ adapter: false, sim: { taskDurations: { start: 150, stop: 100, shutdown: 200, reboot: 200, ha: 50, haManager: 100 } } });
    mcp = await startProxmoxMcpSimulator({
      pve: { url: stack.sim.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, ca: stack.sim.ca },
      apiKey: REST_KEY,
      mcpApiKey: MCP_KEY,
    });
    await stack.startAdapter({
      MOLTEN_INSTANCE: 'via-proxmox-mcp',
      MOLTEN_CLUSTER: 'homelab',
      PVE_URL: '',
      PVE_TOKEN: '',
      PVE_CA_FILE: '',
      PROXMOX_MCP_URL: mcp.restUrl,
      PROXMOX_MCP_API_KEY: REST_KEY,
      PROXMOX_MCP_POLL_MS: '1000',
    });
    await stack.startAdapter({
      MOLTEN_INSTANCE: 'pve-and-proxmox-mcp',
      MOLTEN_CLUSTER: 'both',
      PROXMOX_MCP_URL: mcp.mcpUrl,
      PROXMOX_MCP_API_KEY: MCP_KEY,
    });
    // Each cluster by name: an unnamed request means the only cluster the api knows until it
    // knows both, so a "both" that answers first would stand in for "homelab" (and did, on a
    // loaded machine, where the REST bridge's first poll lands after the pve driver's).
    for (const cluster of ['homelab', 'both']) {
      await waitFor(async () => {
        const r = (await stack.json(`/api/vms?cluster=${cluster}`)).body;
        return r.data?.length === stack.sim.guests().length && r.meta.stale === false;
      }, { message: `every guest of cluster "${cluster}" listed, live`, timeoutMs: 30_000 });
    }
  });
  afterAll(async () => {
    await stack?.stop();
    await mcp?.close();
  });

  const picker = guestPicker();
  const pick = (pred: (g: GuestView) => boolean) => picker.peek(stack.sim.guests(), pred);

  it('lists the cluster read through ProxmoxMCP-Plus as the PVE simulator has it, sizes within rounding, and says what is imprecise', async () => {
    const vms = (await stack.json('/api/vms')).body;
    expect(vms.meta).toMatchObject({ cluster: 'homelab', stale: false });
    const byId = new Map<number, any>(vms.data.map((g: { vmid: number }) => [g.vmid, g]));
    for (const g of stack.sim.guests()) {
      const got = byId.get(g.vmid);
      expect(got, `guest ${g.vmid}`).toMatchObject({ vmid: g.vmid, name: g.name, node: g.node, type: g.type, status: g.status, cluster: 'homelab' });
      if (g.type === 'qemu') expect(got.qmpstatus).toBe(g.qmpstatus);
      expect(near(got.maxmem, g.maxmem), `${g.vmid} maxmem ${got.maxmem} vs ${g.maxmem}`).toBe(true);
      expect(got.imprecise).toEqual(expect.arrayContaining(['uptime', 'disk', 'lock']));
    }
    const nodes = (await stack.json('/api/nodes')).body.data;
    expect(nodes.map((n: { node: string }) => n.node)).toEqual([...stack.sim.nodes].sort());
    expect(nodes.every((n: { status: string; imprecise: string[] }) => n.status === 'online' && n.imprecise.includes('mem'))).toBe(true);
    const storage = (await stack.json('/api/storage')).body.data;
    expect(storage.map((s: { storage: string }) => s.storage).sort()).toEqual(['local', 'local-lvm', 'nas-backup']);
    expect(storage.every((s: { status: string; imprecise: string[] }) => s.status === 'available' && s.imprecise.includes('status'))).toBe(true);
    const status = (await stack.json('/api/cluster/status')).body.data;
    expect(status).toMatchObject({ name: 'homelab', standalone: false, quorate: true });
    expect(status.upstreamVersion).toMatch(/^ProxmoxMCP-Plus \(rest-bridge/);
  });

  it('stops a VM through the api: one stop reaches Proxmox, the job id is the task id, the new state is published', async () => {
    const vm = pick((g) => g.type === 'qemu' && g.status === 'running' && g.qmpstatus === 'running');
    stack.sim.clearRequests();
    const r = await stack.json(`/api/vms/${vm.vmid}/stop`, { method: 'POST' });
    expect(r.status).toBe(202);
    const c = await stack.waitCommand(r.body.data.id, ['succeeded', 'failed', 'timed_out', 'uncertain'], 30_000);
    expect(c.status, JSON.stringify(c.error)).toBe('succeeded');
    expect(c.upstreamTaskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(mcp.jobs().find((j) => j.job_id === c.upstreamTaskId)).toMatchObject({ tool_name: 'stop_vm', status: 'completed' });
    expect(stack.sim.guest(vm.vmid)!.status).toBe('stopped');
    expect(stack.sim.countRequests({ method: 'POST', vmid: vm.vmid })).toBe(1);
    expect(stack.sim.tasks({ vmid: vm.vmid }).filter((t) => t.type === 'qmstop')).toHaveLength(1);
    await waitFor(async () => (await stack.json(`/api/vms/${vm.vmid}/status`)).body.data?.status === 'stopped', { message: 'stopped in the api' });
    // Put it back.
    const back = await stack.json(`/api/vms/${vm.vmid}/start`, { method: 'POST' });
    expect((await stack.waitCommand(back.body.data.id, ['succeeded', 'failed', 'timed_out', 'uncertain'], 30_000)).status).toBe('succeeded');
  });

  it('reports reboot unavailable with the reason in /api/servers, and a reboot command fails saying so', async () => {
    const server = await waitFor(async () => {
      const s = (await stack.json('/api/servers/proxmox-mcp-homelab')).body?.data;
      return s?.status === 'connected' ? s : undefined;
    }, { message: 'the driver\'s server connected' });
    expect(server).toMatchObject({ kind: 'proxmox-mcp', domain: 'proxmox', scope: 'homelab', transport: 'rest-bridge', endpoint: mcp.restUrl });
    expect(server.capabilities).toEqual(
      expect.arrayContaining([
        { action: 'vm-reboot', available: false, reason: 'ProxmoxMCP-Plus has no graceful reboot tool (reset_vm is a hard reset)', privilege: 'VM.PowerMgmt' },
        { action: 'vm-stop', available: true, privilege: 'VM.PowerMgmt' },
      ]),
    );
    const listed = (await stack.json('/api/servers')).body.data.find((s: { id: string }) => s.id === 'proxmox-mcp-homelab');
    expect(listed.capabilities.find((c: { action: string }) => c.action === 'vm-reboot').reason).toBe('ProxmoxMCP-Plus has no graceful reboot tool (reset_vm is a hard reset)');
    const vm = pick((g) => g.type === 'qemu' && g.status === 'running');
    stack.sim.clearRequests();
    const r = await stack.json(`/api/vms/${vm.vmid}/reboot`, { method: 'POST' });
    const c = await stack.waitCommand(r.body.data.id, ['succeeded', 'failed', 'timed_out', 'uncertain']);
    expect(c.status).toBe('failed');
    expect(c.error).toMatchObject({ code: 'unsupported' });
    expect(c.error.message).toContain('no graceful reboot tool');
    expect(stack.sim.countRequests({ method: 'POST', vmid: vm.vmid })).toBe(0);
  });

  it('with PVE_URL and PROXMOX_MCP_URL both set, lists ProxmoxMCP-Plus as a second server with its tools, and reads data through Proxmox', async () => {
    const server = await waitFor(async () => {
      const s = (await stack.json('/api/servers/proxmox-mcp-both')).body?.data;
      return s?.status === 'connected' && s.toolCount > 0 ? s : undefined;
    }, { message: 'proxmox-mcp-both connected with its tools', timeoutMs: 20_000 });
    expect(server).toMatchObject({ kind: 'proxmox-mcp', domain: 'proxmox', scope: 'both', transport: 'streamable-http', endpoint: mcp.mcpUrl, reachable: true, authenticated: true, usable: true });
    // Native MCP through the one client: the simulator (v1 SDK, like FastMCP) negotiates the 2025 generation.
    expect(server).toMatchObject({ protocolVersion: '2025-11-25', serverCapabilities: { tools: {} } });
    expect(server.tools.map((t: { name: string }) => t.name)).toEqual(mcp.toolNames());
    expect(server.tools.find((t: { name: string }) => t.name === 'start_vm').inputSchema).toMatchObject({ required: ['node', 'vmid'], properties: { vmid: { type: 'string' } } });
    expect(server.capabilities).toEqual([{ action: 'tool-call', available: true }]);
    const pve = (await stack.json('/api/servers/pve-both')).body.data;
    expect(pve).toMatchObject({ kind: 'proxmox-ve', transport: 'https' });
    expect(pve.capabilities.find((c: { action: string }) => c.action === 'vm-reboot').available).toBe(true);
    await waitFor(async () => (await stack.json('/api/vms?cluster=both')).body.data?.length === stack.sim.guests().length, { message: 'cluster "both" listed' });
    const both = (await stack.json('/api/vms?cluster=both')).body.data;
    expect(both.every((g: { imprecise?: string[] }) => g.imprecise === undefined)).toBe(true);
  });

  it('calls get_cluster_status through POST /api/servers/{id}/tools/{name}/call and returns its text as the result', async () => {
    await waitFor(async () => (await stack.json('/api/servers/proxmox-mcp-both')).body?.data?.status === 'connected', { message: 'connected' });
    const before = mcp.counters.mcp.get_cluster_status ?? 0;
    const r = await stack.json('/api/servers/proxmox-mcp-both/tools/get_cluster_status/call', { method: 'POST', body: JSON.stringify({ arguments: {} }) });
    expect(r.status).toBe(202);
    const c = await stack.waitCommand(r.body.data.id, ['succeeded', 'failed', 'timed_out', 'uncertain']);
    expect(c.status).toBe('succeeded');
    expect(c.result).toEqual({ content: [{ type: 'text', text: '[config] Proxmox Cluster\n\n  - Name: homelab\n  - Quorum: OK\n  - Nodes: 3' }], isError: false });
    expect(mcp.counters.mcp.get_cluster_status).toBe(before + 1);

    // A tool's error is the command's failure, with the tool's words and its result kept.
    const bad = await stack.json('/api/servers/proxmox-mcp-both/tools/stop_vm/call', { method: 'POST', body: JSON.stringify({ arguments: { node: 'pve1', vmid: '4242' } }) });
    const failed = await stack.waitCommand(bad.body.data.id, ['succeeded', 'failed', 'timed_out', 'uncertain']);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'tool_error', message: 'Error executing tool stop_vm: VM 4242 not found on node pve1' });
    expect(failed.result).toMatchObject({ isError: true });

    // The same through the REST bridge of the driver's server.
    const rest = await stack.json('/api/servers/proxmox-mcp-homelab/tools/get_cluster_status/call', { method: 'POST', body: JSON.stringify({ arguments: {} }) });
    const viaRest = await stack.waitCommand(rest.body.data.id, ['succeeded', 'failed', 'timed_out', 'uncertain']);
    expect(viaRest.result).toEqual(c.result);

    // Arguments that do not match the schema are refused before anything is queued.
    const invalid = await stack.json('/api/servers/proxmox-mcp-both/tools/start_vm/call', { method: 'POST', body: JSON.stringify({ arguments: { node: 'pve1', vmid: 101 } }) });
    expect(invalid.status).toBe(400);
  });
});
