import { describe, expect, it } from 'vitest';
import { queryErrorReply } from '@molten/bus';
import { commandError } from '@molten/contracts';
import type { Queries } from '../ports.js';
import { expectRoles, routeApp } from '../test/fake-ports.js';

describe('/api/agents', () => {
  it('lets a viewer read the gateway and only an operator run an agent', async () => {
    const { request } = routeApp();
    await expectRoles(request, 'GET', '/api/agents', 'viewer');
    await expectRoles(request, 'POST', '/api/agents/main/run', 'operator', JSON.stringify({ message: 'hello' }));
  });

  it('queues an agent run with its message, session and gateway', async () => {
    const { request, commands } = routeApp();
    const r = await request('/api/agents/main/run', { method: 'POST', body: JSON.stringify({ message: '  summarise the day  ', sessionKey: 's1', gateway: 'home', timeoutSeconds: 30 }) });
    expect(r.status).toBe(202);
    expect(commands.calls[0]).toMatchObject({ kind: 'agentRun', req: { agentId: 'main', message: 'summarise the day', sessionKey: 's1', gateway: 'home', timeoutSeconds: 30 } });
  });

  it.each([
    ['/api/agents/main/run', '{"message": "   "}', 'message'],
    ['/api/agents/main/run', '{}', 'message'],
    ['/api/agents/main/run', '{"message": "x", "gateway": "a.b"}', 'gateway'],
    ['/api/agents/main/run', '{"message": "x", "timeoutSeconds": 7200}', 'timeoutSeconds'],
    ['/api/agents/main/run', '{"message": "x", "model": "gpt"}', 'body'],
    ['/api/agents/bad%20id/run', '{"message": "x"}', 'agentId'],
  ])('%s %s → 400 naming %s', async (path, body, field) => {
    const { request, commands } = routeApp();
    const r = await request(path, { method: 'POST', body });
    expect(r.status).toBe(400);
    expect(r.body.error.details.field).toBe(field);
    expect(commands.calls).toEqual([]);
  });
});

describe('GET /api/agents/sessions/{gateway}/{key}/history', () => {
  const gatewayInfo = (id: string) => ({ id, version: '2026.9.6', protocol: 4, uptimeMs: 1, connection: 'connected', reason: '', presenceCount: 1, tickIntervalMs: 30_000, health: {}, cron: {}, lastSeen: null, stale: false });
  const history = {
    gateway: 'default',
    sessionKey: 'agent:main:main',
    sessionId: 's1',
    messages: [
      { role: 'user', text: 'hi', textTruncated: false, toolCalls: [], toolCallId: '', toolName: '', isError: false, timestampMs: 1_700_000_000_000, id: 'm1', runId: '', model: '', stopReason: '', error: '', noteKind: '', omitted: [] },
    ],
    hasMore: false,
    totalMessages: 1,
    dropped: [],
  };
  const setup = (answer: (request: unknown) => unknown = () => ({ result: { $case: 'history', value: history }, fetchedAtMs: 1_700_000_001_000 }), gateways = ['default']) => {
    const asked: { scope: string; what: string; request: unknown }[] = [];
    const queries: Queries = {
      ask: async (scope, what, request) => {
        asked.push({ scope, what, request });
        return answer(request) as never;
      },
    };
    const app = routeApp({ app: { queries }, reads: { agents: () => ({ gateways: gateways.map(gatewayInfo), agents: [], sessions: [] }) as never } });
    return { ...app, asked };
  };
  const path = (gateway: string, key: string, query = '') => `/api/agents/sessions/${gateway}/${encodeURIComponent(key)}/history${query}`;

  it('lets a viewer read it, and asks the gateway’s adapter for the newest 200 messages by default', async () => {
    const { request, asked } = setup();
    await expectRoles(request, 'GET', path('default', 'agent:main:main'), 'viewer');
    const r = await request(path('default', 'agent:main:main'), { as: 'viewer' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ data: history, meta: { gateway: 'default', fetchedAt: new Date(1_700_000_001_000).toISOString() } });
    await request(path('default', 'agent:main:telegram:dm:4242', '?limit=50'));
    // A key is one path segment, whatever it holds once encoded (a "/", a "%", a space).
    await request(path('default', 'agent:main:slack/C01 50%'));
    expect(asked.slice(-3).map((a) => a.request)).toEqual([
      { sessionKey: 'agent:main:main', limit: 200 },
      { sessionKey: 'agent:main:telegram:dm:4242', limit: 50 },
      { sessionKey: 'agent:main:slack/C01 50%', limit: 200 },
    ]);
    expect(asked.every((a) => a.scope === 'default' && a.what === 'session-history')).toBe(true);
  });

  it.each([
    [path('a.b', 'agent:main:main'), 'gateway'],
    [path('default', 'x'.repeat(513)), 'key'],
    [path('default', 'agent:main:\u0007'), 'key'],
    [path('default', 'agent:main:main', '?limit=0'), 'limit'],
    [path('default', 'agent:main:main', '?limit=1001'), 'limit'],
    [path('default', 'agent:main:main', '?limit=ten'), 'limit'],
    [path('default', 'agent:main:main', '?before=x'), 'query'],
  ])('%s → 400 naming %s, and nothing is asked', async (p, field) => {
    const { request, asked } = setup();
    const r = await request(p);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', details: { field } });
    expect(asked).toEqual([]);
  });

  it('a gateway the api does not know is 404 without asking; with none known yet it asks, and no adapter is a 503 naming the one to start', async () => {
    const { request, asked } = setup();
    const r = await request(path('elsewhere', 'agent:main:main'));
    expect(r.status).toBe(404);
    expect(r.body.error.message).toMatch(/no agent gateway "elsewhere" is known; known gateways: default/);
    expect(asked).toEqual([]);

    const none = setup(() => queryErrorReply('session-history', commandError('no_adapter', 'no moltbot adapter answers for "lab" (session-history)', { remedy: 'Start the moltbot adapter for lab (MOLTEN_CLUSTER=lab), or check its logs.' })), []);
    const r2 = await none.request(path('lab', 'agent:main:main'));
    expect(r2.status).toBe(503);
    expect(r2.body.error).toMatchObject({ code: 'upstream_unavailable', message: 'no moltbot-adapter answers for the gateway "lab"', details: { reason: 'no_adapter', remedy: expect.stringContaining('MOLTBOT_GATEWAY_ID=lab') } });
  });

  it('the gateway down is a 503 with what to do; its refusals keep their meaning', async () => {
    const down = setup(() => queryErrorReply('session-history', commandError('unreachable', 'the agent gateway "default" is not connected: connection refused (ws://127.0.0.1:18789)', { remedy: 'start the gateway (`openclaw gateway`) or set MOLTBOT_URL' })));
    const r = await down.request(path('default', 'agent:main:main'));
    expect(r.status).toBe(503);
    expect(r.body.error).toMatchObject({ code: 'upstream_unavailable', message: expect.stringContaining('not connected'), details: { reason: 'unreachable', remedy: expect.stringContaining('start the gateway') } });

    const forbidden = setup(() => queryErrorReply('session-history', commandError('forbidden', 'the gateway refused chat.history: missing scope: operator.read', { upstreamStatus: 'FORBIDDEN', remedy: 'connect it with the gateway token' })));
    expect((await forbidden.request(path('default', 'agent:main:main'))).status).toBe(403);
    const refused = setup(() => queryErrorReply('session-history', commandError('invalid', 'the gateway refused chat.history: invalid chat.history params', { upstreamStatus: 'INVALID_REQUEST' })));
    expect((await refused.request(path('default', 'agent:main:main'))).status).toBe(400);
  });
});
