import { afterEach, describe, expect, it } from 'vitest';
import { ServerStatus, decodeMessage, encodeMessage, type UpstreamServer } from '@molten/contracts';
import { McpConnection } from '@molten/mcp-client';
import { freePort, testLogger, waitFor } from '@molten/testkit';
import { startModernMcpServer } from '@molten/testkit/mcp-modern';
import { describeServer, fromMcpConnection, toContractCapabilities, toContractTool, upstreamHealth, type DescribedServer, type ServerIdentity } from './server-descriptor.js';

/** The one server descriptor both adapters publish: from a live connection of either generation, or from another client. */
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

const who: ServerIdentity = { id: 'mcp-modern', name: 'modern', kind: 'mcp', domain: 'mcp', scope: 'modern', demo: false, reporter: 'replica-1' };

function connect(url: string) {
  const conn = new McpConnection({ name: 'modern', endpoint: { url }, log: testLogger('bridge'), pingIntervalMs: 200, reconnect: { initialMs: 100, maxMs: 300 } });
  closers.push(() => conn.close());
  conn.start();
  return conn;
}

/** What the api reads back from the bus: the descriptor must survive protobuf. */
const overTheBus = (s: UpstreamServer) => decodeMessage('molten.v1.UpstreamServer', encodeMessage('molten.v1.UpstreamServer', s));

describe('describeServer', () => {
  it('publishes a 2026-07-28 server with its negotiated version, capabilities, and tools with titles and annotations; when it goes down, the tools stay, stale, with when they were confirmed', async () => {
    const s = await startModernMcpServer();
    closers.push(() => s.close());
    const conn = connect(s.url);
    await waitFor(() => conn.health.status === 'connected', { message: 'connected' });
    const up = overTheBus(describeServer(fromMcpConnection(conn), who));
    expect(up).toMatchObject({
      id: 'mcp-modern',
      kind: 'mcp',
      status: ServerStatus.SERVER_STATUS_CONNECTED,
      transport: 'streamable-http',
      version: 'molten-modern-fixture/2.4.0',
      protocolVersion: '2026-07-28',
      mcpCapabilities: { tools: true, toolsListChanged: true, resources: false, prompts: false, logging: false, completions: false, other: [] },
      toolsStale: false,
      capabilities: [{ action: 'tool-call', available: true, reason: '', privilege: '' }],
    });
    expect(up.toolsConfirmedMs).toBeGreaterThan(0);
    expect(up.tools.map((t) => [t.name, t.title, t.annotations])).toEqual([
      ['get_status', 'Service status', { readOnlyHint: true, openWorldHint: false }],
      ['delete_volume', 'Delete a volume', { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false }],
      ['echo', '', undefined],
    ]);
    expect(JSON.parse(up.tools[0]!.inputSchemaJson)).toMatchObject({ type: 'object', properties: { service: { type: 'string' } } });

    await s.stop();
    await waitFor(() => conn.health.status === 'down', { message: 'down' });
    const down = overTheBus(describeServer(fromMcpConnection(conn), who));
    expect(down.status).toBe(ServerStatus.SERVER_STATUS_DOWN);
    expect(down.tools.map((t) => t.name)).toEqual(['get_status', 'delete_volume', 'echo']);
    expect(down.toolsStale).toBe(true);
    expect(down.toolsConfirmedMs).toBeGreaterThanOrEqual(up.toolsConfirmedMs!);
    expect(down.toolsConfirmedMs).toBeLessThanOrEqual(down.statusSinceMs);
    // The protocol it last spoke stays on the card.
    expect(down.protocolVersion).toBe('2026-07-28');
  });

  it('keeps the tools of the last published record, stale, when this process has not read the catalog yet', async () => {
    const port = await freePort();
    const conn = connect(`http://127.0.0.1:${port}/mcp`);
    await waitFor(() => conn.health.status === 'down', { message: 'down' });
    const previous = describeServer(
      { ...fromMcpConnection(conn), toolsKnown: true, tools: [{ name: 'restart', inputSchema: { type: 'object' } }], toolsConfirmedAtMs: 1_700_000_000_000, protocolVersion: '2025-11-25' },
      who,
    );
    const now = describeServer(fromMcpConnection(conn), who, { previous });
    expect(now.tools.map((t) => t.name)).toEqual(['restart']);
    expect(now).toMatchObject({ toolsStale: true, toolsConfirmedMs: 1_700_000_000_000, protocolVersion: '2025-11-25', status: ServerStatus.SERVER_STATUS_DOWN });
    // Without a previous record there is nothing to keep.
    expect(describeServer(fromMcpConnection(conn), who)).toMatchObject({ tools: [], toolsStale: false, toolsConfirmedMs: 0 });
  });

  it('describes a server reached another way (no MCP facts): tools stale exactly when it is not usable, confirmed when it last answered', () => {
    const rest: DescribedServer = {
      endpoint: 'http://pve:8811',
      transport: 'rest-bridge',
      health: { status: 'down', reason: 'connection refused', remedy: 'Start it.', reachable: false, authenticated: false, usable: false, lastSeenMs: 1_700_000_100_000, statusSinceMs: 1_700_000_200_000, latencyMs: 3.14159 },
      version: 'ProxmoxMCP-Plus 0.5.19',
      pollMs: 2_000,
      tools: [{ name: 'get_nodes', inputSchema: { type: 'object' } }],
      toolsKnown: true,
    };
    const d = describeServer(rest, { ...who, id: 'proxmox-mcp-homelab', kind: 'proxmox-mcp', domain: 'proxmox', scope: 'homelab' });
    expect(d).toMatchObject({ toolsStale: true, toolsConfirmedMs: 1_700_000_100_000, latencyMs: 3.1, transport: 'rest-bridge', version: 'ProxmoxMCP-Plus 0.5.19' });
    expect(d.protocolVersion).toBeUndefined();
    expect(d.mcpCapabilities).toBeUndefined();
    expect(describeServer({ ...rest, health: { ...rest.health, status: 'connected', usable: true } }, who).toolsStale).toBe(false);
    expect(upstreamHealth(rest, who, true)).toMatchObject({ serverId: 'mcp-modern', status: ServerStatus.SERVER_STATUS_DOWN, pollMs: 2_000, lastOkMs: 1_700_000_100_000, leader: true });
  });
});

describe('toContractCapabilities and toContractTool', () => {
  it("maps MCP's capabilities object (as server-everything sends it), naming the ones the contracts have no field for", () => {
    expect(
      toContractCapabilities({
        logging: {},
        completions: {},
        prompts: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        tools: { listChanged: true },
        tasks: { list: {}, cancel: {} },
        experimental: {},
      } as never),
    ).toEqual({
      tools: true,
      toolsListChanged: true,
      resources: true,
      resourcesSubscribe: true,
      resourcesListChanged: true,
      prompts: true,
      promptsListChanged: true,
      logging: true,
      completions: true,
      other: ['experimental', 'tasks'],
    });
    expect(toContractCapabilities({})).toMatchObject({ tools: false, other: [] });
    expect(toContractCapabilities(undefined)).toBeUndefined();
  });

  it('takes the title from the annotations when the tool has none, and keeps only boolean hints', () => {
    expect(toContractTool({ name: 'x', inputSchema: { type: 'object' }, annotations: { title: 'From hints', readOnlyHint: 'yes' as never, openWorldHint: false } })).toEqual({
      name: 'x',
      title: 'From hints',
      description: '',
      inputSchemaJson: '{"type":"object"}',
      annotations: { readOnlyHint: undefined, destructiveHint: undefined, idempotentHint: undefined, openWorldHint: false },
    });
  });
});
