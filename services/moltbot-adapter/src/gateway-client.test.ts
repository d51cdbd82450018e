import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '@molten/kit';
import { startGatewaySimulator, type GatewaySimulator, type GatewaySimulatorOptions } from '@molten/simulators/gateway';
import { freePort, testLogger, waitFor } from '@molten/testkit';
import { DeviceIdentity } from './device-identity.js';
import { TOKEN_REMEDY } from './diagnosis.js';
import { GatewayClient, type GatewayClientOptions } from './gateway-client.js';

const TOKEN = 'gw-token-for-tests';

/** A logger whose warnings the test can read. */
function capturingLogger(): { log: Logger; lines: () => Array<{ level: string; msg: string; [k: string]: unknown }> } {
  const out: string[] = [];
  const log = createLogger('client-test', { level: 'warn', destination: { write: (s: string) => void out.push(s) } as never });
  return { log, lines: () => out.map((l) => JSON.parse(l)) };
}

describe('gateway client', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const sim = async (o: Partial<GatewaySimulatorOptions> = {}) => {
    const s = await startGatewaySimulator({ token: TOKEN, tickIntervalMs: 1_000, agentStepMs: 5, ...o });
    cleanups.push(() => s.close());
    return s;
  };
  const tempDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'moltbot-client-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  const client = async (s: { url: string }, o: Partial<GatewayClientOptions> & { dataDir?: string | null } = {}) => {
    const dataDir = o.dataDir === undefined ? tempDir() : o.dataDir;
    const log = o.log ?? testLogger('client');
    const device = dataDir ? await DeviceIdentity.open(dataDir, log) : undefined;
    const c = new GatewayClient({ url: s.url, token: TOKEN, gatewayId: 'gw', device, log, version: '0.1.0', instanceId: 'test-1', ...o });
    c.start();
    cleanups.push(() => c.stop());
    return { c, device };
  };

  for (const protocol of [3, 4]) {
    it(`connects to a protocol ${protocol} gateway as gateway-client/backend with a verified device signature`, async () => {
      const s = await sim({ protocol });
      const { c, device } = await client(s);
      await waitFor(() => c.connected, { message: 'connected' });
      expect(c.hello?.protocol).toBe(protocol);
      expect(c.state.phase).toBe('connected');
      expect(s.clients()).toEqual([expect.objectContaining({ clientId: 'gateway-client', mode: 'backend', role: 'operator', scopes: ['operator.read', 'operator.write'] })]);
      // The simulator verified the ed25519 signature over the v2 payload before it let us in.
      expect(s.connectAttempts.at(-1)).toMatchObject({ ok: true, deviceId: device!.deviceId, minProtocol: 3, maxProtocol: 4 });
      const health = (await c.request('health')) as { ok: boolean };
      expect(health.ok).toBe(true);
    });
  }

  const tokenFile = (dataDir: string) => path.join(dataDir, 'moltbot', 'device-auth.json');
  const storedToken = (dataDir: string) => {
    try {
      return readFileSync(tokenFile(dataDir), 'utf8').includes('"token"');
    } catch {
      return false;
    }
  };

  it('keeps the device token a protocol 3 gateway issues (0600), and connects with MOLTBOT_TOKEN while it has one', async () => {
    const s = await sim({ protocol: 3 });
    const dataDir = tempDir();
    const first = await client(s, { dataDir });
    await waitFor(() => first.c.connected);
    await waitFor(() => storedToken(dataDir), { message: 'device token stored' });
    expect((await import('node:fs')).statSync(tokenFile(dataDir)).mode & 0o777).toBe(0o600);
    // openclaw's reference client sends the shared token first (selectConnectAuth), on reconnects too.
    s.dropConnections();
    await waitFor(() => s.connectAttempts.length >= 2 && first.c.connected, { message: 'reconnected' });
    expect(s.connectAttempts.map((a) => a.auth)).toEqual(['token', 'token']);
    await first.c.stop();

    // Without a shared token, the device token is the credential.
    const second = await client(s, { dataDir, token: undefined });
    await waitFor(() => second.c.connected);
    expect(second.device!.deviceId).toBe(first.device!.deviceId);
    expect(s.connectAttempts.at(-1)).toMatchObject({ ok: true, auth: 'device-token' });
  });

  it('starts quietly against a gateway that forgot its device tokens (a restarted demo simulator)', async () => {
    const dataDir = tempDir();
    const before = await sim({ protocol: 3 });
    const first = await client(before, { dataDir });
    await waitFor(() => first.c.connected && storedToken(dataDir));
    await first.c.stop();
    await before.close();

    // A new gateway process at the same URL, with a new token, as `npm start` brings up after a restart.
    const after = await sim({ protocol: 3, port: before.port, token: 'a-new-token-after-restart' });
    const cap = capturingLogger();
    const second = await client(after, { dataDir, token: 'a-new-token-after-restart', log: cap.log });
    await waitFor(() => second.c.connected);
    expect(after.connectAttempts).toEqual([expect.objectContaining({ ok: true, auth: 'token' })]);
    expect(cap.lines()).toEqual([]);
  });

  it('tries the stored device token once when the gateway refuses MOLTBOT_TOKEN on loopback, and says what to fix when that fails too', async () => {
    const s = await sim({ protocol: 3 });
    const dataDir = tempDir();
    const first = await client(s, { dataDir });
    await waitFor(() => first.c.connected && storedToken(dataDir));
    await first.c.stop();

    const before = s.connectAttempts.length;
    const { c } = await client(s, { dataDir, token: 'a-token-the-gateway-no-longer-has', refusedRetry: { initialMs: 100, maxMs: 200 } });
    await waitFor(() => c.connected, { message: 'in with the device token' });
    expect(s.connectAttempts.slice(before).map((a) => [a.ok, a.auth ?? a.error?.message])).toEqual([
      [false, expect.stringContaining('gateway token mismatch')],
      [true, 'device-token'],
    ]);

    // The gateway forgets the device token too: the adapter drops it and names the token to fix.
    s.revokeDeviceTokens();
    const n = s.connectAttempts.length;
    s.dropConnections();
    await waitFor(() => c.state.phase === 'auth_failed' && !storedToken(dataDir), { message: 'auth failed, device token forgotten' });
    expect(c.state.remedy).toContain('MOLTBOT_TOKEN');
    await waitFor(() => s.connectAttempts.length >= n + 2, { message: 'then the shared token, refused again' });
    expect(s.connectAttempts.slice(n, n + 2).map((a) => a.error?.message)).toEqual([expect.stringContaining('token mismatch'), expect.stringContaining('gateway token mismatch')]);
    expect(c.connected).toBe(false);
  });

  it('reports a wrong token as auth_failed with the token-mismatch reason and backs off', async () => {
    const s = await sim({ protocol: 4 });
    const { c } = await client(s, { token: 'wrong-token-value' });
    await waitFor(() => c.state.phase === 'auth_failed', { message: 'auth failed' });
    expect(c.state.reason).toContain('token mismatch');
    expect(c.state.remedy).toBe(TOKEN_REMEDY);
    await new Promise((r) => setTimeout(r, 2_500));
    // Backoff starts at 2 s: a tight loop would have made hundreds of attempts by now.
    expect(s.connectAttempts.length).toBeGreaterThanOrEqual(1);
    expect(s.connectAttempts.length).toBeLessThanOrEqual(3);
    expect(c.connected).toBe(false);
  });

  it('names both versions on a protocol mismatch', async () => {
    const s = await sim({ protocol: 5 });
    const { c } = await client(s);
    await waitFor(() => c.state.phase === 'protocol_mismatch');
    expect(c.state.reason).toBe('protocol mismatch: the gateway speaks protocol 5, this adapter speaks protocol 3–4');
    expect(c.state.remedy).toContain('upgrade Molten');
  });

  it('retries a starting gateway (retryable UNAVAILABLE) until it lets the adapter in', async () => {
    const s = await sim({ protocol: 4, startupUnavailable: 2 });
    const phases: string[] = [];
    const { c } = await client(s);
    c.onState((st) => phases.push(`${st.phase}: ${st.reason}`));
    await waitFor(() => c.connected, { message: 'connected after the gateway started' });
    expect(s.connectAttempts.filter((a) => a.error?.code === 'UNAVAILABLE')).toHaveLength(2);
    expect(phases.some((p) => p.startsWith('connecting: the gateway is starting (startup-sidecars)'))).toBe(true);
  });

  it('treats a gateway that stops ticking as dead and reconnects', async () => {
    const s = await sim({ tickIntervalMs: 150 });
    const { c } = await client(s);
    await waitFor(() => c.connected);
    const reasons: string[] = [];
    c.onState((st) => reasons.push(st.reason));
    const attempts = s.connectAttempts.length;
    s.stopTicking();
    await waitFor(() => reasons.some((r) => r.startsWith('no tick from the gateway for more than 300 ms')), { message: 'tick timeout noticed' });
    s.startTicking();
    await waitFor(() => c.connected && s.connectAttempts.length > attempts, { message: 'reconnected' });
  });

  it('logs and ignores malformed frames without losing the connection', async () => {
    const s = await sim();
    const cap = capturingLogger();
    const { c } = await client(s, { log: cap.log });
    await waitFor(() => c.connected);
    s.sendRaw('this is not json');
    s.sendRaw({ type: 'res', ok: true });
    s.sendRaw({ type: 'event', payload: {} });
    s.sendRaw({ type: 'hello', id: 1 });
    s.sendRaw({ type: 'event', event: 'agent', payload: 'not an object' }); // valid frame: its payload is checked by whoever reads it
    await waitFor(() => c.malformedFrames === 4, { message: 'four malformed frames counted' });
    // A field of the wrong type costs that field, not the frame.
    const seen: unknown[] = [];
    c.onEvent((event, payload, frame) => event === 'presence' && seen.push([payload, frame.seq]));
    s.sendRaw({ type: 'event', event: 'presence', seq: 'seven', payload: { presence: [] } });
    await waitFor(() => seen.length === 1, { message: 'frame with a bad seq delivered' });
    expect(seen[0]).toEqual([{ presence: [] }, undefined]);
    expect(c.malformedFrames).toBe(4);
    expect(cap.lines().filter((l) => /did not fit/.test(l.msg)).map((l) => l.dropped)).toEqual([[expect.stringMatching(/^seq \(/)]]);
    expect(cap.lines().filter((l) => /ignored a (malformed frame|frame from the gateway that is not JSON)/.test(l.msg))).toHaveLength(4);
    expect(c.connected).toBe(true);
    expect(((await c.request('health')) as { ok: boolean }).ok).toBe(true);
  });

  it('correlates the two answers of agent and reports the first through onAccepted', async () => {
    const s = await sim();
    const { c } = await client(s);
    await waitFor(() => c.connected);
    const accepted: string[] = [];
    const answer = await c.requestTwoPhase('agent', { message: 'hi', idempotencyKey: 'k-two-phase' }, { onAccepted: (a) => accepted.push(a.runId), finalTimeoutMs: 10_000 });
    expect(accepted).toEqual(['k-two-phase']);
    expect(answer.accepted?.runId).toBe('k-two-phase');
    expect(answer.final).toMatchObject({ ok: true, payload: { runId: 'k-two-phase', status: 'ok', summary: 'completed' } });
  });

  it('reconnects after the gateway announces a shutdown', async () => {
    const s = await sim();
    const { c } = await client(s);
    await waitFor(() => c.connected);
    const reasons: string[] = [];
    c.onState((st) => reasons.push(st.reason));
    s.sendShutdown('update', 100);
    await waitFor(() => reasons.some((r) => r.startsWith('the gateway is shutting down (update)')));
    await waitFor(() => c.connected && c.state.phase === 'connected', { message: 'back after the shutdown' });
  });

  it('says what is wrong when nothing listens, and when the port is not a gateway', async () => {
    const port = await freePort();
    const { c } = await client({ url: `ws://127.0.0.1:${port}` }, { dataDir: null });
    await waitFor(() => c.state.phase === 'down');
    expect(c.state.reason).toBe(`cannot reach the gateway at ws://127.0.0.1:${port}: connection refused`);
    expect(c.state.remedy).toContain('MOLTBOT_URL');

    const web = http.createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => web.close(() => r())));
    const { c: c2 } = await client({ url: `ws://127.0.0.1:${(web.address() as AddressInfo).port}` }, { dataDir: null });
    await waitFor(() => c2.state.phase === 'down');
    expect(c2.state.reason).toContain('answered HTTP 404 instead of a WebSocket upgrade');
  });

  it('connects with the token alone when device identity is off', async () => {
    const s = await sim({ protocol: 4 });
    const { c } = await client(s, { dataDir: null });
    await waitFor(() => c.connected);
    expect(s.connectAttempts.at(-1)).toMatchObject({ ok: true, auth: 'token', deviceId: undefined });
    // As openclaw 2026.9.6 answers a token-only connect: the granted scopes, no device token.
    expect(c.hello?.auth).toMatchObject({ role: 'operator', scopes: ['operator.read', 'operator.write'] });
    expect(c.hello?.auth?.deviceToken).toBeUndefined();
  });
});

export type { GatewaySimulator };
