/**
 * The gateway's side of the handshake: the first frame must be `connect` with strict
 * ConnectParams; then protocol range, startup, origin, token and device checks in the gateway's
 * order, pairing, and `hello-ok` in each generation's shape (v4 as openclaw 2026.9.6 answered,
 * see services/moltbot-adapter/fixtures/openclaw-2026.9.6/hello-ok.json).
 */
import { randomBytes } from 'node:crypto';
import type { GatewayContext } from './context.js';
import type { Conn } from './connections.js';
import { safeEqual, verifyDeviceClaim } from './device-auth.js';
import {
  BROWSER_CLIENT_IDS,
  CLOSE,
  DETAIL_CODES,
  ERROR_CODES,
  EVENTS_V3,
  EVENTS_V4,
  POLICY,
  SCOPES,
  SIMULATED_METHODS,
  connectParamsSchema,
  formatIssues,
  requestFrameSchema,
  type ErrorShape,
} from './protocol.js';
import type { ConnectAttempt } from './types.js';

export interface HandshakeState {
  /** Every connect answered, in order (GatewaySimulator.connectAttempts). */
  attempts: ConnectAttempt[];
  /** Connects still to be answered with UNAVAILABLE, as a starting v4 gateway does. */
  unavailableLeft: number;
}

export function answerConnect(ctx: GatewayContext, state: HandshakeState, conn: Conn, parsed: unknown): void {
  const { conns, world, v4, devices } = ctx;
  const frame = requestFrameSchema.safeParse(parsed);
  const id = typeof (parsed as { id?: unknown })?.id === 'string' ? (parsed as { id: string }).id : 'invalid';
  if (!frame.success || frame.data.method !== 'connect') {
    const error = { code: ERROR_CODES.INVALID_REQUEST, message: 'invalid handshake: first request must be connect' };
    state.attempts.push({ at: Date.now(), ok: false, error });
    return conns.fail(conn, id, error, CLOSE.policy);
  }
  const attempt: ConnectAttempt = { at: Date.now(), ok: false };
  state.attempts.push(attempt);
  const reject = (error: ErrorShape, close: number = CLOSE.policy) => {
    attempt.error = error;
    ctx.log.debug({ error }, 'connect rejected');
    conns.fail(conn, id, error, close);
  };

  const checked = connectParamsSchema(ctx.protocol).safeParse(frame.data.params);
  if (!checked.success) {
    return reject({ code: ERROR_CODES.INVALID_REQUEST, message: `invalid connect params: ${formatIssues(checked.error)}` });
  }
  const p = checked.data;
  Object.assign(attempt, { clientId: p.client.id, mode: p.client.mode, minProtocol: p.minProtocol, maxProtocol: p.maxProtocol });

  if (p.maxProtocol < ctx.protocol || p.minProtocol > ctx.protocol) {
    return reject(
      {
        code: ERROR_CODES.INVALID_REQUEST,
        message: 'protocol mismatch',
        details: v4 ? { code: DETAIL_CODES.PROTOCOL_MISMATCH, expectedProtocol: ctx.protocol, minimumProbeProtocol: 3 } : { expectedProtocol: ctx.protocol },
      },
      CLOSE.protocol,
    );
  }
  if (state.unavailableLeft > 0) {
    state.unavailableLeft--;
    return reject({ code: ERROR_CODES.UNAVAILABLE, message: 'gateway starting', retryable: true, retryAfterMs: 500, details: { reason: 'startup-sidecars' } }, CLOSE.tryAgain);
  }
  if (BROWSER_CLIENT_IDS.has(p.client.id) && !conn.origin) {
    return reject({ code: ERROR_CODES.INVALID_REQUEST, message: 'origin not allowed', details: { code: 'CONTROL_UI_ORIGIN_NOT_ALLOWED' } });
  }

  const role = p.role ?? 'operator';
  if (role !== 'operator' && role !== 'node') return reject({ code: ERROR_CODES.INVALID_REQUEST, message: `invalid role: ${role}` });
  const requested = p.scopes ?? [];
  const token = p.auth?.token;
  const deviceTokenField = v4 ? (p.auth as { deviceToken?: string } | undefined)?.deviceToken : undefined;
  const detail = (code: string, extra: Record<string, unknown> = {}) => (v4 ? { details: { code, ...extra } } : Object.keys(extra).length ? { details: extra } : {});

  // Without a device, only a token lets a client in (canSkipDevice = hasTokenAuth).
  if (!p.device && !token && !deviceTokenField) {
    return reject({ code: ERROR_CODES.NOT_PAIRED, message: 'device identity required', ...detail(DETAIL_CODES.DEVICE_IDENTITY_REQUIRED) });
  }
  if (p.device) {
    const check = verifyDeviceClaim(p.device, {
      clientId: p.client.id,
      clientMode: p.client.mode,
      role,
      scopes: requested,
      token: token ?? '',
      challengeNonce: conn.nonce,
      now: Date.now(),
    });
    if (!check.ok) return reject({ code: ERROR_CODES.INVALID_REQUEST, message: check.message, ...detail(check.detail) });
  }

  let auth: 'token' | 'device-token';
  const issued = p.device ? devices.issued(p.device.id, role) : undefined;
  if (token !== undefined && safeEqual(token, ctx.token)) {
    auth = 'token';
  } else if (issued && [token, deviceTokenField].some((t) => t !== undefined && safeEqual(t, issued.token))) {
    auth = 'device-token';
  } else if (deviceTokenField !== undefined) {
    return reject({ code: ERROR_CODES.INVALID_REQUEST, message: 'unauthorized: device token mismatch (rotate/reissue device token)', ...detail(DETAIL_CODES.AUTH_DEVICE_TOKEN_MISMATCH) });
  } else if (token === undefined) {
    return reject({ code: ERROR_CODES.INVALID_REQUEST, message: 'unauthorized: gateway token missing (set gateway.remote.token to match gateway.auth.token)', ...detail(DETAIL_CODES.AUTH_TOKEN_MISSING) });
  } else {
    return reject({ code: ERROR_CODES.INVALID_REQUEST, message: 'unauthorized: gateway token mismatch (set gateway.remote.token to match gateway.auth.token)', ...detail(DETAIL_CODES.AUTH_TOKEN_MISMATCH) });
  }

  // v4: a trusted local backend (gateway-client/backend with the shared token, on loopback,
  // which the simulator always is) creates no pairing record and gets no device token
  // (openclaw docs/gateway/protocol/handshake.md; observed on 2026.9.6).
  const localBackend = v4 && auth === 'token' && p.client.id === 'gateway-client' && p.client.mode === 'backend';
  if (p.device && !localBackend && !devices.isPaired(p.device.id)) {
    if ((ctx.options.pairing ?? 'auto') === 'manual') {
      const { requestId, created } = devices.request(p.device.id);
      if (created) {
        conns.broadcast('device.pair.requested', { requestId, deviceId: p.device.id, publicKey: p.device.publicKey, clientId: p.client.id, clientMode: p.client.mode, role, scopes: requested, ts: Date.now() });
      }
      return reject({ code: ERROR_CODES.NOT_PAIRED, message: 'pairing required', details: { requestId, ...(v4 ? { code: DETAIL_CODES.PAIRING_REQUIRED } : {}) } });
    }
    devices.pair(p.device.id);
  }

  // v3 gives an operator that asks for nothing operator.admin; v4 keeps what was asked.
  const scopes = role === 'operator' && requested.length === 0 && !v4 ? [SCOPES.admin] : requested;
  const issuedNow = p.device && !localBackend ? devices.issue(p.device.id, role) : undefined;
  // v3 answers `auth` only with a device token; v4 always, with the method and the live scopes.
  const authInfo = v4
    ? { method: auth, role, scopes, ...(issuedNow ? { deviceToken: issuedNow.token, issuedAtMs: issuedNow.issuedAtMs } : {}), recoveryScope: randomBytes(24).toString('base64url') }
    : issuedNow
      ? { deviceToken: issuedNow.token, role, scopes, issuedAtMs: issuedNow.issuedAtMs }
      : undefined;

  clearTimeout(conn.handshakeTimer);
  conn.ready = { params: p, role, scopes, deviceId: p.device?.id, auth };
  Object.assign(attempt, { ok: true, role, scopes, deviceId: p.device?.id, auth });
  conns.stateVersion.presence++;
  const snapshot = {
    presence: world.presence(conns.presentClients()),
    health: world.health(),
    stateVersion: { ...conns.stateVersion },
    uptimeMs: Date.now() - world.startedAt,
    ...(v4 ? {} : { configPath: `${world.stateDir}/moltbot.json`, stateDir: world.stateDir }),
    sessionDefaults: { defaultAgentId: world.defaultAgentId, mainKey: 'main', mainSessionKey: `agent:${world.defaultAgentId}:main`, scope: 'per-sender' },
  };
  conns.respond(
    conn,
    id,
    true,
    v4
      ? {
          type: 'hello-ok',
          protocol: ctx.protocol,
          server: { version: world.version, buildId: world.buildId, bootId: world.bootId, controlUiBuildSource: 'bundled', connId: conn.connId },
          features: { methods: SIMULATED_METHODS, events: EVENTS_V4 },
          snapshot,
          controlUiWidgetKinds: [],
          controlUiLinkReaders: [],
          pluginSurfaceUrls: {},
          auth: authInfo,
          policy: { ...POLICY[4], tickIntervalMs: ctx.tickIntervalMs, attachments: { maxBytes: 20 * 1024 * 1024, maxImageBytes: 6 * 1024 * 1024 } },
        }
      : {
          type: 'hello-ok',
          protocol: ctx.protocol,
          server: { version: world.version, host: world.host, connId: conn.connId },
          features: { methods: SIMULATED_METHODS, events: EVENTS_V3 },
          snapshot,
          ...(authInfo ? { auth: authInfo } : {}),
          policy: { ...POLICY[3], tickIntervalMs: ctx.tickIntervalMs },
        },
  );
  conns.broadcast('presence', { presence: world.presence(conns.presentClients()) }, { stateVersion: true });
}
