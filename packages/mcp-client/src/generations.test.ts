import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVERYTHING_BIN, listToolsDirectly, startEverything, testLogger, waitFor } from '@molten/testkit';
import { MODERN_STDIO_BIN, startModernMcpServer, type ModernMcpServer } from '@molten/testkit/mcp-modern';
import { McpConnection, type McpConnectionOptions } from './connection.js';
import { validateToolArguments } from './tool-arguments.js';

/**
 * One client, both MCP generations: a server built with @modelcontextprotocol/server v2
 * (2026-07-28, stateless, refusing the older handshake) and the real
 * @modelcontextprotocol/server-everything (2025-11-25), over Streamable HTTP, stdio and the
 * legacy SSE transport. Each connection says which version it negotiated and lists the tools
 * with their titles and annotations.
 */
describe('McpConnection against servers of both protocol generations', () => {
  const servers: { stop(): Promise<void> }[] = [];
  const conns: McpConnection[] = [];
  let everything: Awaited<ReturnType<typeof startEverything>>;
  let everythingSse: Awaited<ReturnType<typeof startEverything>>;
  let modern: ModernMcpServer;

  beforeAll(async () => {
    [everything, everythingSse, modern] = await Promise.all([startEverything('streamableHttp'), startEverything('sse'), startModernMcpServer()]);
    servers.push(everything, everythingSse, { stop: () => modern.close() });
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  const open = (name: string, endpoint: McpConnectionOptions['endpoint'], o: Partial<McpConnectionOptions> = {}) => {
    const conn = new McpConnection({ name, endpoint, log: testLogger('mcp'), pingIntervalMs: 500, reconnect: { initialMs: 100, maxMs: 500 }, ...o });
    conns.push(conn);
    conn.start();
    return conn;
  };
  const connected = (conn: McpConnection) =>
    waitFor(() => conn.health.status === 'connected', { timeoutMs: 15_000, message: `connected (now ${conn.health.status}: ${conn.health.reason})` });
  const annotationsOf = (conn: McpConnection) => Object.fromEntries(conn.tools.map((t) => [t.name, { title: t.title, annotations: t.annotations }]));

  const MODERN_CATALOG = {
    get_status: { title: 'Service status', annotations: { readOnlyHint: true, openWorldHint: false } },
    delete_volume: { title: 'Delete a volume', annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false } },
    echo: { title: undefined, annotations: undefined },
  };

  it('2026-07-28 over Streamable HTTP (a v2 server that refuses the 2025 handshake): negotiated, listed with annotations, called, and told of a new tool', async () => {
    const conn = open('modern', { url: modern.url });
    await connected(conn);
    expect(conn.transport).toBe('streamable-http');
    expect(conn.health).toMatchObject({
      protocolVersion: '2026-07-28',
      protocolEra: 'modern',
      server: { name: 'molten-modern-fixture', version: '2.4.0' },
      serverCapabilities: { tools: { listChanged: true } },
    });
    expect(conn.health.reason).toBe('connected over streamable-http (MCP 2026-07-28)');
    expect(annotationsOf(conn)).toEqual(MODERN_CATALOG);
    expect(conn.tools).toEqual(await listToolsDirectly(modern.url));
    // The server never saw a 2025 initialize: it would have answered it with 400.
    expect(modern.requests.filter((r) => r.mcpMethod === 'initialize')).toEqual([]);
    expect(await conn.callTool('get_status', { service: 'dns' })).toMatchObject({ content: [{ type: 'text', text: 'dns: running' }] });
    // The 2026-07-28 generation has no ping: health is measured with server/discover.
    await waitFor(() => conn.health.latencyMs !== undefined, { message: 'a liveness request answered' });
    expect(modern.requests.filter((r) => r.mcpMethod === 'ping')).toEqual([]);
    // list_changed arrives on the subscriptions/listen stream this generation uses.
    modern.addTool('prune_images', { title: 'Prune images', description: 'Removes unused images', annotations: { destructiveHint: true }, answer: () => 'pruned' });
    await waitFor(() => conn.tool('prune_images'), { timeoutMs: 5_000, message: 'the new tool is listed' });
    expect(conn.tool('prune_images')).toMatchObject({ title: 'Prune images', annotations: { destructiveHint: true } });
  });

  it('2026-07-28 over stdio (a v2 server started as a child process)', async () => {
    const conn = open('modern-stdio', { command: process.execPath, args: ['--import', 'tsx', MODERN_STDIO_BIN] });
    await connected(conn);
    expect(conn.transport).toBe('stdio');
    expect(conn.health).toMatchObject({ protocolVersion: '2026-07-28', protocolEra: 'modern', serverCapabilities: { tools: { listChanged: true } } });
    expect(annotationsOf(conn)).toEqual(MODERN_CATALOG);
    expect(await conn.callTool('delete_volume', { service: 'cache' })).toMatchObject({ content: [{ type: 'text', text: 'deleted cache' }] });
  });

  it('2025-11-25 over Streamable HTTP (server-everything): the same tools as a plain SDK client, with their annotations, and echo answers', async () => {
    const conn = open('everything', { url: everything.url });
    await connected(conn);
    expect(conn.transport).toBe('streamable-http');
    expect(conn.health).toMatchObject({ protocolVersion: '2025-11-25', protocolEra: 'legacy', server: { name: 'mcp-servers/everything' } });
    expect(conn.health.serverCapabilities).toMatchObject({ tools: { listChanged: true }, resources: { subscribe: true }, prompts: {}, logging: {} });
    expect(conn.tools).toEqual(await listToolsDirectly(everything.url));
    expect(conn.tool('echo')).toMatchObject({ title: 'Echo Tool', annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } });
    expect(await conn.callTool('echo', { message: 'hi' })).toEqual({ content: [{ type: 'text', text: 'Echo: hi' }] });
    // Its draft-07 schemas are what validateToolArguments checks before a call is queued.
    expect(validateToolArguments(conn.tool('echo')!.inputSchema, { messag: 'hi' })).toEqual({ ok: false, errors: [{ path: 'message', message: 'is required' }] });
  });

  it('2025-11-25 at an SSE URL: Streamable HTTP gets a 4xx and the connection falls back to the legacy SSE transport', async () => {
    const conn = open('everything-sse', { url: everythingSse.url });
    await connected(conn);
    expect(conn.transport).toBe('sse');
    expect(conn.health).toMatchObject({ protocolVersion: '2025-11-25', protocolEra: 'legacy' });
    expect(conn.tools).toEqual(await listToolsDirectly(everythingSse.url, { sse: true }));
    expect(conn.tool('echo')?.annotations).toMatchObject({ readOnlyHint: true });
    expect(await conn.callTool('echo', { message: 'over sse' })).toEqual({ content: [{ type: 'text', text: 'Echo: over sse' }] });
  });

  it('2025-11-25 over stdio (server-everything as a child process)', async () => {
    const conn = open('everything-stdio', { command: process.execPath, args: [EVERYTHING_BIN, 'stdio'] });
    await connected(conn);
    expect(conn.transport).toBe('stdio');
    expect(conn.endpoint).toMatch(/^stdio:.*node.* .*server-everything\/dist\/index\.js stdio$/);
    expect(conn.health).toMatchObject({ protocolVersion: '2025-11-25', protocolEra: 'legacy' });
    expect(conn.tool('get-sum')).toMatchObject({ title: expect.any(String), annotations: { readOnlyHint: true } });
    expect(await conn.callTool('get-sum', { a: 2, b: 3 })).toMatchObject({ content: [{ type: 'text', text: expect.stringContaining('5') }] });
  });

  it('pinned to the 2025 handshake, a server that speaks only 2026-07-28 is down, saying so and what to change', async () => {
    const conn = open('modern-pinned-legacy', { url: modern.url }, { versionNegotiation: 'legacy' });
    const h = await waitFor(() => (conn.health.status === 'down' ? conn.health : undefined));
    expect(h.reason).toBe(`${modern.url} does not speak MCP 2025-11-25; it supports 2026-07-28`);
    expect(h.remedy).toContain('let Molten negotiate the version for "modern-pinned-legacy"');
    expect(h.reachable).toBe(true);
    // Not mistaken for an SSE server: a version refusal is no reason to try the other transport
    // (whose first request would be a GET for its event stream).
    expect(modern.requests.filter((r) => r.method === 'GET')).toEqual([]);
  });

  it('over stdio: a command that does not exist is down with a reason and a remedy', async () => {
    const conn = open('missing', { command: 'molten-no-such-mcp-server' });
    const h = await waitFor(() => (conn.health.status === 'down' ? conn.health : undefined));
    expect(h.reason).toContain('could not be started (not found)');
    expect(h.remedy).toContain('Check "command" for "missing"');
  });
});
