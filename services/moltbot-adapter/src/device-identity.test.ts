import { createHash, createPublicKey, verify } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@molten/kit';
import { testLogger } from '@molten/testkit';
import { DeviceIdentity, deviceAuthPayload } from './device-identity.js';

describe('device identity', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const dir = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'moltbot-device-'));
    dirs.push(d);
    return d;
  };

  it('creates an ed25519 key once, readable only by its owner, and keeps it', async () => {
    const d = dir();
    const a = await DeviceIdentity.open(d, testLogger());
    expect(statSync(a.file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(a.file)).mode & 0o777).toBe(0o700);
    const raw = Buffer.from(a.publicKey, 'base64url');
    expect(raw).toHaveLength(32);
    expect(a.deviceId).toBe(createHash('sha256').update(raw).digest('hex'));
    const b = await DeviceIdentity.open(d, testLogger());
    expect(b.deviceId).toBe(a.deviceId);
  });

  it('signs the v2 payload so that the raw public key verifies it', async () => {
    const id = await DeviceIdentity.open(dir(), testLogger());
    const claim = id.claim({ clientId: 'gateway-client', clientMode: 'backend', role: 'operator', scopes: ['operator.read', 'operator.write'], token: 'tok', nonce: 'n-1', signedAtMs: 1_700_000_000_000 });
    const payload = `v2|${id.deviceId}|gateway-client|backend|operator|operator.read,operator.write|1700000000000|tok|n-1`;
    expect(deviceAuthPayload({ deviceId: id.deviceId, clientId: 'gateway-client', clientMode: 'backend', role: 'operator', scopes: ['operator.read', 'operator.write'], signedAtMs: 1_700_000_000_000, token: 'tok', nonce: 'n-1' })).toBe(payload);
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: claim.publicKey }, format: 'jwk' });
    expect(verify(null, Buffer.from(payload), key, Buffer.from(claim.signature, 'base64url'))).toBe(true);
    expect(verify(null, Buffer.from(payload.replace('|tok|', '|other|')), key, Buffer.from(claim.signature, 'base64url'))).toBe(false);
    expect(claim).toMatchObject({ id: id.deviceId, signedAt: 1_700_000_000_000, nonce: 'n-1' });
  });

  it('keeps device tokens per gateway, role and URL in a 0600 file', async () => {
    const d = dir();
    const id = await DeviceIdentity.open(d, testLogger());
    await id.saveDeviceToken('default', 'ws://gw:18789', { token: 'device-token-1', role: 'operator', scopes: ['operator.read'] });
    const file = path.join(d, 'moltbot', 'device-auth.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = await DeviceIdentity.open(d, testLogger());
    expect(again.deviceToken('default', 'ws://gw:18789', 'operator')).toBe('device-token-1');
    expect(again.deviceToken('default', 'ws://other:18789', 'operator')).toBeUndefined();
    expect(again.deviceToken('lab2', 'ws://gw:18789', 'operator')).toBeUndefined();
    await again.forgetDeviceToken('default', 'operator');
    expect(JSON.parse(readFileSync(file, 'utf8')).tokens).toEqual({});
  });

  it('tightens a key file others can read, and refuses to replace a broken one', async () => {
    const d = dir();
    const a = await DeviceIdentity.open(d, testLogger());
    chmodSync(a.file, 0o644);
    await DeviceIdentity.open(d, testLogger());
    expect(statSync(a.file).mode & 0o777).toBe(0o600);
    writeFileSync(a.file, '{"version":1}');
    await expect(DeviceIdentity.open(d, testLogger())).rejects.toThrow(ConfigError);
    await expect(DeviceIdentity.open(d, testLogger())).rejects.toThrow(/Move it away/);
  });
});
