import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TrustedProxies } from '../auth/client-address.js';
import { FileRevocations } from '../auth/session-revocations.js';
import { TokenRegistry } from '../auth/tokens.js';
import { RateLimiter } from '../rate-limit.js';
import { OPERATOR, VIEWER, routeApp } from '../test/fake-ports.js';

const wrong = JSON.stringify({ token: 'wrong-token-guess' });
/** app.request() with the socket peer @hono/node-server would give. */
const from = (app: ReturnType<typeof routeApp>['app'], peer: string, headers: Record<string, string> = {}, body = wrong) =>
  app.request('/api/session', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }, { incoming: { socket: { remoteAddress: peer } } });

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

  it('limits wrong sign-ins per source address, ignoring X-Forwarded-For from an untrusted peer', async () => {
    const { app } = routeApp();
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push((await from(app, '203.0.113.9', { 'x-forwarded-for': `198.51.100.${i}` })).status);
    expect(codes.slice(0, 10).every((c) => c === 401)).toBe(true);
    expect(codes.at(-1)).toBe(429);
    // Another source is not held back by the first one's failures.
    expect((await from(app, '203.0.113.10')).status).toBe(401);
    // And a valid token signs in even from the source that is backing off.
    expect((await from(app, '203.0.113.9', {}, JSON.stringify({ token: OPERATOR }))).status).toBe(200);
  });

  it('believes X-Forwarded-For only from MOLTEN_TRUSTED_PROXIES, and then the nearest untrusted hop', async () => {
    const { app } = routeApp({ app: { trustedProxies: new TrustedProxies('10.0.0.0/8, 192.168.1.1') } });
    // Through the proxy, each client is its own source.
    for (let i = 0; i < 10; i++) expect((await from(app, '10.1.2.3', { 'x-forwarded-for': '203.0.113.50' })).status).toBe(401);
    expect((await from(app, '10.1.2.3', { 'x-forwarded-for': '203.0.113.50' })).status).toBe(429);
    // A client cannot pose as another by prepending an address: the proxy appended its real one.
    expect((await from(app, '10.1.2.3', { 'x-forwarded-for': '1.2.3.4, 203.0.113.50, 192.168.1.1' })).status).toBe(429);
    expect((await from(app, '10.1.2.3', { 'x-forwarded-for': '203.0.113.51' })).status).toBe(401);
  });

  it('remembers a bounded number of sources', () => {
    const limiter = new RateLimiter(30, 10, 1000);
    for (let i = 0; i < 20_000; i++) limiter.take(`signin:${i}`);
    expect(limiter.size).toBe(1000);
  });

  it('refuses trusted proxies that are not addresses', () => {
    expect(() => new TrustedProxies('10.0.0.0/8, proxy.lan')).toThrow(/proxy.lan/);
    expect(new TrustedProxies('').trusts('127.0.0.1')).toBe(false);
    expect(new TrustedProxies('::1, 127.0.0.0/8').trusts('::ffff:127.0.0.1')).toBe(true);
  });

  it('revokes a session on sign-out: the same cookie is refused afterwards', async () => {
    const { request } = routeApp();
    const res = await request('/api/session', { method: 'POST', as: null, body: JSON.stringify({ token: OPERATOR }) });
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const other = (await request('/api/session', { method: 'POST', as: null, body: JSON.stringify({ token: OPERATOR }) })).headers.get('set-cookie')!.split(';')[0]!;
    expect((await request('/api/vms', { as: null, headers: { cookie } })).status).toBe(200);
    expect((await request('/api/session', { method: 'DELETE', as: null, headers: { cookie } })).status).toBe(204);
    expect((await request('/api/vms', { as: null, headers: { cookie } })).status).toBe(401);
    expect((await request('/api/session', { as: null, headers: { cookie } })).status).toBe(401);
    // Only that session: another one of the same token lives on.
    expect((await request('/api/vms', { as: null, headers: { cookie: other } })).status).toBe(200);
  });

  it('keeps a revocation across a restart (file in the data directory), and a token rotation ends its sessions', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-revoked-'));
    try {
      const file = path.join(dir, 'revoked-sessions.json');
      const before = new TokenRegistry(new FileRevocations(file));
      before.add(OPERATOR, 'operator');
      const session = before.issueSession(before.verify(OPERATOR)!, 3600_000);
      const kept = before.issueSession(before.verify(OPERATOR)!, 3600_000);
      before.revokeSession(session);
      const after = new TokenRegistry(new FileRevocations(file));
      after.add(OPERATOR, 'operator');
      expect(after.verifySession(session)).toBeUndefined();
      expect(after.verifySession(kept)).toMatchObject({ role: 'operator' });
      const rotated = new TokenRegistry(new FileRevocations(file));
      rotated.add('a-new-operator-token-0123456789', 'operator');
      expect(rotated.verifySession(kept)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ origin: 'https://evil.example' }, /Origin/],
    [{ 'sec-fetch-site': 'cross-site' }, /Sec-Fetch-Site/],
    [{ 'sec-fetch-site': 'cross-site', referer: 'https://evil.example/page' }, /cross-site/],
    [{ referer: 'https://evil.example/page' }, /Referer/],
    [{ origin: 'null' }, /Origin/],
  ])('refuses a cookie action from another site (%o), sign-out included', async (headers, why) => {
    const { request, commands } = routeApp();
    const cookie = (await request('/api/session', { method: 'POST', as: null, body: JSON.stringify({ token: OPERATOR }) })).headers.get('set-cookie')!.split(';')[0]!;
    const act = await request('/api/vms/101/stop', { method: 'POST', as: null, headers: { cookie, ...headers } });
    expect(act.status).toBe(403);
    expect(act.body.error.message).toMatch(why);
    const out = await request('/api/session', { method: 'DELETE', as: null, headers: { cookie, ...headers } });
    expect(out.status).toBe(403);
    expect(commands.calls).toEqual([]);
    // Still signed in; from our own origin it works.
    expect((await request('/api/session', { as: null, headers: { cookie } })).status).toBe(200);
    const own = await request('/api/vms/101/stop', { method: 'POST', as: null, headers: { cookie, origin: 'http://localhost', 'sec-fetch-site': 'same-origin', referer: 'http://localhost/vms' } });
    expect(own.status).toBe(202);
  });
});
