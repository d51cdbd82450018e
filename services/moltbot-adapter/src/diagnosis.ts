/**
 * Turns what went wrong with the gateway connection into what the dashboard shows: a phase, the
 * reason in the gateway's own words where it gave any, and a remedy that says what to change.
 */
import { PROTOCOL_RANGE, type GatewayError } from './protocol.js';

export type ConnectionPhase = 'connecting' | 'connected' | 'down' | 'auth_failed' | 'protocol_mismatch';

export interface Diagnosis {
  phase: ConnectionPhase;
  reason: string;
  remedy: string;
}

export const TOKEN_REMEDY = "set MOLTBOT_TOKEN to the gateway's token (gateway.auth.token / CLAWDBOT_GATEWAY_TOKEN)";
const START_REMEDY = 'start the gateway (`openclaw gateway`, or `moltbot gateway` on Moltbot releases) or set MOLTBOT_URL to where it listens (default ws://127.0.0.1:18789)';

export interface ConnectContext {
  hasSharedToken: boolean;
  usedDeviceToken: boolean;
  deviceFile?: string;
}

function detailCode(e: GatewayError): string | undefined {
  const d = e.details as { code?: unknown } | undefined;
  return typeof d?.code === 'string' ? d.code : undefined;
}

function detail<T>(e: GatewayError, key: string): T | undefined {
  return (e.details as Record<string, unknown> | undefined)?.[key] as T | undefined;
}

export function isProtocolMismatch(e: GatewayError): boolean {
  return detailCode(e) === 'PROTOCOL_MISMATCH' || /protocol mismatch/i.test(e.message);
}

/** A device-token rejection the adapter recovers from by reconnecting with the shared token. */
export function isDeviceTokenRejection(e: GatewayError, ctx: ConnectContext): boolean {
  if (!ctx.usedDeviceToken) return false;
  const code = detailCode(e);
  return code === 'AUTH_DEVICE_TOKEN_MISMATCH' || code === 'AUTH_TOKEN_MISMATCH' || /token mismatch/i.test(e.message);
}

