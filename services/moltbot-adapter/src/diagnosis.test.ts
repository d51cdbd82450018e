import { describe, expect, it } from 'vitest';
import { TOKEN_REMEDY, diagnoseConnectError, diagnoseSocketError, isDeviceTokenRejection } from './diagnosis.js';

const ctx = { hasSharedToken: true, usedDeviceToken: false, deviceFile: '/data/moltbot/device.json' };

describe('diagnosis of connect failures', () => {
  it.each([
    [{ code: 'INVALID_REQUEST', message: 'unauthorized: gateway token mismatch (set gateway.remote.token to match gateway.auth.token)' }, 'auth_failed', TOKEN_REMEDY],
    [{ code: 'INVALID_REQUEST', message: 'unauthorized', details: { code: 'AUTH_TOKEN_MISMATCH' } }, 'auth_failed', TOKEN_REMEDY],
    [{ code: 'INVALID_REQUEST', message: 'unauthorized: gateway token missing (set gateway.remote.token to match gateway.auth.token)' }, 'auth_failed', TOKEN_REMEDY],
    [{ code: 'NOT_PAIRED', message: 'pairing required', details: { requestId: 'req-7' } }, 'auth_failed', 'openclaw devices approve req-7'],
    [{ code: 'INVALID_REQUEST', message: 'device signature expired' }, 'auth_failed', 'synchronise them (NTP)'],
    [{ code: 'INVALID_REQUEST', message: 'device signature invalid' }, 'auth_failed', 'move /data/moltbot/device.json away'],
    [{ code: 'INVALID_REQUEST', message: 'protocol mismatch', details: { expectedProtocol: 2 } }, 'protocol_mismatch', 'upgrade the gateway'],
    [{ code: 'UNAVAILABLE', message: 'gateway starting', retryable: true, details: { reason: 'startup-sidecars' } }, 'connecting', ''],
    [{ code: 'INVALID_REQUEST', message: 'invalid connect params: at /client/id: must be equal to one of the allowed values' }, 'down', 'report the message'],
  ])('%j → %s', (error, phase, remedy) => {
    const d = diagnoseConnectError(error, ctx);
    expect(d.phase).toBe(phase);
    expect(d.remedy).toContain(remedy);
  });

  it('recognises a refused device token only when one was used', () => {
    const e = { code: 'INVALID_REQUEST', message: 'unauthorized: gateway token mismatch' };
    expect(isDeviceTokenRejection(e, { ...ctx, usedDeviceToken: true })).toBe(true);
    expect(isDeviceTokenRejection(e, ctx)).toBe(false);
  });

  it('tells an unreachable host from a refused port', () => {
    expect(diagnoseSocketError(Object.assign(new Error('getaddrinfo ENOTFOUND gw.lan'), { code: 'ENOTFOUND' }), 'ws://gw.lan:18789').remedy).toBe('check the host name in MOLTBOT_URL');
    expect(diagnoseSocketError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'ws://127.0.0.1:18789').reason).toBe(
      'cannot reach the gateway at ws://127.0.0.1:18789: connection refused',
    );
  });
});
