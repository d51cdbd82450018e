import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { waitFor } from '@molten/testkit';
import { startHomelabMcpSimulator, type HomelabMcpSimulator } from './index.js';

const sims: HomelabMcpSimulator[] = [];
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function sim(opts: Parameters<typeof startHomelabMcpSimulator>[0] = {}) {
  const s = await startHomelabMcpSimulator(opts);
  sims.push(s);
  return s;
}

async function connect(url: string, opts: { token?: string; sse?: boolean } = {}) {
  const client = new Client({ name: 'test', version: '1' });
  clients.push(client);
  const requestInit = opts.token ? { headers: { Authorization: `Bearer ${opts.token}` } } : undefined;
  await client.connect(opts.sse ? new SSEClientTransport(new URL(url), { requestInit }) : new StreamableHTTPClientTransport(new URL(url), { requestInit }));
  return client;
}

const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('homelab MCP simulator', () => {
  it('lists Docker-style tools with real JSON Schemas and annotations', async () => {
    const s = await sim();
    const client = await connect(s.url);
    expect(client.getServerVersion()).toMatchObject({ name: 'homelab-mcp' });
    expect(client.getServerCapabilities()?.tools?.listChanged).toBe(true);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['list_containers', 'start_container', 'stop_container', 'restart_container', 'container_logs', 'network_scan']);
    const logs = tools.find((t) => t.name === 'container_logs')!;
    expect(logs.inputSchema).toMatchObject({ type: 'object', required: ['container'], properties: { tail: { type: 'integer', default: 50, maximum: 1000 } }, additionalProperties: false });
    expect(tools.find((t) => t.name === 'list_containers')!.annotations?.readOnlyHint).toBe(true);
    expect(tools.find((t) => t.name === 'restart_container')!.annotations).toMatchObject({ readOnlyHint: false, idempotentHint: false });
  });

  it('backs the tools with one model: a stop shows in the listing, the log and the network scan', async () => {
    const s = await sim();
    const client = await connect(s.url);
    // callTool also checks structuredContent against the listed outputSchema.
    const before = (await client.callTool({ name: 'list_containers', arguments: { state: 'running' } })) as CallToolResult;
    const names = (before.structuredContent as { containers: { name: string }[] }).containers.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['traefik', 'grafana', 'prometheus', 'jellyfin', 'vaultwarden', 'uptime-kuma']));
    expect(text(before)).toMatch(/^CONTAINER ID\s+NAME\s+IMAGE/);

    const scanBefore = (await client.callTool({ name: 'network_scan', arguments: {} })) as CallToolResult;
    const dockerHost = (r: CallToolResult) => (r.structuredContent as { hosts: { ip: string; open_ports: { port: number }[] }[] }).hosts.find((h) => h.ip === '192.168.1.10')!;
    expect(dockerHost(scanBefore).open_ports.map((p) => p.port)).toContain(3000);

    const stopped = (await client.callTool({ name: 'stop_container', arguments: { container: 'grafana' } })) as CallToolResult;
    expect(stopped.isError).toBeFalsy();
    expect(text(stopped)).toMatch(/^Stopped grafana \([0-9a-f]{12}\)$/);

    const after = (await client.callTool({ name: 'list_containers', arguments: { state: 'running' } })) as CallToolResult;
    expect((after.structuredContent as { containers: { name: string }[] }).containers.map((c) => c.name)).not.toContain('grafana');
    const exited = (await client.callTool({ name: 'list_containers', arguments: { name: 'grafana' } })) as CallToolResult;
    expect((exited.structuredContent as { containers: { state: string; status: string }[] }).containers[0]).toMatchObject({ state: 'exited', status: expect.stringMatching(/^Exited \(0\) /) });

    const logs = (await client.callTool({ name: 'container_logs', arguments: { container: 'grafana', tail: 2 } })) as CallToolResult;
    expect(text(logs).split('\n')).toHaveLength(2);
    expect(text(logs)).toContain('Stopped HTTP server');

    const scanAfter = (await client.callTool({ name: 'network_scan', arguments: { subnet: '192.168.1.0/24', ports: [22, 3000, 9090] } })) as CallToolResult;
    expect(dockerHost(scanAfter).open_ports.map((p) => p.port)).toEqual([22, 9090]);
    expect(s.model.get('grafana').state).toBe('exited');
  });

  it("answers bad arguments and unknown containers with isError results, in the SDK's and Docker's words", async () => {
    const s = await sim();
    const client = await connect(s.url);
    const bad = (await client.callTool({ name: 'container_logs', arguments: { container: 'grafana', tail: 0 } })) as CallToolResult;
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/^MCP error -32602: Input validation error: Invalid arguments for tool container_logs: .* at tail/);
    const missing = (await client.callTool({ name: 'start_container', arguments: { container: 'nope' } })) as CallToolResult;
    expect(missing).toMatchObject({ isError: true, content: [{ type: 'text', text: 'Error response from daemon: No such container: nope' }] });
    const paused = (await client.callTool({ name: 'start_container', arguments: { container: 'redis' } })) as CallToolResult;
    expect(text(paused)).toContain('cannot start a paused container');
    expect(s.counters.toolCalls).toEqual({ container_logs: 1, start_container: 2 });
    const scan = (await client.callTool({ name: 'network_scan', arguments: { subnet: '10.0.0.0/8' } })) as CallToolResult;
    expect(text(scan)).toContain('at most a /16');
  });

  it('requires the bearer token when one is set, and can change it at run time', async () => {
    const s = await sim({ token: 'sim-token-123456' });
    await expect(connect(s.url)).rejects.toMatchObject({ code: 401 });
    await expect(connect(s.url, { token: 'wrong-token-99999' })).rejects.toMatchObject({ code: 401 });
    expect(s.counters.unauthorized).toBe(2);
    const client = await connect(s.url, { token: 'sim-token-123456' });
    await client.ping();
    s.setToken('rotated-token-7777');
    await expect(client.ping()).rejects.toMatchObject({ code: 401 });
  });

  it('tells connected clients when a tool is added at run time, and the tool works', async () => {
    const s = await sim();
    const client = await connect(s.url);
    let notified = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => void notified++);
    // The standalone GET stream (which carries the notification) opens just after the handshake.
    await waitFor(() => s.requests.some((r) => r.method === 'GET' && r.status === 200), { message: 'event stream open' });
    s.addTool('prune_images', {
      description: 'Removes unused images',
      inputSchema: z.object({ dangling_only: z.boolean().default(true) }).strict(),
      handler: (args: { dangling_only: boolean }) => `Deleted 3 images (dangling only: ${args.dangling_only})`,
    });
    await waitFor(() => notified > 0, { message: 'list_changed received' });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('prune_images');
    expect(text((await client.callTool({ name: 'prune_images', arguments: {} })) as CallToolResult)).toBe('Deleted 3 images (dangling only: true)');
  });

  it('stops like a crash and comes back on the same port', async () => {
    const s = await sim();
    const port = s.port;
    const client = await connect(s.url);
    await s.stop();
    await expect(client.ping()).rejects.toThrow();
    await expect(connect(s.url)).rejects.toThrow();
    await s.start();
    expect(s.port).toBe(port);
    // The old session is gone, as after a real restart.
    await expect(client.ping()).rejects.toThrow(/404|Session not found/);
    await (await connect(s.url)).ping();
  });

  it('rate-limits like ProxmoxMCP-Plus, with a Retry-After', async () => {
    const s = await sim({ rateLimitRpm: 4, rateLimitWindowMs: 5_000 });
    const client = await connect(s.url); // initialize, initialized, GET stream: 3 requests
    await client.ping();
    await expect(client.ping()).rejects.toMatchObject({ code: 429 });
    const limited = s.requests.find((r) => r.status === 429)!;
    expect(limited.retryAfterS).toBeGreaterThanOrEqual(1);
    expect(limited.retryAfterS).toBeLessThanOrEqual(5);
    const res = await fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ status: 'rate_limited', message: 'Too many requests', limit_per_minute: 4 });
  });

  it('serves the legacy SSE transport and paginates tools/list when asked to', async () => {
    const s = await sim({ legacySse: true, toolsPageSize: 4 });
    const client = await connect(s.sseUrl, { sse: true });
    const first = await client.listTools();
    expect(first.tools).toHaveLength(4);
    expect(first.nextCursor).toBeTruthy();
    const second = await client.listTools({ cursor: first.nextCursor });
    expect(second.tools.map((t) => t.name)).toEqual(['container_logs', 'network_scan']);
    expect(second.nextCursor).toBeUndefined();
  });
});
