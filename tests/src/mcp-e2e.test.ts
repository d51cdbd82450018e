import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig as loadApiConfig } from '@molten/api/config';
import { startApi, type RunningApi } from '@molten/api';
import { loadConfig as loadHomelabConfig, startHomelabAdapter, type HomelabAdapter } from '@molten/homelab-adapter';
import { startHomelabMcpSimulator, type HomelabMcpSimulator } from '@molten/simulators/homelab-mcp';
import { NatsServer, listToolsDirectly, startEverything, testLogger, waitFor } from '@molten/testkit';
import { startModernMcpServer, type ModernMcpServer } from '@molten/testkit/mcp-modern';
import { OPERATOR } from './stack.js';

/**
 * Issue 4's checks through the api: the MCP servers an operator configures (the real
 * server-everything from npm in Streamable HTTP and SSE modes, a @modelcontextprotocol/server v2
 * server of the 2026-07-28 generation, the homelab simulator with a token, one with a wrong
 * token), as /api/servers shows them and as tool calls run.
 */
describe('MCP servers through the api', { timeout: 60_000 }, () => {
  let nats: NatsServer;
  let api: RunningApi;
  let adapter: HomelabAdapter;
  let http: Awaited<ReturnType<typeof startEverything>>;
  let sse: Awaited<ReturnType<typeof startEverything>>;
  let homelab: HomelabMcpSimulator;
  let locked: HomelabMcpSimulator;
  let modern: ModernMcpServer;
  let dir: string;

  const json = async (p: string, init: RequestInit = {}) => {
    const res = await fetch(`${api.url}${p}`, { ...init, headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json', ...init.headers } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const server = async (id: string) => (await json(`/api/servers/${id}`)).body.data;
  const waitCommand = (id: string) =>
    waitFor(async () => {
      const c = (await json(`/api/commands/${id}`)).body.data;
      return ['succeeded', 'failed', 'timed_out'].includes(c?.status) ? c : undefined;
    }, { timeoutMs: 20_000, message: `command ${id} ends` });

  beforeAll(async () => {
    nats = await NatsServer.start();
    [http, sse, modern] = await Promise.all([startEverything('streamableHttp'), startEverything('sse'), startModernMcpServer()]);
    homelab = await startHomelabMcpSimulator({ token: 'homelab-secret-token-0001' });
    locked = await startHomelabMcpSimulator({ token: 'the-right-token-000000001' });
    dir = mkdtempSync(path.join(os.tmpdir(), 'molten-mcp-e2e-'));
    const configFile = path.join(dir, 'molten.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        mcpServers: {
          everything: { url: http.url },
          'everything-sse': { url: sse.url },
          docker: { url: homelab.url, headers: { Authorization: 'Bearer homelab-secret-token-0001' } },
          locked: { url: locked.url, headers: { Authorization: 'Bearer a-wrong-token-000000000' } },
          modern: { url: modern.url },
        },
        mcpServerOptions: { everything: { pingMs: 500 }, 'everything-sse': { pingMs: 500 }, docker: { pingMs: 500 }, locked: { pingMs: 500 }, modern: { pingMs: 500 } },
      }),
    );
    const env = { NATS_URL: nats.url, MOLTEN_CONFIG: configFile, MOLTEN_HEARTBEAT_MS: '300', MOLTEN_INSTANCE: 'mcp-e2e', MOLTEN_TOKEN: OPERATOR, MOLTEN_PORT: '0', MOLTEN_GRPC_PORT: '0', MOLTEN_DATA_DIR: dir };
    adapter = await startHomelabAdapter(loadHomelabConfig(env), testLogger('homelab-adapter'), { reconnect: { initialMs: 200, maxMs: 1_000 } });
    api = await startApi(loadApiConfig(env), testLogger('api'));
    await waitFor(async () => (await json('/api/servers')).body.data?.filter((s: { status: string }) => s.status !== 'connecting').length === 5, {
      timeoutMs: 30_000,
      message: 'five servers reported',
    });
  });
  afterAll(async () => {
    await api?.stop();
    await adapter?.stop();
    await Promise.all([http?.stop(), sse?.stop(), homelab?.close(), locked?.close(), modern?.close()]);
    await nats?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['mcp-everything', () => http.url, false, 'streamable-http'],
    ['mcp-everything-sse', () => sse.url, true, 'sse'],
  ])('lists the same tools as an SDK client does, for %s', async (id, url, isSse, transport) => {
    const direct = await listToolsDirectly(url(), { sse: isSse });
    const s = await waitFor(async () => {
      const x = await server(id);
      return x?.status === 'connected' && x.toolCount === direct.length ? x : undefined;
    }, { message: `${id} connected with every tool` });
    expect(s.transport).toBe(transport);
    expect(s.kind).toBe('mcp');
    expect(s.reachable && s.authenticated && s.usable).toBe(true);
    expect(s.tools.map((t: { name: string }) => t.name).sort()).toEqual(direct.map((t) => t.name).sort());
    const echo = s.tools.find((t: { name: string }) => t.name === 'echo');
    expect(echo.inputSchema).toEqual(JSON.parse(JSON.stringify(direct.find((t) => t.name === 'echo')!.inputSchema)));
  });

  it('shows the protocol version each server negotiated, what it offers, and its tools’ titles and annotations', async () => {
    const m = await waitFor(async () => {
      const x = await server('mcp-modern');
      return x?.status === 'connected' ? x : undefined;
    }, { message: 'the 2026-07-28 server connected' });
    expect(m).toMatchObject({ protocolVersion: '2026-07-28', serverCapabilities: { tools: { listChanged: true } }, transport: 'streamable-http', version: 'molten-modern-fixture/2.4.0' });
    const byName = Object.fromEntries(m.tools.map((t: { name: string }) => [t.name, t]));
    expect(byName.get_status).toMatchObject({ title: 'Service status', annotations: { readOnlyHint: true, openWorldHint: false } });
    expect(byName.delete_volume.annotations).toEqual({ readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false });
    expect(byName.echo.annotations).toBeUndefined();
    expect(byName.echo.title).toBeUndefined();

    const e = await server('mcp-everything');
    expect(e.protocolVersion).toBe('2025-11-25');
    expect(e.serverCapabilities).toMatchObject({ tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, logging: {} });
    expect(e.tools.find((t: { name: string }) => t.name === 'echo')).toMatchObject({ title: 'Echo Tool', annotations: { readOnlyHint: true, destructiveHint: false } });
    expect((await server('mcp-everything-sse')).protocolVersion).toBe('2025-11-25');

    const r = await json('/api/servers/mcp-modern/tools/get_status/call', { method: 'POST', body: JSON.stringify({ arguments: { service: 'dns' } }) });
    expect(r.status).toBe(202);
    const c = await waitCommand(r.body.data.id);
    expect(c.status).toBe('succeeded');
    expect(c.result.content).toEqual([{ type: 'text', text: 'dns: running' }]);
  });

  it('returns echo’s answer as the command’s result', async () => {
    const r = await json('/api/servers/mcp-everything/tools/echo/call', { method: 'POST', body: JSON.stringify({ arguments: { message: 'hello from molten' } }) });
    expect(r.status).toBe(202);
    const c = await waitCommand(r.body.data.id);
    expect(c.status).toBe('succeeded');
    expect(c.result.isError).toBe(false);
    expect(c.result.content).toEqual([{ type: 'text', text: 'Echo: hello from molten' }]);
  });

  it('answers 400 naming the field when the arguments do not match the schema, before any call', async () => {
    const r = await json('/api/servers/mcp-everything/tools/echo/call', { method: 'POST', body: JSON.stringify({ arguments: { message: 42 } }) });
    expect(r.status).toBe(400);
    expect(r.body.error.details.field).toBe('arguments.message');
    expect((await json('/api/servers/mcp-everything/tools/nope/call', { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('shows a tool added at run time', async () => {
    homelab.addTool('prune_images', { description: 'Remove dangling images', inputSchema: { type: 'object', properties: {} }, handler: () => 'pruned 0 images' });
    const s = await waitFor(async () => {
      const x = await server('mcp-docker');
      return x?.tools.some((t: { name: string }) => t.name === 'prune_images') ? x : undefined;
    }, { timeoutMs: 3_000, message: 'the new tool appears' });
    expect(s.toolCount).toBe(s.tools.length);
  });

  it('reports a wrong token as auth failed, not down', async () => {
    const s = await waitFor(async () => {
      const x = await server('mcp-locked');
      return x?.status === 'auth_failed' ? x : undefined;
    });
    expect(s.reachable).toBe(true);
    expect(s.authenticated).toBe(false);
    expect(s.statusReason).toMatch(/401|unauthori[sz]ed|token/i);
    expect(JSON.stringify(s)).not.toContain('a-wrong-token');
  });

  it('marks a stopped server down within 10 s, and restores its tools when it is back', async () => {
    const before = (await server('mcp-docker')).toolCount;
    await homelab.stop();
    const stoppedAt = Date.now();
    const down = await waitFor(async () => {
      const x = await server('mcp-docker');
      return x?.status === 'down' ? x : undefined;
    }, { timeoutMs: 10_000, message: 'down within 10 s' });
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(down.remedy).toBeTruthy();
    // Its last known tools stay listed while it is down.
    expect(down.toolCount).toBe(before);
    const r = await json('/api/servers/mcp-docker/tools/list_containers/call', { method: 'POST', body: '{}' });
    expect(r.status).toBe(503);
    await homelab.start();
    await waitFor(async () => {
      const x = await server('mcp-docker');
      return x?.status === 'connected' && x.toolCount === before;
    }, { timeoutMs: 15_000, message: 'connected again with its tools' });
  });
});
