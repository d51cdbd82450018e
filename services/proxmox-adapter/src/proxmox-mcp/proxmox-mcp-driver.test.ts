import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startProxmoxMcpSimulator, type ProxmoxMcpSimulator, type ProxmoxMcpSimulatorOptions } from '@molten/simulators/proxmox-mcp';
import { DEMO_TOKEN, startPveSimulator, type GuestView, type PveSimulator } from '@molten/simulators/pve';
import { freePort, testLogger, waitFor } from '@molten/testkit';
import { UpstreamError } from '../upstream-error.js';
import type { ProxmoxMcpClient } from './client.js';
import { connectProxmoxMcp } from './connect.js';
import { NO_REBOOT_REASON, ProxmoxMcpDriver } from './proxmox-mcp-driver.js';

const KEY = 'rest-key-0123456789';
const MCP_KEY = 'mcp-key-0123456789';
const log = testLogger('proxmox-mcp-driver');
const near = (got: number, want: number) => Math.abs(got - want) <= Math.max(1, want * 0.005);

let pve: PveSimulator;
let sim: ProxmoxMcpSimulator;
const extraSims: ProxmoxMcpSimulator[] = [];
const drivers: ProxmoxMcpDriver[] = [];

beforeAll(async () => {
  pve = await startPveSimulator({ loadIntervalMs: 0, taskDurations: { start: 60, stop: 40, shutdown: 60, reboot: 60, ha: 20, haManager: 40 } });
  sim = await startProxmoxMcpSimulator({ pve: pveOf(pve), apiKey: KEY, mcpApiKey: MCP_KEY });
});
afterAll(async () => {
  await sim?.close();
  await pve?.close();
});
afterEach(async () => {
  used.clear();
  await Promise.all(drivers.splice(0).map((d) => d.close()));
  await Promise.all(extraSims.splice(0).map((s) => s.close()));
  pve.clearFaults();
});

function pveOf(p: PveSimulator) {
  return { url: p.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, ca: p.ca };
}

async function otherSim(o: Partial<ProxmoxMcpSimulatorOptions>) {
  const s = await startProxmoxMcpSimulator({ pve: pveOf(pve), apiKey: KEY, mcpApiKey: MCP_KEY, ...o });
  extraSims.push(s);
  return s;
}

async function driver(o: { url: string; apiKey?: string; transport?: 'auto' | 'rest-bridge' | 'mcp'; timeoutMs?: number }): Promise<ProxmoxMcpDriver> {
  const client = await connectProxmoxMcp({ ...o, log });
  client.start();
  const d = new ProxmoxMcpDriver({ client, cluster: 'homelab', log, timeoutMs: o.timeoutMs });
  drivers.push(d);
  return d;
}

const follow = (d: ProxmoxMcpDriver, taskId: string, ms = 15_000) => d.followTask(taskId, { deadlineMs: Date.now() + ms, signal: new AbortController().signal });

async function rejection(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamError);
    return err as UpstreamError;
  }
  throw new Error('expected a rejection');
}

/** A guest no other part of the same test touches; each test puts its guests back as they were. */
const used = new Set<number>();
function take(pred: (g: GuestView) => boolean, nth = 0): GuestView {
  const g = pve.guests().filter((x) => pred(x) && !x.lock && !x.template && !x.hastate && !used.has(x.vmid))[nth];
  if (!g) throw new Error('no such guest left in the demo cluster');
  used.add(g.vmid);
  return g;
}

