import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { expectRoles, routeApp, serverView } from '../test/fake-ports.js';

describe('/api/servers', () => {
  it('lets a viewer read servers and only an operator call tools', async () => {
    const { request } = routeApp();
    await expectRoles(request, 'GET', '/api/servers', 'viewer');
    await expectRoles(request, 'GET', '/api/servers/mcp-homelab', 'viewer');
    await expectRoles(request, 'POST', '/api/servers/mcp-homelab/tools/echo/call', 'operator', '{}');
  });

  it('leaves the tool lists out with ?tools=0', async () => {
    const asked: unknown[] = [];
    const { request } = routeApp({ reads: { servers: (o) => (asked.push(o), [serverView()]) } });
    await request('/api/servers?tools=0');
    await request('/api/servers');
    expect(asked).toEqual([{ tools: false }, { tools: true }]);
  });

  it('answers 404 for a server it does not know, before looking at the body', async () => {
    const { request, commands } = routeApp();
    expect((await request('/api/servers/nope')).status).toBe(404);
    const r = await request('/api/servers/nope/tools/echo/call', { method: 'POST', body: '{nope' });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toMatch(/GET \/api\/servers lists them/);
    expect(commands.calls).toEqual([]);
  });

  it('queues a tool call with its arguments and time limit', async () => {
    const { request, commands } = routeApp();
    const r = await request('/api/servers/mcp-homelab/tools/echo/call', { method: 'POST', body: JSON.stringify({ arguments: { message: 'hi' }, timeoutSeconds: 5 }) });
    expect(r.status).toBe(202);
    expect(r.headers.get('location')).toBe(`/api/commands/${r.body.data.id}`);
    expect(commands.calls[0]).toMatchObject({ kind: 'toolCall', caller: { via: 'rest' }, req: { serverId: 'mcp-homelab', tool: 'echo', arguments: { message: 'hi' }, timeoutSeconds: 5 } });
  });

  it.each([
    ['{"arguments": [1, 2]}', 'arguments'],
    ['{"arguments": {}, "timeoutSeconds": 0}', 'timeoutSeconds'],
    ['{"arguments": {}, "timeoutSeconds": 3601}', 'timeoutSeconds'],
    ['{"args": {}}', 'body'],
  ])('refuses the body %s naming %s', async (body, field) => {
    const { request, commands } = routeApp();
    const r = await request('/api/servers/mcp-homelab/tools/echo/call', { method: 'POST', body });
    expect(r.status).toBe(400);
    expect(r.body.error.details.field).toBe(field);
    expect(commands.calls).toEqual([]);
  });

  it('answers a call to a server that is down with 503 and the remedy (whatever the tool)', async () => {
    const { request } = routeApp({
      commands: {
        toolCall: async () => {
          throw new ApiError(503, 'upstream_unavailable', 'homelab is down: ECONNREFUSED', { remedy: 'Start the server.' });
        },
      },
    });
    const r = await request('/api/servers/mcp-homelab/tools/not-listed/call', { method: 'POST', body: '{}' });
    expect(r.status).toBe(503);
    expect(r.body.error).toMatchObject({ code: 'upstream_unavailable', details: { remedy: 'Start the server.' } });
  });
});