/** Why the gateway refused a connect request, and what to do about it. */
export function diagnoseConnectError(e: GatewayError, ctx: ConnectContext): Diagnosis {
  const code = detailCode(e);
  const msg = e.message;

  if (e.code === 'UNAVAILABLE') {
    const why = detail<string>(e, 'reason') ?? msg;
    return { phase: 'connecting', reason: `the gateway is starting (${why}); retrying`, remedy: '' };
  }
  if (isProtocolMismatch(e)) {
    const expected = detail<number>(e, 'expectedProtocol');
    const speaks = `this adapter speaks protocol ${PROTOCOL_RANGE.min}–${PROTOCOL_RANGE.max}`;
    if (typeof expected !== 'number') {
      return { phase: 'protocol_mismatch', reason: `protocol mismatch: ${speaks}; the gateway did not say which it speaks`, remedy: `run a gateway release that speaks protocol ${PROTOCOL_RANGE.min} or ${PROTOCOL_RANGE.max}` };
    }
    const remedy =
      expected > PROTOCOL_RANGE.max
        ? `upgrade Molten: the gateway speaks protocol ${expected}, its moltbot-adapter speaks ${PROTOCOL_RANGE.min}–${PROTOCOL_RANGE.max} (or run a gateway release with protocol ${PROTOCOL_RANGE.max})`
        : `upgrade the gateway: it speaks protocol ${expected}, Molten needs ${PROTOCOL_RANGE.min}–${PROTOCOL_RANGE.max} (Moltbot 2026.1 or newer)`;
    return { phase: 'protocol_mismatch', reason: `protocol mismatch: the gateway speaks protocol ${expected}, ${speaks}`, remedy };
  }
  if (code === 'AUTH_TOKEN_MISMATCH' || /gateway token mismatch/i.test(msg)) {
    return { phase: 'auth_failed', reason: msg, remedy: TOKEN_REMEDY };
  }
  if (code === 'AUTH_TOKEN_MISSING' || /token missing/i.test(msg)) {
    return { phase: 'auth_failed', reason: msg, remedy: TOKEN_REMEDY };
  }
  if (code === 'AUTH_DEVICE_TOKEN_MISMATCH' || /device token mismatch/i.test(msg)) {
    return { phase: 'auth_failed', reason: msg, remedy: `the gateway no longer accepts this adapter's device token; ${TOKEN_REMEDY}` };
  }
  if (code === 'DEVICE_IDENTITY_REQUIRED' || /device identity required/i.test(msg)) {
    return {
      phase: 'auth_failed',
      reason: msg,
      remedy: ctx.hasSharedToken ? 'the gateway wants a device identity: set MOLTBOT_DEVICE_AUTH=1' : TOKEN_REMEDY,
    };
  }
  if (code === 'PAIRING_REQUIRED' || /pairing required/i.test(msg)) {
    const id = detail<string>(e, 'requestId');
    const ref = id ? ` ${id}` : '';
    return {
      phase: 'auth_failed',
      reason: id ? `${msg} (request ${id})` : msg,
      remedy: `approve this adapter's device on the gateway host: \`openclaw devices approve${ref || ' <requestId>'}\` (same command under \`moltbot\` on Moltbot releases); the adapter keeps retrying`,
    };
  }
  if (/device signature expired/i.test(msg) || code === 'DEVICE_AUTH_SIGNATURE_EXPIRED') {
    return { phase: 'auth_failed', reason: msg, remedy: 'the clocks of this host and the gateway host differ by more than 10 minutes: synchronise them (NTP)' };
  }
  if (/^device /i.test(msg) || code?.startsWith('DEVICE_AUTH')) {
    const where = ctx.deviceFile ? `move ${ctx.deviceFile} away` : 'remove the adapter\'s device identity file';
    return { phase: 'auth_failed', reason: msg, remedy: `the gateway refused this adapter's device identity: ${where} to create a new one, or set MOLTBOT_DEVICE_AUTH=0 to connect with the token only` };
  }
  if (/unauthorized|forbidden/i.test(msg) || e.code === 'NOT_PAIRED' || e.code === 'FORBIDDEN') {
    return { phase: 'auth_failed', reason: msg, remedy: TOKEN_REMEDY };
  }
  if (/invalid connect params/i.test(msg)) {
    return {
      phase: 'down',
      reason: msg,
      remedy: `this gateway release rejects Molten's connect parameters; check that it speaks protocol ${PROTOCOL_RANGE.min}–${PROTOCOL_RANGE.max} and report the message with the gateway's version`,
    };
  }
  return { phase: 'down', reason: `${e.code}: ${msg}`, remedy: '' };
}

/** Why the WebSocket could not be opened. */
export function diagnoseSocketError(err: Error & { code?: string }, endpoint: string): Diagnosis {
  switch (err.code) {
    case 'ECONNREFUSED':
      return { phase: 'down', reason: `cannot reach the gateway at ${endpoint}: connection refused`, remedy: START_REMEDY };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { phase: 'down', reason: `cannot resolve the gateway's host in ${endpoint}`, remedy: 'check the host name in MOLTBOT_URL' };
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { phase: 'down', reason: `no answer from the gateway at ${endpoint} (${err.code})`, remedy: 'check that the gateway runs and that the network or a firewall lets this host reach its port' };
    case 'ECONNRESET':
      return { phase: 'down', reason: `the gateway at ${endpoint} reset the connection`, remedy: START_REMEDY };
    default:
      if (/certificate|self.signed|TLS|SSL/i.test(err.message)) {
        return { phase: 'down', reason: `TLS to ${endpoint} failed: ${err.message}`, remedy: "check the gateway's TLS certificate, or use ws:// on a trusted network" };
      }
      if (/handshake timed out|timed out/i.test(err.message)) {
        return { phase: 'down', reason: `no WebSocket answer from ${endpoint} in time`, remedy: 'check that MOLTBOT_URL points at the gateway and that it is not overloaded' };
      }
      return { phase: 'down', reason: `cannot connect to ${endpoint}: ${err.message}`, remedy: START_REMEDY };
  }
}

export function diagnoseHttpStatus(status: number, endpoint: string): Diagnosis {
  return {
    phase: 'down',
    reason: `${endpoint} answered HTTP ${status} instead of a WebSocket upgrade`,
    remedy: "check that MOLTBOT_URL points at the gateway's WebSocket port (18789), not at another service",
  };
}
