import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR, apiFixture } from './test/api-fixture.js';
import { rawRequest } from './test/raw-http.js';

const raw = (url: string, p: string, init: { headers?: Record<string, string> } = {}) => rawRequest(url, p, init);

/** Issue 14's hostile requests, over a real socket to the running api (dashboard files served). */
describe('hostile requests to the running api', () => {
  let fx: Awaited<ReturnType<typeof apiFixture>>;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-dash-'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Molten</title>');
  beforeAll(async () => {
    fx = await apiFixture({ MOLTEN_DASHBOARD_DIR: dir });
  });
  afterAll(async () => {
    await fx?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['/%', '/%zz', '/a/%E0%A4%A', '/api/%', '/api/vms/%zz/status', '/api/commands/%'])('answers GET %s with a 4xx, not a 5xx', async (p) => {
    const r = await raw(fx.api.url, p, { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(r.status, r.body).toBeGreaterThanOrEqual(400);
    expect(r.status, r.body).toBeLessThan(500);
  });

  it.each(['/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2f..%2fetc%2fpasswd', '/%2e%2e%5c%2e%2e%5cetc%5cpasswd'])('serves nothing outside the dashboard for %s', async (p) => {
    const r = await raw(fx.api.url, p);
    expect(r.status).toBeLessThan(500);
    expect(r.body).not.toMatch(/root:/);
  });

  const signIn = async () => {
    const res = await fx.call('/api/session', { method: 'POST', token: null, body: JSON.stringify({ token: OPERATOR }) });
    expect(res.status).toBe(200);
    return res.headers.get('set-cookie')!.split(';')[0]!;
  };

  it.each<Record<string, string>>([
    { 'sec-fetch-site': 'cross-site' },
    { referer: 'https://evil.example/page' },
    { 'sec-fetch-site': 'cross-site', referer: 'https://evil.example/page' },
  ])('refuses a cookie action with no Origin but %o (403), sign-out included', async (headers) => {
    const cookie = await signIn();
    const act = await fx.json('/api/vms/101/stop', { method: 'POST', token: null, headers: { cookie, ...headers } });
    expect(act.status).toBe(403);
    expect((await fx.json('/api/session', { method: 'DELETE', token: null, headers: { cookie, ...headers } })).status).toBe(403);
    expect((await fx.json('/api/session', { method: 'DELETE', token: null, headers: { cookie, origin: 'https://evil.example' } })).status).toBe(403);
    expect((await fx.json('/api/session', { token: null, headers: { cookie } })).status).toBe(200);
  });

  it('revokes the session on sign-out: the old cookie then answers 401', async () => {
    const cookie = await signIn();
    expect((await fx.json('/api/vms', { token: null, headers: { cookie } })).status).toBe(200);
    expect((await fx.json('/api/session', { method: 'DELETE', token: null, headers: { cookie } })).status).toBe(204);
    expect((await fx.json('/api/vms', { token: null, headers: { cookie } })).status).toBe(401);
    expect((await fx.json('/api/session', { token: null, headers: { cookie } })).status).toBe(401);
  });
});
