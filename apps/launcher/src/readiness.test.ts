import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterHealth } from '@molten/contracts/rest';
import { capturingLogger, waitFor } from '@molten/testkit';
import { waitForAdapters } from './readiness.js';

/** A stand-in for the api's GET /api/health: answers the adapters it is given, to the right token only. */
async function healthServer(adapters: () => Partial<AdapterHealth>[]): Promise<{ url: string; asked(): number }> {
  let asked = 0;
  const server = http.createServer((req, res) => {
    asked++;
    const signedIn = req.headers.authorization === 'Bearer the-token';
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(signedIn ? { status: 'ok', adapters: adapters() } : { status: 'ok' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const close = () => new Promise<void>((r) => server.close(() => r()));
  closes.push(close);
  return { url: `http://127.0.0.1:${port}`, asked: () => asked };
}
const closes: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closes.splice(0)) await c();
});

const beat = (domain: string, at: number): Partial<AdapterHealth> => ({ domain, instance: `${domain}-1`, alive: true, lastHeartbeat: new Date(at).toISOString() });

describe('waiting for the adapters npm start started', () => {
  it('waits for a heartbeat of each one sent after they started; one from before (a previous run) does not count', async () => {
    const since = Date.now();
    let adapters = [beat('proxmox', since - 5_000), beat('mcp', since + 1)];
    const api = await healthServer(() => adapters);
    const { log, lines } = capturingLogger();
    let done = false;
    const waiting = waitForAdapters(api.url, 'the-token', ['proxmox-adapter', 'homelab-adapter'], since, log).then(() => (done = true));
    // Asked several times and still waiting: the proxmox heartbeat is older than the start.
    await waitFor(() => api.asked() >= 3, { message: 'asked three times' });
    expect(done).toBe(false);
    adapters = [beat('proxmox', since + 10), beat('mcp', since + 1)];
    await waiting;
    expect(lines).toEqual([]);
  });

  it('names the ones that never report once its bound has passed, and goes on', async () => {
    const api = await healthServer(() => [beat('mcp', Date.now())]);
    const { log, lines } = capturingLogger();
    await waitForAdapters(api.url, 'the-token', ['homelab-adapter', 'moltbot-adapter'], Date.now() - 1_000, log, 500);
    expect(lines).toMatchObject([{ level: 'warn', services: ['moltbot-adapter'], msg: 'not reporting within 0.5 s; see their log lines above' }]);
  });
});
