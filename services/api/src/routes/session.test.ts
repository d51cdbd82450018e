import { describe, expect, it } from 'vitest';
import { OPERATOR, VIEWER, routeApp } from '../test/fake-ports.js';

describe('/api/session', () => {
  it('signs in with a token into an httpOnly SameSite=Strict session that reads like the token, and out again', async () => {
    const { request } = routeApp();
    const res = await request('/api/session', { method: 'POST', as: null, body: JSON.stringify({ token: VIEWER }) });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ role: 'viewer' });
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const pair = cookie.split(';')[0]!;
    expect((await request('/api/session', { as: null, headers: { cookie: pair } })).body.data).toMatchObject({ role: 'viewer', via: 'session' });
    expect((await request('/api/vms', { as: null, headers: { cookie: pair } })).status).toBe(200);
    // The session carries the viewer's role, not more.
    expect((await request('/api/vms/101/stop', { method: 'POST', as: null, headers: { cookie: pair } })).status).toBe(403);
    const out = await request('/api/session', { method: 'DELETE', as: null, headers: { cookie: pair } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/molten_session=;/);
  });

  it('answers 401 for a wrong token and when not signed in', async () => {
    const { request } = routeApp();
    const bad = await request('/api/session', { method: 'POST', as: null, body: JSON.stringify({ token: 'nope' }) });
    expect(bad.status).toBe(401);
    expect(bad.body.error.message).toMatch(/operator token printed by npm start/);
    expect((await request('/api/session', { as: null })).status).toBe(401);
  });

  it('refuses a body without a token, naming the field', async () => {
    const r = await routeApp().request('/api/session', { method: 'POST', as: null, body: JSON.stringify({ token: '' }) });
    expect(r.status).toBe(400);
    expect(r.body.error.details.field).toBe('token');
  });

  it('limits sign-in attempts per address', async () => {
    const { request } = routeApp();
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push((await request('/api/session', { method: 'POST', as: null, headers: { 'x-forwarded-for': '203.0.113.9' }, body: JSON.stringify({ token: 'wrong' }) })).status);
    expect(codes.slice(0, 10).every((c) => c === 401)).toBe(true);
    expect(codes.at(-1)).toBe(429);
    // Another address still gets through.
    expect((await request('/api/session', { method: 'POST', as: null, headers: { 'x-forwarded-for': '203.0.113.10' }, body: JSON.stringify({ token: OPERATOR }) })).status).toBe(200);
  });
});
