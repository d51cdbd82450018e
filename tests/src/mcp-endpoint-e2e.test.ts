import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadConfig as loadHomelabConfig, startHomelabAdapter, type HomelabAdapter } from '@molten/homelab-adapter';
import type { GuestView } from '@molten/simulators/pve';
import { waitFor, testLogger } from '@molten/testkit';
import { startModernMcpServer, type ModernMcpServer } from '@molten/testkit/mcp-modern';
import { VIEWER, guestPicker, isRunningVm, startStack, type Stack } from './stack.js';

const AGENT = 'system-test-agent-token-0123456789ab';

type Mode = 'legacy' | 'auto';

/**
 * Issue 11: Molten as the MCP endpoint for agents, tested with the MCP SDK's own client (both
 * protocol generations) against the whole stack on real components: nats-server, the api, the
 * proxmox-adapter and the PVE simulator, the homelab-adapter and a modern MCP server. The
 * simulator and the MCP server are the witnesses of what reached the homelab.
 */
describe('the MCP endpoint (POST /mcp)', () => {
  let stack: Stack;
  let modern: ModernMcpServer;
  let homelab: HomelabAdapter;
  let dir: string;
  const clients: Client[] = [];
  const picker = guestPicker();
  const take = () => picker.take(stack.sim.guests(), isRunningVm);
  /** A running VM for a call that will be denied (it changes nothing, so the VM is not used up). */
  const spare = () => picker.peek(stack.sim.guests(), isRunningVm);
  const posts = (vmid: number) => stack.sim.countRequests({ method: 'POST', vmid });
  const connect = async (mode: Mode = 'legacy', token = AGENT) => {
    const client = new Client({ name: `molten-test-${mode}`, version: '1.0.0' }, { versionNegotiation: { mode } });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.api.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    clients.push(client);
    return client;
  };
  const pending = async (vmid: number) =>
    waitFor(
      async () => {
        const list = (await stack.json('/api/approvals')).body.data as { id: string; status: string; target: { vmid?: number }; requestedBy: { actor: string; client?: string }; summary: string }[];
        return list.find((a) => a.status === 'pending' && a.target.vmid === vmid);
      },
      { message: `an approval for ${vmid}`, timeoutMs: 15_000 },
    );
  const text = (r: { content?: unknown }) => ((r.content as { type: string; text?: string }[] | undefined) ?? []).map((c) => c.text ?? '').join('\n');

  beforeAll(async () => {
    modern = await startModernMcpServer();
    dir = mkdtempSync(path.join(os.tmpdir(), 'molten-mcp-endpoint-'));
    const configFile = path.join(dir, 'molten.json');
    writeFileSync(configFile, JSON.stringify({ mcpServers: { modern: { url: modern.url } }, mcpServerOptions: { modern: { pingMs: 500 } } }));
    stack = await startStack({ env: { MOLTEN_AGENT_TOKEN: AGENT, MOLTEN_CONFIG: configFile, MOLTEN_APPROVAL_TTL_MS: '60000' } });
    homelab = await startHomelabAdapter(loadHomelabConfig({ ...stack.env, MOLTEN_INSTANCE: 'homelab-mcp-endpoint' }), testLogger('homelab-adapter'), { reconnect: { initialMs: 200, maxMs: 1_000 } });
    await waitFor(async () => {
      const r = (await stack.json('/api/vms')).body;
      const servers = (await stack.json('/api/servers')).body.data as { id: string; status: string }[];
      return r.data?.length === stack.sim.guests().length && r.meta.stale === false && servers.some((s) => s.id === 'mcp-modern' && s.status === 'connected');
    }, { message: 'guests listed live and the modern server up', timeoutMs: 30_000 });
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await homelab?.stop();
    await stack?.stop();
    await modern?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['legacy', 'auto'] as const)('lists Molten’s tools and the servers’ tools with their annotations (%s client)', async (mode) => {
    const client = await connect(mode);
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of ['list_guests', 'get_guest', 'guest_power', 'list_commands', 'get_command']) expect(byName.has(name), name).toBe(true);
    expect(byName.get('list_guests')!.annotations?.readOnlyHint).toBe(true);
    expect(byName.get('guest_power')!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(byName.get('mcp-modern__get_status')!.annotations?.readOnlyHint).toBe(true);
    expect(byName.get('mcp-modern__delete_volume')!.annotations?.destructiveHint).toBe(true);
    expect(byName.get('mcp-modern__delete_volume')!.inputSchema).toMatchObject({ type: 'object', properties: { service: { type: 'string' } } });
  });

  it('list_guests answers at once, from what the api knows', async () => {
    const client = await connect();
    const r = await client.callTool({ name: 'list_guests', arguments: { status: 'running' } });
    const guests = (r.structuredContent as { guests: { vmid: number; status: string }[] }).guests;
    const running = stack.sim.guests().filter((g) => g.status === 'running');
    expect(guests.map((g) => g.vmid).sort()).toEqual(running.map((g) => g.vmid).sort());
    expect(r.isError).toBeFalsy();
  });

  it('guest_power stop waits for approval, sends progress, and returns success once approved: exactly one POST', async () => {
    const vm = take();
    const client = await connect('auto');
    const progress: string[] = [];
    const call = client.callTool(
      { name: 'guest_power', arguments: { vmid: vm.vmid, action: 'stop', reason: 'maintenance window' } },
      { onprogress: (p) => progress.push(p.message ?? ''), resetTimeoutOnProgress: true, timeout: 60_000 },
    );
    const approval = await pending(vm.vmid);
    expect(approval.requestedBy.actor).toBe('agent');
    expect(approval.requestedBy.client).toBe('molten-test-auto');
    expect(approval.summary).toContain('hard stop');
    await waitFor(() => progress.some((m) => m.includes('approval')), { message: 'a progress notification about the approval' });
    expect(posts(vm.vmid)).toBe(0);
    expect((await stack.json(`/api/approvals/${approval.id}/approve`, { method: 'POST', body: '{"reason":"ok"}' })).status).toBe(200);
    const r = await call;
    expect(r.isError, text(r)).toBeFalsy();
    expect((r.structuredContent as { command: { status: string; actor: { kind: string } } }).command).toMatchObject({ status: 'succeeded', actor: { kind: 'agent' } });
    expect(posts(vm.vmid)).toBe(1);
    expect(stack.sim.guest(vm.vmid)!.status).toBe('stopped');
  });

  it('guest_power suspend pauses a VM once approved', async () => {
    const vm = take();
    const client = await connect();
    const call = client.callTool({ name: 'guest_power', arguments: { vmid: vm.vmid, action: 'suspend' } }, { timeout: 60_000 });
    const approval = await pending(vm.vmid);
    expect(approval.summary).toMatch(/^pause /);
    await stack.json(`/api/approvals/${approval.id}/approve`, { method: 'POST' });
    const r = await call;
    expect(r.isError, text(r)).toBeFalsy();
    expect(stack.sim.countRequests({ method: 'POST', vmid: vm.vmid, action: 'suspend' })).toBe(1);
    expect(stack.sim.guest(vm.vmid)!.qmpstatus).toBe('paused');
  });

  it('a client that went away before the decision: approved, the call still runs once and its result is kept on the command', async () => {
    const vm = take();
    const client = await connect();
    const ctl = new AbortController();
    const call = client.callTool({ name: 'guest_power', arguments: { vmid: vm.vmid, action: 'stop' } }, { timeout: 60_000, signal: ctl.signal }).catch((e: Error) => e);
    const approval = await pending(vm.vmid);
    ctl.abort();
    expect(await call).toBeInstanceOf(Error);
    await client.close();
    expect((await stack.json(`/api/approvals/${approval.id}/approve`, { method: 'POST' })).status).toBe(200);
    const done = await stack.waitCommand(approval.id, ['succeeded', 'failed', 'timed_out'], 30_000);
    expect(done.status).toBe('succeeded');
    expect(posts(vm.vmid)).toBe(1);
    // The agent can read the outcome later with get_command.
    const later = await connect();
    const r = await later.callTool({ name: 'get_command', arguments: { id: approval.id } });
    expect((r.structuredContent as { command: { status: string } }).command.status).toBe('succeeded');
  });

  it('a denied call returns who denied it and why; Proxmox sees no POST', async () => {
    const vm = spare();
    const client = await connect();
    const call = client.callTool({ name: 'guest_power', arguments: { vmid: vm.vmid, action: 'reboot' } }, { timeout: 60_000 });
    const approval = await pending(vm.vmid);
    expect((await stack.json(`/api/approvals/${approval.id}/deny`, { method: 'POST', body: '{"reason":"not during backups"}' })).status).toBe(200);
    const r = await call;
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^denied by operator: not during backups/);
    expect(posts(vm.vmid)).toBe(0);
  });

  it('a server tool marked destructive waits for approval; approved, the server runs it once and its answer comes back', async () => {
    const client = await connect();
    const before = modern.requests.filter((r) => r.mcpMethod === 'tools/call').length;
    const call = client.callTool({ name: 'mcp-modern__delete_volume', arguments: { service: 'scratch' } }, { timeout: 60_000 });
    const approval = await waitFor(
      async () => ((await stack.json('/api/approvals')).body.data as { id: string; status: string; target: { tool?: string } }[]).find((a) => a.status === 'pending' && a.target.tool === 'delete_volume'),
      { message: 'an approval for delete_volume' },
    );
    expect(modern.requests.filter((r) => r.mcpMethod === 'tools/call').length).toBe(before);
    await stack.json(`/api/approvals/${approval.id}/approve`, { method: 'POST' });
    const r = await call;
    expect(text(r)).toBe('deleted scratch');
    expect(modern.requests.filter((r) => r.mcpMethod === 'tools/call').length).toBe(before + 1);
  });

  it('a read-only server tool runs at once', async () => {
    const client = await connect();
    const r = await client.callTool({ name: 'mcp-modern__get_status', arguments: { service: 'db' } });
    expect(text(r)).toBe('db: running');
    expect(((await stack.json('/api/approvals?status=pending')).body.data as { target: { tool?: string } }[]).some((a) => a.target.tool === 'get_status')).toBe(false);
  });

  it('a new server tool is announced (tools/list_changed) and listed', async () => {
    const changed: string[] = [];
    const client = new Client(
      { name: 'molten-test-listen', version: '1.0.0' },
      { versionNegotiation: { mode: 'auto' }, listChanged: { tools: { autoRefresh: true, debounceMs: 0, onChanged: (_e, tools) => changed.push(...(tools ?? []).map((t) => t.name)) } } },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.api.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${AGENT}` } } }));
    clients.push(client);
    await client.listTools();
    modern.addTool('restart_service', { description: 'Restarts a service', annotations: { readOnlyHint: false, destructiveHint: false }, answer: (a) => `restarted ${String(a.service)}` });
    await waitFor(() => changed.includes('mcp-modern__restart_service'), { message: 'list_changed announces modern__restart_service', timeoutMs: 20_000 });
  });

  it('refuses other tokens: 401 without one, 403 for the operator and viewer tokens', async () => {
    const post = (token?: string) =>
      fetch(`${stack.api.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      });
    expect((await post()).status).toBe(401);
    expect((await post('not-a-token')).status).toBe(401);
    expect((await post(VIEWER)).status).toBe(403);
    expect((await post(stack.env.MOLTEN_TOKEN)).status).toBe(403);
  });

  it('the agent token may not decide approvals nor use the REST power routes', async () => {
    const vm = spare();
    const client = await connect();
    const call = client.callTool({ name: 'guest_power', arguments: { vmid: vm.vmid, action: 'stop' } }, { timeout: 60_000 });
    const approval = await pending(vm.vmid);
    expect((await stack.json(`/api/approvals/${approval.id}/approve`, { method: 'POST', token: AGENT })).status).toBe(403);
    expect((await stack.json(`/api/approvals/${approval.id}/approve`, { method: 'POST', token: VIEWER })).status).toBe(403);
    expect((await stack.json(`/api/vms/${vm.vmid}/stop`, { method: 'POST', token: AGENT })).status).toBe(403);
    await stack.json(`/api/approvals/${approval.id}/deny`, { method: 'POST' });
    expect((await call).isError).toBe(true);
    expect(posts(vm.vmid)).toBe(0);
  });
});

