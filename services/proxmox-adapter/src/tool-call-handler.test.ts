import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '@molten/bus';
import { CommandStatus, type Command } from '@molten/contracts';
import { startProxmoxMcpSimulator, type ProxmoxMcpSimulator } from '@molten/simulators/proxmox-mcp';
import { DEMO_TOKEN, startPveSimulator, type PveSimulator } from '@molten/simulators/pve';
import { testLogger } from '@molten/testkit';
import type { ProxmoxMcpClient } from './proxmox-mcp/client.js';
import { connectProxmoxMcp } from './proxmox-mcp/connect.js';
import { ToolCallHandler, dispatchByAction, isReadOnlyTool } from './tool-call-handler.js';

/**
 * The tool-call handler against the ProxmoxMCP-Plus simulator, with the command context the
 * worker would give it (what it records is captured here instead of on the bus).
 */
const KEY = 'rest-key-0123456789';
const log = testLogger('tool-call');
let pve: PveSimulator;
let sim: ProxmoxMcpSimulator;
let client: ProxmoxMcpClient;

beforeAll(async () => {
  pve = await startPveSimulator({ loadIntervalMs: 0 });
  sim = await startProxmoxMcpSimulator({ pve: { url: pve.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, ca: pve.ca }, apiKey: KEY, mcpPort: false });
  client = await connectProxmoxMcp({ url: sim.restUrl, apiKey: KEY, log });
  client.start();
  await client.whenReady(10_000);
});
afterAll(async () => {
  await client?.close();
  await sim?.close();
  await pve?.close();
});

function ctx(tool: string, args: unknown, o: { serverId?: string; action?: string; deadlineMs?: number } = {}) {
  const calls: string[] = [];
  const command: Command = {
    id: '01TEST',
    correlationId: '01TEST',
    domain: 'proxmox',
    scope: 'homelab',
    action: o.action ?? 'tool-call',
    createdAtMs: Date.now(),
    acceptByMs: Date.now() + 5_000,
    deadlineMs: o.deadlineMs ?? Date.now() + 20_000,
    idempotencyKey: '', reason: '',
    payload: { $case: 'toolCall', value: { serverId: o.serverId ?? 'proxmox-mcp-homelab', tool, argumentsJson: JSON.stringify(args) } },
  };
  const c: CommandContext = {
    command,
    record: { command, status: CommandStatus.COMMAND_STATUS_ACCEPTED, transitions: [], upstreamTaskId: '', upstreamCallAtMs: 0, resultJson: '', updatedAtMs: Date.now() },
    signal: new AbortController().signal,
    log,
    beforeUpstreamCall: async () => void calls.push('beforeUpstreamCall'),
    running: async (taskId) => void calls.push(`running:${taskId}`),
    progress: async () => {},
  };
  return { c, calls };
}

describe('tool-call handler', () => {
  const handler = () => new ToolCallHandler({ client, serverId: 'proxmox-mcp-homelab', name: 'ProxmoxMCP-Plus (homelab)' });

  it('calls the tool, records the call first, and gives the result in the homelab-adapter\'s shape', async () => {
    const { c, calls } = ctx('get_cluster_status', {});
    const out = await handler().execute(c);
    expect(out.status).toBe('succeeded');
    expect(JSON.parse(out.resultJson!)).toEqual({ content: [{ type: 'text', text: '[config] Proxmox Cluster\n\n  - Name: homelab\n  - Quorum: OK\n  - Nodes: 3' }], isError: false });
    expect(calls).toEqual(['beforeUpstreamCall', 'running:']);
  });

  it('ends an isError answer failed with tool_error and the tool\'s words', async () => {
    const { c } = ctx('stop_vm', { node: 'pve1', vmid: '4242' });
    const out = await handler().execute(c);
    expect(out).toMatchObject({ status: 'failed', error: { code: 'tool_error', message: 'Error executing tool stop_vm: VM 4242 not found on node pve1' } });
    expect(JSON.parse(out.resultJson!)).toMatchObject({ isError: true });
  });

  it('sends nothing when the arguments do not match the schema, or the tool or server is not this one', async () => {
    const before = sim.counters.rest.start_vm ?? 0;
    const { c, calls } = ctx('start_vm', { node: 'pve1', vmid: 101 });
    const out = await handler().execute(c);
    expect(out).toMatchObject({ status: 'failed', error: { code: 'invalid', fields: { vmid: expect.any(String) } } });
    expect(calls).toEqual([]);
    expect(sim.counters.rest.start_vm ?? 0).toBe(before);
    expect((await handler().execute(ctx('reboot_vm', {}).c)).error?.code).toBe('not_found');
    expect((await handler().execute(ctx('get_vms', {}, { serverId: 'pve-homelab' }).c)).error?.code).toBe('invalid');
  });

  it('on resume calls a read-only tool again, and leaves a changing one uncertain', async () => {
    expect(isReadOnlyTool('get_vms') && isReadOnlyTool('list_jobs') && isReadOnlyTool('poll_job')).toBe(true);
    expect(isReadOnlyTool('start_vm') || isReadOnlyTool('stop_container')).toBe(false);
    expect((await handler().resume(ctx('get_storage', {}).c)).status).toBe('succeeded');
    const before = sim.counters.rest.stop_vm ?? 0;
    const out = await handler().resume(ctx('stop_vm', { node: 'pve1', vmid: '101' }).c);
    expect(out).toMatchObject({ status: 'uncertain', error: { code: 'connection_lost' } });
    expect(sim.counters.rest.stop_vm ?? 0).toBe(before);
  });

  it('is reached by tool-call commands only; without a ProxmoxMCP-Plus server they fail clearly', async () => {
    const power = { execute: async () => ({ status: 'succeeded' as const, message: 'power' }), resume: async () => ({ status: 'succeeded' as const, message: 'power' }) };
    const both = dispatchByAction({ power, toolCalls: handler() });
    expect((await both.execute(ctx('get_cluster_status', {}).c)).message).toMatch(/get_cluster_status on/);
    expect((await both.execute(ctx('x', {}, { action: 'vm-stop' }).c)).message).toBe('power');
    const none = dispatchByAction({ power, toolCalls: undefined });
    expect(await none.execute(ctx('get_vms', {}).c)).toMatchObject({ status: 'failed', error: { code: 'unsupported', message: expect.stringMatching(/PROXMOX_MCP_URL/) } });
  });
});
