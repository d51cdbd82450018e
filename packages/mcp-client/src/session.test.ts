import { afterEach, describe, expect, it } from 'vitest';
import { startHomelabMcpSimulator, type HomelabMcpSimulator, type HomelabMcpSimulatorOptions } from '@molten/simulators/homelab-mcp';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { EVERYTHING_BIN, testLogger, waitFor } from '@molten/testkit';
import { startModernMcpServer, type ModernMcpServer } from '@molten/testkit/mcp-modern';
import { describeEndpoint, hasCredentials, type McpEndpoint } from './endpoint.js';
import { diagnose } from './errors.js';
import { RequestGate } from './request-gate.js';
import { SessionOpener, type Session, type SessionOpenerOptions } from './session.js';

/** Opening sessions: transport choice and fallback, the negotiated generation, what a failed open means. */
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function sim(opts: HomelabMcpSimulatorOptions = {}): Promise<HomelabMcpSimulator> {
  const s = await startHomelabMcpSimulator(opts);
  closers.push(() => s.close());
  return s;
}

async function modern(opts: Parameters<typeof startModernMcpServer>[0] = {}): Promise<ModernMcpServer> {
  const s = await startModernMcpServer(opts);
  closers.push(() => s.close());
  return s;
}

function opener(endpoint: McpEndpoint, o: Partial<SessionOpenerOptions> = {}) {
  const endpointText = describeEndpoint(endpoint);
  const closed: number[] = [];
  let sessions: SessionOpener;
  const diag = (err: unknown) => diagnose(err, { name: 'test', endpoint: endpointText, hasCredentials: hasCredentials(endpoint), stderr: sessions.lastStderrLine() });
  sessions = new SessionOpener({
    endpoint,
    endpointText,
    gate: new RequestGate({ rpm: 0, maxConcurrency: 0 }),
    log: testLogger('session'),
    clientInfo: { name: 'molten-test', version: '1' },
    connectTimeoutMs: 5_000,
    versionNegotiation: 'auto',
    listMaxPages: 100,
    hooks: { toolsChanged: () => {}, error: () => {}, closed: (gen) => closed.push(gen) },
    diagnose: diag,
    ...o,
  });
  const open = async (gen = 1) => {
    const s = await sessions.open(gen, new AbortController().signal);
    closers.push(() => sessions.close(s, true));
    return s;
  };
  const failure = async () => {
    const err = await sessions.open(1, new AbortController().signal).then(
      (s: Session) => {
        void sessions.close(s, true);
        throw new Error(`expected the open to fail, but it negotiated ${s.negotiated.protocolVersion}`);
      },
      (e: unknown) => e,
    );
    return diag(err);
  };
  return { sessions, open, failure, closed };
}

describe('SessionOpener', () => {
  it('negotiates 2026-07-28 with a server of that generation, and reports what it offers', async () => {
    const s = await modern();
    const session = await opener({ url: s.url }).open();
    expect(session.kind).toBe('streamable-http');
    expect(session.negotiated).toEqual({
      protocolVersion: '2026-07-28',
      era: 'modern',
      server: { name: 'molten-modern-fixture', version: '2.4.0' },
      capabilities: { tools: { listChanged: true } },
    });
    // server/discover, then the subscriptions/listen stream for list_changed: no initialize.
    expect(s.requests.map((r) => r.mcpMethod)).toEqual(['server/discover', 'subscriptions/listen']);
  });

  it('falls back to the 2025 handshake with a server that does not know server/discover', async () => {
    const s = await sim();
    const session = await opener({ url: s.url }).open();
    expect(session.negotiated).toMatchObject({ protocolVersion: '2025-11-25', era: 'legacy', server: { name: 'homelab-mcp', version: '0.9.2' } });
    expect(session.negotiated.capabilities.tools).toEqual({ listChanged: true });
  });

  it('speaks whichever generation it is told to, with a server that serves both', async () => {
    const s = await modern({ legacy: 'stateless' });
    expect((await opener({ url: s.url }).open()).negotiated.protocolVersion).toBe('2026-07-28');
    expect((await opener({ url: s.url }, { versionNegotiation: 'legacy' }).open()).negotiated).toMatchObject({ protocolVersion: '2025-11-25', era: 'legacy' });
  });

  it('falls back to the legacy SSE transport on a 4xx, and tries SSE first from then on', async () => {
    const s = await sim({ legacySse: true });
    const o = opener({ url: s.sseUrl });
    const first = await o.open(1);
    expect(first.kind).toBe('sse');
    // SSE is the 2025 generation only: no probe for 2026-07-28 on it.
    expect(first.negotiated).toMatchObject({ era: 'legacy', protocolVersion: '2025-11-25' });
    const refused = s.requests.filter((r) => r.method === 'POST' && r.path === '/sse').length;
    expect(refused).toBeGreaterThan(0);
    const second = await o.open(2);
    expect(second.kind).toBe('sse');
    expect(s.requests.filter((r) => r.method === 'POST' && r.path === '/sse').length).toBe(refused);
  });

  it('takes a 401 to the protocol probe for what it is: refused credentials, not a reason to try another transport', async () => {
    const s = await modern({ token: 'the-right-token-0001' });
    const d = await opener({ url: s.url, bearerToken: 'a-wrong-token-00001' }).failure();
    expect(d).toMatchObject({ status: 'auth_failed', cause: 'auth', reachable: true, authenticated: false, httpStatus: 401 });
    expect(d.reason).toContain('refused the credentials (HTTP 401');
    expect(s.requests.every((r) => r.method === 'POST')).toBe(true);
    expect((await opener({ url: s.url, bearerToken: 'the-right-token-0001' }).open()).negotiated.era).toBe('modern');
  });

  it('keeps what a stdio server said before it exited, for the reason', async () => {
    const o = opener({ command: process.execPath, args: ['-e', "console.error('config error: HOMELAB_TOKEN is not set'); process.exit(3)"] });
    const d = await o.failure();
    expect(o.sessions.lastStderrLine()).toBe('config error: HOMELAB_TOKEN is not set');
    expect(d.status).toBe('down');
    expect(d.reason).toContain('config error: HOMELAB_TOKEN is not set');
  });

  it('keeps a stdio server\'s secrets out of the reason and the endpoint it is shown as', async () => {
    const endpoint = {
      command: process.execPath,
      args: ['-e', "console.error('leaky server starting, key=' + process.env.LEAK_KEY + ' url=https://u:pw@h.lan/?token=t0k3n'); process.exit(3)", '--', '--api-key', 'sk-live-abcdef'],
      env: { LEAK_KEY: 'Zq81-leaked-env-secret' },
    };
    const o = opener(endpoint);
    const d = await o.failure();
    expect(d.reason).toContain('leaky server starting');
    for (const secret of ['Zq81-leaked-env-secret', 'pw@', 't0k3n']) expect(d.reason).not.toContain(secret);
    expect(describeEndpoint(endpoint)).not.toContain('sk-live-abcdef');
    expect(describeEndpoint(endpoint)).toMatch(/--api-key \*\*\*$/);
  });

  it('tells its owner when a stdio server exits under an open session', async () => {
    const o = opener({ command: process.execPath, args: [EVERYTHING_BIN, 'stdio'] });
    const session = await o.open(7);
    expect(session.negotiated).toMatchObject({ protocolVersion: '2025-11-25', era: 'legacy' });
    process.kill((session.transport as StdioClientTransport).pid!, 'SIGKILL');
    await waitFor(() => o.closed.includes(7), { message: 'the closed hook ran for session 7' });
  });
});