describe('the MCP endpoint: an approval nobody decides', () => {
  let stack: Stack;
  let hook: http.Server;
  const hooked: { approval: { id: string; status: string } ; url: string }[] = [];
  beforeAll(async () => {
    // A webhook receiver (MOLTEN_NOTIFY_URL): the pending approval is announced there.
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        hooked.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const notify = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    stack = await startStack({ env: { MOLTEN_AGENT_TOKEN: AGENT, MOLTEN_APPROVAL_TTL_MS: '1500', MOLTEN_NOTIFY_URL: notify, MOLTEN_PUBLIC_URL: 'https://molten.lan' } });
    await waitFor(async () => (await stack.json('/api/vms')).body.meta?.stale === false, { message: 'guests listed live', timeoutMs: 20_000 });
  });
  afterAll(async () => {
    await stack?.stop();
    await new Promise((r) => hook?.close(r));
  });

  it('returns "expired", and Proxmox sees no POST; the webhook heard of it while it waited', async () => {
    const vm = stack.sim.guests().find((x: GuestView) => x.type === 'qemu' && x.status === 'running' && !x.lock && !x.template && !x.hastate)!;
    const client = new Client({ name: 'molten-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.api.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${AGENT}` } } }));
    try {
      const r = await client.callTool({ name: 'guest_power', arguments: { vmid: vm.vmid, action: 'shutdown' } }, { timeout: 30_000 });
      expect(r.isError).toBe(true);
      expect((r.content as { text: string }[])[0]!.text).toMatch(/^expired/);
      expect(stack.sim.countRequests({ method: 'POST', vmid: vm.vmid })).toBe(0);
      const id = (r.structuredContent as { command: { id: string } }).command.id;
      expect((await stack.json(`/api/commands/${id}`)).body.data.status).toBe('expired');
      await waitFor(() => hooked.length > 0, { message: 'the webhook got the approval' });
      expect(hooked.map((h) => [h.approval.id, h.approval.status, h.url])).toEqual([[id, 'pending', `https://molten.lan/approvals?id=${id}`]]);
    } finally {
      await client.close();
    }
  });
});
