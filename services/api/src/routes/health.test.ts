import { describe, expect, it } from 'vitest';
import { healthReport, routeApp } from '../test/fake-ports.js';

describe('GET /api/health', () => {
  it('answers a probe without a token with the status alone', async () => {
    const r = await routeApp().request('/api/health', { as: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ok' });
  });

  it('gives a signed-in caller (any role) the details', async () => {
    const r = await routeApp().request('/api/health', { as: 'viewer' });
    expect(r.status).toBe(200);
    expect(r.body.bus).toEqual({ connected: true, server: '127.0.0.1:4222' });
  });

  it('answers 503 while the api cannot reach the bus, so a readiness probe fails', async () => {
    const r = await routeApp({ reads: { health: () => healthReport({ status: 'down', bus: { connected: false, server: '' } }) } }).request('/api/health', { as: null });
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ status: 'down' });
  });

  it('refuses a wrong token rather than answering as anonymous', async () => {
    const { app } = routeApp();
    const r = await app.request('/api/health', { headers: { authorization: 'Bearer not-a-valid-token-000000' } });
    expect(r.status).toBe(401);
  });
});
