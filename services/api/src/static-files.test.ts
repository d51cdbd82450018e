import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { routeApp } from './test/fake-ports.js';

describe('the dashboard files', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-dash-'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Molten</title>');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['/%', '/%zz', '/a/%E0%A4%A', '/%00', '/..%2f..%2fetc%2fpasswd%'])('answers %s with 400, not 500', async (p) => {
    const { app } = routeApp({ app: { dashboardDir: dir } });
    const res = await app.request(p);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/Bad request/);
  });

  it('still serves the index for client-side routes', async () => {
    const { app } = routeApp({ app: { dashboardDir: dir } });
    const res = await app.request('/vms/101');
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/Molten/);
  });
});
