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

  it('keeps the issued deviceToken (0600) and sends it as auth.token on reconnect and after a restart', async () => {
    const s = await sim();
    const dataDir = tempDir();
    const first = await client(s, { dataDir });
    await waitFor(() => first.c.connected);
    expect(s.connectAttempts.at(-1)?.auth).toBe('token');
    const file = path.join(dataDir, 'moltbot', 'device-auth.json');
    await waitFor(() => {
      try {
        return readFileSync(file, 'utf8').includes('"token"');
      } catch {
        return false;
      }
    });
    expect((await import('node:fs')).statSync(file).mode & 0o777).toBe(0o600);

    s.dropConnections();
    await waitFor(() => s.connectAttempts.length >= 2 && first.c.connected, { message: 'reconnected' });
    expect(s.connectAttempts.at(-1)).toMatchObject({ ok: true, auth: 'device-token', deviceId: first.device!.deviceId });

    await first.c.stop();
    const second = await client(s, { dataDir });
    await waitFor(() => second.c.connected);
    expect(second.device!.deviceId).toBe(first.device!.deviceId);
    expect(s.connectAttempts.at(-1)).toMatchObject({ ok: true, auth: 'device-token' });
  });

  it('falls back to the shared token when the gateway no longer knows its device token', async () => {
    const s = await sim();
    const { c } = await client(s);
    await waitFor(() => c.connected);
    s.dropConnections();
    await waitFor(() => s.connectAttempts.at(-1)?.auth === 'device-token' && c.connected);
    s.revokeDeviceTokens();
    const before = s.connectAttempts.length;
    s.dropConnections();
    await waitFor(() => s.connectAttempts.length >= before + 2 && c.connected, { message: 'reconnected with the shared token' });
    const attempts = s.connectAttempts.slice(before);
    expect(attempts[0]!.error?.message).toContain('token mismatch');
    expect(attempts.at(-1)).toMatchObject({ ok: true, auth: 'token' });
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
    expect(c.hello?.auth).toBeUndefined();
  });
});

export type { GatewaySimulator };