describe.each([
  ['REST bridge', () => ({ url: sim.restUrl, apiKey: KEY }), 'rest-bridge', 0],
  ['native MCP', () => ({ url: sim.mcpUrl, apiKey: MCP_KEY }), 'streamable-http', 1],
] as const)('proxmox-mcp driver over the %s', (_name, target, transport, nth) => {
  it('reads guests, nodes, storage and cluster status as the PVE simulator has them, naming what is imprecise', async () => {
    const d = await driver(target());
    expect(d.kind).toBe('proxmox-mcp');
    const read = await d.readResources();
    expect(d.transport).toBe(transport);
    const truth = pve.guests();
    expect(read.guests.map((g) => `${g.type}/${g.vmid}`).sort()).toEqual(truth.map((g) => `${g.type}/${g.vmid}`).sort());
    for (const g of truth) {
      const r = read.guests.find((x) => x.vmid === g.vmid)!;
      expect(r).toMatchObject({ cluster: 'homelab', name: g.name, node: g.node, type: g.type, status: g.status, maxcpu: g.cpus });
      if (g.type === 'qemu') expect(r.qmpstatus).toBe(g.qmpstatus);
      expect(near(r.maxmem, g.maxmem), `${g.vmid}: ${r.maxmem} vs ${g.maxmem}`).toBe(true);
      expect(r.imprecise).toEqual(expect.arrayContaining(['disk', 'uptime', 'lock', 'tags']));
    }
    expect(read.nodes.map((n) => n.node)).toEqual([...pve.nodes]);
    expect(read.nodes.every((n) => n.status === 'online' && n.imprecise.includes('mem'))).toBe(true);
    expect(read.storage.map((s) => s.id)).toEqual(['pve1/local', 'pve1/local-lvm', 'pve1/nas-backup']);
    expect(read.storage.every((s) => s.status === 'available' && s.imprecise.includes('status'))).toBe(true);
    expect(await d.readClusterStatus()).toEqual({
      name: 'homelab',
      standalone: false,
      quorate: true,
      version: 0,
      nodes: pve.nodes.map((name) => ({ name, nodeid: 0, ip: '', online: true, local: false, level: '' })),
    });
    expect(await d.version()).toMatch(/^ProxmoxMCP-Plus \((rest-bridge|streamable-http), .+\)$/);
  });

  it('declares reboot unavailable with the reason, and start/stop/shutdown and tool calls available', async () => {
    const d = await driver(target());
    await d.client.whenReady(10_000);
    const caps = Object.fromEntries(d.capabilities().map((c) => [c.action, c]));
    expect(caps['vm-reboot']).toEqual({ action: 'vm-reboot', available: false, reason: 'ProxmoxMCP-Plus has no graceful reboot tool (reset_vm is a hard reset)', privilege: 'VM.PowerMgmt' });
    for (const a of ['vm-start', 'vm-stop', 'vm-shutdown', 'tool-call']) expect(caps[a]?.available, a).toBe(true);
    const vm = pve.guests({ type: 'qemu' }).find((g) => g.status === 'running')!;
    const e = await rejection(d.startPower({ vmid: vm.vmid, node: vm.node, type: 'qemu' }, 'reboot'));
    expect(e.code).toBe('unsupported');
    expect(e.message).toContain(NO_REBOOT_REASON);
  });

  it('stops a VM with one Proxmox task, records the job id, follows it to the end, and reads the new state', async () => {
    const d = await driver(target());
    // Each transport its own VM: the job store is shared, and findTask looks back 5 s.
    const vm = take((g) => g.type === 'qemu' && g.status === 'running' && g.qmpstatus === 'running', nth);
    const ref = { vmid: vm.vmid, node: vm.node, type: 'qemu' as const };
    pve.clearRequests();
    const since = Date.now();
    const taskId = await d.startPower(ref, 'stop');
    expect(taskId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(sim.jobs().find((j) => j.job_id === taskId)).toMatchObject({ tool_name: 'stop_vm', node: vm.node });
    expect(await follow(d, taskId)).toEqual({ result: 'ok', exitstatus: 'OK' });
    expect(pve.guest(vm.vmid)!.status).toBe('stopped');
    expect(pve.countRequests({ method: 'POST', vmid: vm.vmid })).toBe(1);
    expect(await d.readGuest(ref)).toMatchObject({ vmid: vm.vmid, status: 'stopped' });
    // Reconciling a lost answer finds the same job.
    expect(await d.findTask(ref, 'stop', since)).toBe(taskId);
    // Not a stop job for a start (the stop is within the 5 s allowed for clock skew).
    expect(await d.findTask(ref, 'start', Date.now())).toBeUndefined();
    // "already stopped": no task, a clear conflict.
    const e = await rejection(d.startPower(ref, 'stop'));
    expect(e.code).toBe('conflict');
    expect(e.message).toMatch(new RegExp(`^VM ${vm.vmid} is already stopped: ProxmoxMCP-Plus started no task`));
    expect(pve.countRequests({ method: 'POST', vmid: vm.vmid })).toBe(1);
    const started = await d.startPower(ref, 'start');
    expect((await follow(d, started)).result).toBe('ok');
  });

  it('shuts a container down with stop_container graceful, and hard-stops one with graceful=false', async () => {
    const d = await driver(target());
    const a = take((g) => g.type === 'lxc' && g.status === 'running');
    const b = take((g) => g.type === 'lxc' && g.status === 'running');
    pve.clearRequests();
    const shut = await d.startPower({ vmid: a.vmid, node: a.node, type: 'lxc' }, 'shutdown');
    const stop = await d.startPower({ vmid: b.vmid, node: b.node, type: 'lxc' }, 'stop');
    expect(await follow(d, shut)).toEqual({ result: 'ok', exitstatus: 'OK' });
    expect(await follow(d, stop)).toEqual({ result: 'ok', exitstatus: 'OK' });
    expect(pve.tasks({ vmid: a.vmid }).at(-1)).toMatchObject({ type: 'vzshutdown' });
    expect(pve.tasks({ vmid: b.vmid }).at(-1)).toMatchObject({ type: 'vzstop' });
    expect([pve.guest(a.vmid)!.status, pve.guest(b.vmid)!.status]).toEqual(['stopped', 'stopped']);
    const again = await rejection(d.startPower({ vmid: b.vmid, node: b.node, type: 'lxc' }, 'stop'));
    expect(again).toMatchObject({ code: 'conflict', message: `CT ${b.vmid}: 500 Internal Server Error: CT ${b.vmid} not running` });
    for (const g of [a, b]) await follow(d, await d.startPower({ vmid: g.vmid, node: g.node, type: 'lxc' }, 'start'));
  });

  it('ends a start of a locked VM failed with Proxmox\'s reason, classified as locked', async () => {
    const d = await driver(target());
    const vm = take((g) => g.type === 'qemu' && g.status === 'stopped');
    pve.lock(vm.vmid, 'backup');
    try {
      const taskId = await d.startPower({ vmid: vm.vmid, node: vm.node, type: 'qemu' }, 'start');
      const outcome = await follow(d, taskId);
      expect(outcome).toEqual({ result: 'failed', exitstatus: 'VM is locked (backup)' });
      expect(d.taskError(outcome.exitstatus).code).toBe('locked');
    } finally {
      pve.lock(vm.vmid, undefined);
    }
  });

  it('refuses a wrong key as an auth failure that says which variable to fix', async () => {
    const d = await driver({ ...target(), apiKey: 'wrong-key' });
    const e = await rejection(d.readResources());
    expect(e.code).toBe('auth');
    expect(e.remedy).toMatch(/PROXMOX_MCP_API_KEY/);
    expect(e.message).not.toContain('wrong-key');
  });
});

describe('proxmox-mcp driver: versions and quirks', () => {
  it('counts a "WARNINGS: n" task as done although v0.5.2 reports the job failed', async () => {
    const s = await otherSim({ warningsAsFailed: true, mcpPort: false });
    const d = await driver({ url: s.restUrl, apiKey: KEY });
    const vm = take((g) => g.type === 'qemu' && g.status === 'stopped');
    pve.failNextTask({ vmid: vm.vmid }, 'WARNINGS: 1');
    const taskId = await d.startPower({ vmid: vm.vmid, node: vm.node, type: 'qemu' }, 'start');
    expect(await follow(d, taskId)).toEqual({ result: 'ok', exitstatus: 'WARNINGS: 1' });
    expect(s.jobs().find((j) => j.job_id === taskId)).toMatchObject({ status: 'failed', last_error: 'WARNINGS: 1' });
    await follow(d, await d.startPower({ vmid: vm.vmid, node: vm.node, type: 'qemu' }, 'stop'));
  });

  it('without job tools records the UPID and follows the guest\'s state', async () => {
    const s = await otherSim({ jobs: false, restPort: false });
    const d = await driver({ url: s.mcpUrl, apiKey: MCP_KEY });
    await d.client.whenReady(10_000);
    const vm = take((g) => g.type === 'qemu' && g.status === 'stopped');
    const ref = { vmid: vm.vmid, node: vm.node, type: 'qemu' as const };
    const taskId = await d.startPower(ref, 'start');
    expect(taskId).toMatch(new RegExp(`^UPID:${vm.node}:.*:qmstart:${vm.vmid}:`));
    const outcome = await follow(d, taskId);
    expect(outcome.result).toBe('ok');
    expect(outcome.exitstatus).toMatch(/^guest is running \(read from its state/);
    expect(pve.guest(vm.vmid)!.status).toBe('running');
    expect(await d.findTask(ref, 'start', Date.now() - 60_000)).toBeUndefined();
    // Another replica, knowing only the UPID, follows it too.
    const other = await driver({ url: s.mcpUrl, apiKey: MCP_KEY });
    const stop = await d.startPower(ref, 'stop');
    expect((await follow(other, stop)).result).toBe('ok');
  });

  it('reads the emoji style of the releases before v0.4 the same way', async () => {
    const s = await otherSim({ format: 'emoji', mcpPort: false });
    const d = await driver({ url: s.restUrl, apiKey: KEY });
    const emoji = await d.readResources();
    const ascii = await (await driver({ url: sim.restUrl, apiKey: KEY })).readResources();
    const key = (g: { vmid: number; name: string; status: string; node: string }) => `${g.vmid} ${g.name} ${g.node} ${g.status}`;
    expect(emoji.guests.map(key).sort()).toEqual(ascii.guests.map(key).sort());
    expect(emoji.nodes.map((n) => n.node)).toEqual(ascii.nodes.map((n) => n.node));
  });

  it('reads a standalone node: its name as the cluster\'s, standalone and quorate', async () => {
    const single = await startPveSimulator({ standalone: true, preset: 'empty', loadIntervalMs: 0 });
    try {
      const s = await startProxmoxMcpSimulator({ pve: pveOf(single), apiKey: KEY, mcpPort: false });
      extraSims.push(s);
      const d = await driver({ url: s.restUrl, apiKey: KEY });
      expect(await d.readClusterStatus()).toMatchObject({ name: single.nodes[0], standalone: true, quorate: true });
    } finally {
      await single.close();
    }
  });
});

describe('proxmox-mcp REST bridge client', () => {
  it('lists the tools from /openapi.json with their input schemas, and reports health from /readyz', async () => {
    const client = await connectProxmoxMcp({ url: sim.restUrl, apiKey: KEY, log });
    client.start();
    try {
      expect(await client.whenReady(10_000)).toBe(true);
      expect(client.health).toMatchObject({ status: 'connected', reachable: true, authenticated: true, usable: true, version: 'MCP OpenAPI Proxy 1.0' });
      expect(client.tools.map((t) => t.name).sort()).toEqual(sim.toolNames().sort());
      expect(client.tools.find((t) => t.name === 'start_vm')!.inputSchema).toMatchObject({ type: 'object', required: ['node', 'vmid'], properties: { vmid: { type: 'string' } } });
      expect(client.tools.find((t) => t.name === 'get_vms')!.inputSchema).toEqual({ type: 'object', properties: {} });
      sim.setBridgeConnected(false);
      await waitFor(() => client.health.status === 'degraded', { timeoutMs: 15_000, message: 'degraded after /readyz 503' });
      expect(client.health.reason).toMatch(/lost its MCP server/);
    } finally {
      sim.setBridgeConnected(true);
      await client.close();
    }
  });

  it('returns a tool\'s 500 as an isError answer in either shape, and maps 422, 404 and an unreachable bridge', async () => {
    for (const errorStyle of ['documented', 'mcpo'] as const) {
      const s = await otherSim({ errorStyle, mcpPort: false });
      const client = await connectProxmoxMcp({ url: s.restUrl, apiKey: KEY, log });
      const answer = await client.call('stop_vm', { node: 'pve1', vmid: '4242' });
      expect(answer).toMatchObject({ isError: true, text: 'Error executing tool stop_vm: VM 4242 not found on node pve1' });
      expect(answer.result).toEqual({ content: [{ type: 'text', text: answer.text }], isError: true });
      const invalid = await rejection(client.call('start_vm', { node: 'pve1', vmid: 101 }));
      expect(invalid).toMatchObject({ code: 'invalid', status: 422, fields: { vmid: 'Input should be a valid string' } });
      expect(await rejection(client.call('reboot_vm', { node: 'pve1', vmid: '101' }))).toMatchObject({ code: 'unsupported', status: 404 });
      await client.close();
    }
    const port = await freePort();
    const gone = await connectProxmoxMcp({ url: `http://127.0.0.1:${port}`, apiKey: KEY, log });
    const e = await rejection(gone.call('start_vm', { node: 'pve1', vmid: '101' }, { mutating: true }));
    expect(e).toMatchObject({ code: 'unreachable', outcomeUnknown: false });
    await gone.close();
  });

  it('waits out a 429 without Retry-After and sends the refused request again', async () => {
    const s = await otherSim({ mcpPort: false, rateLimitRpm: 2, rateLimitWindowMs: 1_500 });
    const client: ProxmoxMcpClient = await connectProxmoxMcp({ url: s.restUrl, apiKey: KEY, log, timeoutMs: 20_000 });
    try {
      const answers = await Promise.all([1, 2, 3].map(() => client.call('get_cluster_status', {})));
      expect(answers.every((a) => !a.isError && a.text.startsWith('[config] Proxmox Cluster'))).toBe(true);
      expect(s.counters.rateLimited).toBeGreaterThan(0);
      expect(s.counters.rest.get_cluster_status).toBe(3);
    } finally {
      await client.close();
    }
  });
});
