import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger, waitFor } from '@molten/testkit';
import { McpConnection } from './connection.js';
import { validateToolArguments } from './tool-arguments.js';
import { EVERYTHING_BIN, listToolsDirectly, startEverything } from '@molten/testkit';

/** The real @modelcontextprotocol/server-everything, in each of its transports. */
describe('McpConnection against @modelcontextprotocol/server-everything', () => {
  const servers: { stop(): Promise<void> }[] = [];
  const conns: McpConnection[] = [];
  let http: Awaited<ReturnType<typeof startEverything>>;
  let sse: Awaited<ReturnType<typeof startEverything>>;

  beforeAll(async () => {
    [http, sse] = await Promise.all([startEverything('streamableHttp'), startEverything('sse')]);
    servers.push(http, sse);
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  const open = (name: string, endpoint: ConstructorParameters<typeof McpConnection>[0]['endpoint']) => {
    const conn = new McpConnection({ name, endpoint, log: testLogger('mcp'), pingIntervalMs: 500, reconnect: { initialMs: 100, maxMs: 500 } });
    conns.push(conn);
    conn.start();
    return conn;
  };
  const connected = (conn: McpConnection) =>
    waitFor(() => conn.health.status === 'connected', { timeoutMs: 15_000, message: `connected (now ${conn.health.status}: ${conn.health.reason})` });

  it('over Streamable HTTP: the same tools as a plain SDK client, and echo answers', async () => {
    const conn = open('everything', { url: http.url });
    await connected(conn);
    expect(conn.transport).toBe('streamable-http');
    expect(conn.health.server).toMatchObject({ name: 'mcp-servers/everything' });
    expect(conn.tools).toEqual(await listToolsDirectly(http.url));
    expect(conn.tools.map((t) => t.name)).toContain('echo');
    expect(await conn.callTool('echo', { message: 'hi' })).toEqual({ content: [{ type: 'text', text: 'Echo: hi' }] });
    // Its draft-07 schemas are what validateToolArguments checks before a call is queued.
    expect(validateToolArguments(conn.tool('echo')!.inputSchema, { messag: 'hi' })).toEqual({ ok: false, errors: [{ path: 'message', message: 'is required' }] });
  });

  it('at its SSE URL: Streamable HTTP gets a 4xx and the connection falls back to SSE', async () => {
    const conn = open('everything-sse', { url: sse.url });
    await connected(conn);
    expect(conn.transport).toBe('sse');
    expect(conn.tools).toEqual(await listToolsDirectly(sse.url, { sse: true }));
    expect(await conn.callTool('echo', { message: 'over sse' })).toEqual({ content: [{ type: 'text', text: 'Echo: over sse' }] });
  });

  it('over stdio: starts the server as a child process', async () => {
    const conn = open('everything-stdio', { command: process.execPath, args: [EVERYTHING_BIN, 'stdio'] });
    await connected(conn);
    expect(conn.transport).toBe('stdio');
    expect(conn.endpoint).toMatch(/^stdio:.*node.* .*server-everything\/dist\/index\.js stdio$/);
    expect(conn.tool('echo')).toBeDefined();
    expect(await conn.callTool('get-sum', { a: 2, b: 3 })).toMatchObject({ content: [{ type: 'text', text: expect.stringContaining('5') }] });
  });

  it('over stdio: a command that does not exist is down with a reason and a remedy', async () => {
    const conn = open('missing', { command: 'molten-no-such-mcp-server' });
    const h = await waitFor(() => (conn.health.status === 'down' ? conn.health : undefined));
    expect(h.reason).toContain('could not be started (not found)');
    expect(h.remedy).toContain('Check "command" for "missing"');
  });
});
