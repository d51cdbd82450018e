import { afterEach, describe, expect, it } from 'vitest';
import { startHomelabMcpSimulator, type HomelabMcpSimulatorOptions } from '@molten/simulators/homelab-mcp';
import { listToolsDirectly, testLogger, waitFor } from '@molten/testkit';
import { startModernMcpServer } from '@molten/testkit/mcp-modern';
import { describeEndpoint } from './endpoint.js';
import { diagnose, type Diagnosis } from './errors.js';
import { RequestGate } from './request-gate.js';
import { SessionOpener, type Session } from './session.js';
import { ToolCatalog, type CatalogHost, type McpTool } from './tool-catalog.js';

/** The tool catalog of an open session: every page, list_changed of either generation, kept when the session goes. */
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function catalogOf(url: string, o: { refreshMs?: number; debounceMs?: number } = {}) {
  const endpointText = describeEndpoint({ url });
  const gate = new RequestGate({ rpm: 0, maxConcurrency: 0 });
  const diag = (err: unknown) => diagnose(err, { name: 'test', endpoint: endpointText, hasCredentials: false });
  const announced: string[][] = [];
  const lost: Diagnosis[] = [];
  const checks: number[] = [];
  let catalog: ToolCatalog;
  const sessions = new SessionOpener({
    endpoint: { url },
    endpointText,
    gate,
    log: testLogger('catalog'),
    clientInfo: { name: 'molten-test', version: '1' },
    connectTimeoutMs: 5_000,
    versionNegotiation: 'auto',
    listMaxPages: 100,
    hooks: { toolsChanged: (gen) => catalog.changed(gen), error: () => {}, closed: () => {} },
    diagnose: diag,
  });
  const host: CatalogHost & { live: Session | undefined } = {
    live: undefined,
    diagnose: diag,
    lost: (_gen, _err, d) => {
      lost.push(d);
      host.live = undefined;
    },
    seen: () => {},
    issue: () => {},
    changed: () => {},
    checkSoon: (gen) => checks.push(gen),
  };
  catalog = new ToolCatalog({
    host,
    gate,
    log: testLogger('catalog'),
    listTimeoutMs: 5_000,
    refreshMs: o.refreshMs ?? 600_000,
    debounceMs: o.debounceMs ?? 50,
    onTools: (tools: readonly McpTool[]) => announced.push(tools.map((t) => t.name)),
  });
  const session = await sessions.open(1, new AbortController().signal);
  host.live = session;
  closers.push(async () => {
    catalog.stop();
    await sessions.close(session, true);
  });
  await catalog.refresh();
  catalog.start(session);
  return { catalog, session, host, announced, lost, checks };
}

async function sim(opts: HomelabMcpSimulatorOptions = {}) {
  const s = await startHomelabMcpSimulator(opts);
  closers.push(() => s.close());
  return s;
}

describe('ToolCatalog', () => {
  it('reads every page, as a plain SDK client lists them, and says when it was confirmed', async () => {
    const s = await sim({ toolsPageSize: 2 });
    const before = Date.now();
    const { catalog, announced } = await catalogOf(s.url);
    expect(catalog.known).toBe(true);
    expect(catalog.tools).toEqual(await listToolsDirectly(s.url));
    expect(catalog.tools).toHaveLength(6);
    expect(s.counters.rpc['tools/list']).toBeGreaterThanOrEqual(3);
    expect(announced).toHaveLength(1);
    expect(catalog.confirmedAtMs).toBeGreaterThanOrEqual(before);
  });

  it('reads again on a 2025-era list_changed, once for a burst of them', async () => {
    const s = await sim();
    const { catalog, announced } = await catalogOf(s.url, { debounceMs: 500 });
    await waitFor(() => s.requests.some((r) => r.method === 'GET' && r.status === 200), { message: 'event stream open' });
    const reads = s.counters.rpc['tools/list'] ?? 0;
    for (const name of ['a', 'b', 'c']) s.addTool(`prune_${name}`, { description: name, handler: () => name });
    await waitFor(() => catalog.tool('prune_c'), { message: 'the new tools are listed' });
    expect(announced.at(-1)).toEqual(expect.arrayContaining(['prune_a', 'prune_b', 'prune_c']));
    expect((s.counters.rpc['tools/list'] ?? 0) - reads).toBe(1);
  });

  it('on 2026-07-28 hears list_changed on its listen stream, opens the stream again when it is cut, and still hears it', async () => {
    const s = await startModernMcpServer();
    closers.push(() => s.close());
    const { catalog, session, checks } = await catalogOf(s.url);
    expect(session.negotiated.era).toBe('modern');
    s.addTool('first', { description: 'first', answer: () => '1' });
    await waitFor(() => catalog.tool('first'), { message: 'heard on the stream' });
    // A restart cuts the stream; the session itself (stateless) survives it.
    await s.stop();
    await s.start();
    await waitFor(() => checks.includes(1), { message: 'the cut stream asks for a liveness check' });
    await waitFor(() => s.requests.filter((r) => r.mcpMethod === 'subscriptions/listen' && r.status === 200).length >= 2, { message: 'the stream is opened again' });
    s.addTool('second', { description: 'second', answer: () => '2' });
    await waitFor(() => catalog.tool('second'), { message: 'heard on the new stream' });
  });

  it('keeps the last catalog, and when it was confirmed, when the session goes', async () => {
    const s = await sim();
    const { catalog, host } = await catalogOf(s.url);
    const confirmed = catalog.confirmedAtMs;
    catalog.stop();
    host.live = undefined;
    await s.stop();
    await catalog.refresh(); // no session: nothing to read, nothing dropped
    expect(catalog.tools).toHaveLength(6);
    expect(catalog.confirmedAtMs).toBe(confirmed);
    expect(catalog.known).toBe(true);
  });
});
