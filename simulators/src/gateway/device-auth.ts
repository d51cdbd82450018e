import { createHash, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { DETAIL_CODES, SIGNED_AT_WINDOW_MS, deviceAuthPayloadV2 } from './protocol.js';

/**
 * The gateway's side of device identity (`src/infra/device-identity.ts`, `device-auth.ts`):
 * the public key is the base64url of the raw 32-byte ed25519 key, the device id is the sha256
 * hex of those bytes, and the signature is ed25519 over the v2 payload, base64url.
 *
 * Written independently of the adapter's signer on purpose: a simulator that reused the
 * client's code would accept whatever mistake the client makes.
 */
export interface DeviceClaim {
  id: string;
  publicKey: string;
  signature: string;
  signedAt: number;
  nonce?: string;
}

export type DeviceCheck = { ok: true } | { ok: false; message: string; detail: string };

export function deviceIdOf(rawPublicKey: Buffer): string {
  return createHash('sha256').update(rawPublicKey).digest('hex');
}

export function verifyDeviceClaim(
  device: DeviceClaim,
  ctx: { clientId: string; clientMode: string; role: string; scopes: readonly string[]; token: string; challengeNonce: string; now: number },
): DeviceCheck {
  let raw: Buffer;
  try {
    raw = Buffer.from(device.publicKey, 'base64url');
    if (raw.length !== 32) throw new Error('not 32 bytes');
  } catch {
    return { ok: false, message: 'device public key invalid', detail: DETAIL_CODES.DEVICE_AUTH_PUBLIC_KEY_INVALID };
  }
  if (deviceIdOf(raw) !== device.id) {
    return { ok: false, message: 'device identity mismatch', detail: DETAIL_CODES.DEVICE_AUTH_ID_MISMATCH };
  }
  if (Math.abs(ctx.now - device.signedAt) > SIGNED_AT_WINDOW_MS) {
    return { ok: false, message: 'device signature expired', detail: DETAIL_CODES.DEVICE_AUTH_SIGNATURE_EXPIRED };
  }
  if (device.nonce !== undefined && device.nonce !== ctx.challengeNonce) {
    return { ok: false, message: 'device nonce mismatch', detail: DETAIL_CODES.DEVICE_AUTH_NONCE_MISMATCH };
  }
  const payload = deviceAuthPayloadV2({
    deviceId: device.id,
    clientId: ctx.clientId,
    clientMode: ctx.clientMode,
    role: ctx.role,
    scopes: ctx.scopes,
    signedAtMs: device.signedAt,
    token: ctx.token,
    nonce: device.nonce ?? '',
  });
  let valid = false;
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: device.publicKey }, format: 'jwk' });
    valid = verify(null, Buffer.from(payload, 'utf8'), key, Buffer.from(device.signature, 'base64url'));
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, message: 'device signature invalid', detail: DETAIL_CODES.DEVICE_AUTH_SIGNATURE_INVALID };
  return { ok: true };
}

/** Constant-time string comparison, as the gateway compares tokens. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
