import { describe, expect, it } from 'vitest';
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
