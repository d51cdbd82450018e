import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '@molten/kit';
import { testLogger } from '@molten/testkit';
import { DeviceIdentity } from './device-identity.js';
import { GatewayTimeout } from './gateway-errors.js';
import { Handshake, chooseCredential, connectParams, type ConnectParams, type HandshakeLink, type HandshakeOptions } from './handshake.js';
import type { ResFrame } from './protocol.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/openclaw-2026.9.6/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
/** hello-ok exactly as openclaw 2026.9.6 answered a gateway-client/backend connect with the token. */
const REAL_HELLO = fixture('hello-ok.json');
const TOKEN = 'shared-gateway-token';
const URL_ = 'ws://127.0.0.1:18789';

function capturingLogger(): { log: Logger; lines: () => Array<{ msg: string; [k: string]: unknown }> } {
  const out: string[] = [];
  const log = createLogger('handshake-test', { level: 'warn', destination: { write: (s: string) => void out.push(s) } as never });
  return { log, lines: () => out.map((l) => JSON.parse(l)) };
}

/** A connection whose socket is open and whose gateway answers connect with the given frames, in turn. */
function link(answers: Array<Partial<ResFrame> | Error>): HandshakeLink & { sent: ConnectParams[]; terminated: () => boolean } {
  const sent: ConnectParams[] = [];
  let terminated = false;
  let close: (c: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((r) => (close = r));
  return {
    sent,
    terminated: () => terminated,
    opened: Promise.resolve(undefined),
    closed,
    challenge: Promise.resolve({ nonce: 'nonce-1', ts: 1_796_000_000_000 }),
    isOpen: () => !terminated,
    terminate: () => {
      terminated = true;
      close({ code: 1006, reason: '' });
    },
    connect: async (params) => {
      sent.push(params);
      const a = answers.shift() ?? new Error('no answer scripted');
      if (a instanceof Error) throw a;
      return { type: 'res', id: 'c1', ok: true, ...a } as ResFrame;
    },
  };
}

describe('handshake', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const device = async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'moltbot-handshake-'));
    dirs.push(dir);
    return DeviceIdentity.open(dir, testLogger());
  };
  const handshake = (o: Partial<HandshakeOptions> = {}) =>
    new Handshake({ url: URL_, token: TOKEN, gatewayId: 'gw', version: '0.1.0', instanceId: 'i-1', log: testLogger(), ...o });

  it('takes hello-ok as openclaw 2026.9.6 sends it: no deviceToken, unknown keys kept', async () => {
    const cap = capturingLogger();
    const l = link([{ payload: REAL_HELLO }]);
    const out = await handshake({ device: await device(), log: cap.log }).run(l, () => true);
    expect(out.kind).toBe('hello');
    if (out.kind !== 'hello') return;
    expect(out.hello).toMatchObject({ protocol: 4, server: { version: '2026.9.6', buildId: expect.any(String), bootId: expect.any(String) }, policy: { tickIntervalMs: 30_000 } });
    expect(out.hello.auth).toEqual({ method: 'token', role: 'operator', scopes: ['operator.read', 'operator.write'], recoveryScope: '<opaque>' });
    expect(out.hello.features.methods).toHaveLength(466);
    expect(Object.keys(out.hello)).toEqual(expect.arrayContaining(['controlUiWidgetKinds', 'controlUiLinkReaders', 'pluginSurfaceUrls']));
    expect(out.credential).toBe('token');
    expect(cap.lines()).toEqual([]);
  });

  it('drops a part of hello-ok it cannot read, says so, and stays connected', async () => {
    const cap = capturingLogger();
    const broken = { ...REAL_HELLO, auth: { ...(REAL_HELLO.auth as object), deviceToken: 42 }, snapshot: 'not an object', server: { version: 2026 } };
    const out = await handshake({ log: cap.log }).run(link([{ payload: broken }]), () => true);
    expect(out.kind).toBe('hello');
    if (out.kind !== 'hello') return;
    expect(out.hello.auth?.scopes).toEqual(['operator.read', 'operator.write']);
    expect(out.hello.auth?.deviceToken).toBeUndefined();
    expect(out.hello.snapshot).toBeUndefined();
    expect(out.hello.server).toEqual({});
    const warn = cap.lines().find((l) => /hello-ok did not fit/.test(l.msg));
    expect((warn?.dropped as string[]).map((d) => d.split(' ')[0]).sort()).toEqual(['auth.deviceToken', 'server.version', 'snapshot']);
  });

  it('refuses a hello-ok without what it cannot work without, naming the field', async () => {
    const { features: _f, ...noFeatures } = REAL_HELLO;
    const l = link([{ payload: noFeatures }]);
    const out = await handshake().run(l, () => true);
    expect(out).toMatchObject({ kind: 'refused', diagnosis: { phase: 'down', reason: expect.stringContaining('features') } });
    expect(l.terminated()).toBe(true);
  });

  it('signs the connect over the challenge, as gateway-client/backend for protocols 3–4, with the shared token', async () => {
    const d = await device();
    const l = link([{ payload: REAL_HELLO }]);
    await handshake({ device: d }).run(l, () => true);
    expect(l.sent[0]).toMatchObject({
      minProtocol: 3,
      maxProtocol: 4,
      client: { id: 'gateway-client', mode: 'backend', version: '0.1.0', instanceId: 'i-1' },
      role: 'operator',
      scopes: ['operator.read', 'operator.write'],
      auth: { token: TOKEN },
      device: { id: d.deviceId, publicKey: d.publicKey, signedAt: 1_796_000_000_000, nonce: 'nonce-1' },
    });
    expect(connectParams({ version: '1', instanceId: 'x' })).not.toHaveProperty('auth');
  });

  it('chooses credentials in the reference client’s order', () => {
    expect(chooseCredential({ sharedToken: 's', deviceToken: 'd', preferDevice: false })).toEqual({ token: 's', credential: 'token' });
    expect(chooseCredential({ deviceToken: 'd', preferDevice: false })).toEqual({ token: 'd', credential: 'device-token' });
    expect(chooseCredential({ sharedToken: 's', deviceToken: 'd', preferDevice: true })).toEqual({ token: 'd', credential: 'device-token' });
    expect(chooseCredential({ preferDevice: true })).toEqual({ credential: 'none' });
  });

  it('keeps a device token the gateway issues, and tries it once when the shared token is refused on loopback only', async () => {
    const d = await device();
    const h = handshake({ device: d });
    await h.run(link([{ payload: { ...REAL_HELLO, auth: { role: 'operator', scopes: ['operator.read'], deviceToken: 'issued-device-token' } } }]), () => true);
    expect(d.deviceToken('gw', URL_, 'operator')).toBe('issued-device-token');

    const mismatch = { ok: false, error: { code: 'INVALID_REQUEST', message: 'unauthorized: gateway token mismatch', details: { code: 'AUTH_TOKEN_MISMATCH' } } };
    const refused = link([mismatch]);
    expect(await h.run(refused, () => true)).toEqual({ kind: 'retry-now' });
    const retried = link([{ payload: REAL_HELLO }]);
    expect(await h.run(retried, () => true)).toMatchObject({ kind: 'hello', credential: 'device-token' });
    const tokenOf = (p: ConnectParams | undefined) => (p as { auth?: { token?: string } } | undefined)?.auth?.token;
    expect([tokenOf(refused.sent[0]), tokenOf(retried.sent[0])]).toEqual([TOKEN, 'issued-device-token']);

    // Not on a remote URL: there the refusal is the answer.
    const remote = new Handshake({ url: 'wss://gateway.example:18789', token: TOKEN, gatewayId: 'gw', device: d, version: '0.1.0', instanceId: 'i-1', log: testLogger() });
    await d.saveDeviceToken('gw', 'wss://gateway.example:18789', { token: 'remote-device-token', role: 'operator', scopes: [] });
    expect(await remote.run(link([mismatch]), () => true)).toMatchObject({ kind: 'refused', diagnosis: { phase: 'auth_failed' } });
  });

  it('reports a starting gateway as unavailable with its retry hint, and a lost connect as failed', async () => {
    const starting = { ok: false, error: { code: 'UNAVAILABLE', message: 'gateway starting', retryable: true, retryAfterMs: 500, details: { reason: 'startup-sidecars' } } };
    expect(await handshake().run(link([starting]), () => true)).toMatchObject({ kind: 'unavailable', retryAfterMs: 500, diagnosis: { phase: 'connecting' } });
    expect(await handshake().run(link([new GatewayTimeout('connect: no answer')]), () => true)).toMatchObject({
      kind: 'failed',
      diagnosis: { reason: 'the gateway did not answer connect in time' },
    });
  });

  it('names both versions when hello-ok brings a protocol outside 3–4', async () => {
    const out = await handshake().run(link([{ payload: { ...REAL_HELLO, protocol: 5 } }]), () => true);
    expect(out).toMatchObject({ kind: 'refused', diagnosis: { phase: 'protocol_mismatch', reason: 'protocol mismatch: the gateway speaks protocol 5, this adapter speaks protocol 3–4' } });
  });
});
