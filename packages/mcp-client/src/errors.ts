import { ProtocolError, ProtocolErrorCode, SdkError, SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';
import { scrub } from '@molten/kit';
import { McpCallError, type CallFailureKind } from './tool-call.js';
import { GateTimeoutError, formatMs } from './request-gate.js';

export { McpCallError, type CallFailureKind };

/** The server answered with an HTTP status that says something about us: 401, 403 or 429. */
export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    readonly statusText: string,
    /** The start of the body, scrubbed of secrets. */
    readonly body: string,
    readonly retryAfterMs?: number,
  ) {
    super(`HTTP ${status} ${statusText}${body ? `: ${body}` : ''}`);
  }
}

/** The server could not be reached at all. */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
  constructor(
    message: string,
    /** The system's code, e.g. ECONNREFUSED. */
    readonly code: string,
    /** Whether a request may have reached the server before the failure. */
    readonly delivered: 'no' | 'maybe',
  ) {
    super(message);
  }
}

/** The server did not finish the MCP handshake in time. */
export class ConnectTimeoutError extends Error {
  override name = 'ConnectTimeoutError';
}

/** Neither transport worked; holds what each attempt found. */
export class NoTransportError extends Error {
  override name = 'NoTransportError';
  constructor(readonly attempts: { transport: string; error: unknown }[]) {
    super(attempts.map((a) => `${a.transport}: ${messageOf(a.error)}`).join('; '));
  }
}

/** The connection was closed (by Molten or because it broke) while a request was waiting. */
export class ConnectionLostError extends Error {
  override name = 'ConnectionLostError';
}

export type FailureCause =
  | 'auth'
  | 'rate_limited'
  | 'unreachable'
  | 'http'
  | 'timeout'
  | 'closed'
  | 'protocol'
  | 'rejected'
  | 'spawn'
  | 'aborted'
  | 'unknown';

/** What a failure means for the connection and for the person who runs it. */
export interface Diagnosis {
  status: 'down' | 'auth_failed' | 'degraded';
  cause: FailureCause;
  /** What happened, in plain words (and in the server's words where it gave any). */
  reason: string;
  /** What to do about it; empty when nothing is to be done but wait. */
  remedy: string;
  reachable: boolean;
  authenticated: boolean;
  httpStatus?: number;
  /** The JSON-RPC error code, when the server answered with one. */
  rpcCode?: number;
  retryAfterMs?: number;
  /** Whether the request may have been processed: "no" makes a retry safe. */
  delivered: 'no' | 'maybe' | 'yes';
  /** A 4xx that a server gives to a transport it does not serve (an SSE-only server to Streamable HTTP): try the other. */
  tryOtherTransport: boolean;
}

export interface DiagnoseContext {
  /** The server's name in Molten's config. */
  name: string;
  /** Where it is, without credentials. */
  endpoint: string;
  /** Whether credentials (a bearer token or headers) are configured. */
  hasCredentials: boolean;
  /** Extra words for remedies, e.g. which variable holds the token. */
  hints?: { auth?: string; unreachable?: string };
  /** The last lines the stdio server wrote to stderr. */
  stderr?: string;
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ECONNABORTED']);

/** Turns a fetch failure into an UnreachableError that says where and why. */
export function unreachable(err: unknown, url: string | URL): UnreachableError {
  const code = systemCode(err) ?? 'UNKNOWN';
  const where = hostOf(url);
  const words: Record<string, string> = {
    ECONNREFUSED: `connection refused by ${where}: nothing listens there`,
    ENOTFOUND: `the host name of ${where} does not resolve`,
    EAI_AGAIN: `the host name of ${where} could not be resolved (DNS did not answer)`,
    EHOSTUNREACH: `${where} cannot be reached (no route to host)`,
    ENETUNREACH: `${where} cannot be reached (network unreachable)`,
    UND_ERR_CONNECT_TIMEOUT: `${where} did not accept the connection in time`,
    ETIMEDOUT: `${where} stopped answering (connection timed out)`,
    ECONNRESET: `${where} dropped the connection`,
    UND_ERR_SOCKET: `${where} closed the connection`,
    EPIPE: `${where} closed the connection`,
  };
  const message = words[code] ?? `${where} could not be reached: ${scrub(messageOf(err))}`;
  return new UnreachableError(message, code, NOT_SENT_CODES.has(code) ? 'no' : 'maybe');
}

export function diagnose(err: unknown, ctx: DiagnoseContext): Diagnosis {
  const base = { reachable: true, authenticated: true, delivered: 'no' as const, tryOtherTransport: false };
  const authHint = ctx.hints?.auth ? ` ${ctx.hints.auth}` : '';
  const reachHint = ctx.hints?.unreachable ? ` ${ctx.hints.unreachable}` : '';

  if (err instanceof HttpStatusError && (err.status === 401 || err.status === 403)) {
    const refused = err.status === 401 ? 'refused the credentials' : 'refused access';
    return {
      ...base,
      status: 'auth_failed',
      cause: 'auth',
      authenticated: false,
      httpStatus: err.status,
      reason: ctx.hasCredentials
        ? `${ctx.endpoint} ${refused} (HTTP ${err.status}${err.body ? `: ${err.body}` : ''})`
        : `${ctx.endpoint} requires authentication (HTTP ${err.status}) and no token is configured`,
      remedy: ctx.hasCredentials
        ? `Check the token for "${ctx.name}": it is wrong, expired or lacks access.${authHint}`
        : `Configure a bearer token (or an Authorization header) for "${ctx.name}".${authHint}`,
    };
  }
  if (err instanceof HttpStatusError && err.status === 429) {
    return rateLimited(err.retryAfterMs, ctx);
  }
  if (err instanceof GateTimeoutError) {
    if (err.limit === 'server_pause') return rateLimited(err.waitMs, ctx);
    return {
      ...base,
      status: 'degraded',
      cause: 'rate_limited',
      retryAfterMs: err.waitMs,
      reason: `${err.message} (Molten's own limit for "${ctx.name}")`,
      remedy: `Raise the rate limit or concurrency configured for "${ctx.name}" if the server can take more.`,
    };
  }
  if (err instanceof UnreachableError) {
    return {
      ...base,
      status: 'down',
      cause: 'unreachable',
      reachable: false,
      authenticated: false,
      delivered: err.delivered,
      reason: err.message,
      remedy: `Start the server or correct its URL (${ctx.endpoint}).${reachHint}`,
    };
  }
  if (err instanceof ConnectTimeoutError) {
    return {
      ...base,
      status: 'down',
      cause: 'timeout',
      reachable: false,
      authenticated: false,
      delivered: 'maybe',
      reason: err.message,
      remedy: `Check that ${ctx.endpoint} is an MCP server and that it is not overloaded.${reachHint}`,
    };
  }
  if (err instanceof NoTransportError && err.attempts.length > 0) {
    const each = err.attempts.map((a) => ({ transport: a.transport, d: diagnose(a.error, ctx) }));
    const last = each[each.length - 1]!.d;
    return { ...last, reason: `neither transport works: ${each.map((e) => `${e.transport}: ${e.d.reason}`).join('; ')}` };
  }
  if (err instanceof ConnectionLostError) {
    return { ...base, status: 'down', cause: 'closed', reachable: false, delivered: 'maybe', reason: err.message, remedy: '' };
  }

  // Our own errors reach here wrapped by the SDK (a failed probe, a failed send): unwrap them.
  const ours = ownCause(err);
  if (ours) return diagnose(ours, ctx);

  const unsupported = unsupportedVersion(err);
  if (unsupported) {
    const modernOnly = unsupported.supported.length > 0 && unsupported.supported.every((v) => v >= '2026-07-28');
    return {
      ...base,
      status: 'down',
      cause: 'protocol',
      reason: `${ctx.endpoint} does not speak MCP ${unsupported.requested || 'as Molten asked'}${unsupported.supported.length ? `; it supports ${unsupported.supported.join(', ')}` : ''}`,
      remedy: modernOnly
        ? `The server speaks only the 2026-07-28 generation: let Molten negotiate the version for "${ctx.name}" (the default) instead of pinning the 2025 handshake.`
        : 'Update the server or Molten so that they share a protocol version.',
    };
  }
  if (err instanceof SdkError && err.code === SdkErrorCode.EraNegotiationFailed) {
    return {
      ...base,
      status: 'down',
      cause: 'protocol',
      reason: `${ctx.endpoint} and Molten found no MCP protocol version they share: ${short(scrub(err.message))}`,
      remedy: 'Update the server or Molten so that they share a protocol version.',
    };
  }

  const http = httpStatusOf(err);
  if (http !== undefined) {
    const tryOtherTransport = http >= 400 && http < 500 && http !== 401 && http !== 403 && http !== 429;
    if (http === 401 || http === 403) return diagnose(new HttpStatusError(http, '', ''), ctx);
    if (http === 429) return rateLimited(undefined, ctx);
    return {
      ...base,
      status: 'down',
      cause: 'http',
      httpStatus: http,
      tryOtherTransport,
      delivered: http >= 500 ? 'maybe' : 'no',
      reason:
        http === 404 && /session not found/i.test(messageOf(err))
          ? `${ctx.endpoint} no longer knows this session (it restarted)`
          : http >= 500
            ? `${ctx.endpoint} failed with HTTP ${http}: ${short(messageOf(err))}`
            : `${ctx.endpoint} answered HTTP ${http} to an MCP request: ${short(messageOf(err))}`,
      remedy:
        http >= 500
          ? `Look at the server's logs.`
          : `Check the URL: Streamable HTTP servers usually serve /mcp, SSE servers /sse.`,
    };
  }

  if (err instanceof SdkError) {
    switch (err.code) {
      case SdkErrorCode.RequestTimeout:
        return { ...base, status: 'degraded', cause: 'timeout', delivered: 'maybe', reason: `${ctx.endpoint} did not answer in time`, remedy: '' };
      case SdkErrorCode.ConnectionClosed:
      case SdkErrorCode.NotConnected:
        return {
          ...base,
          status: 'down',
          cause: 'closed',
          reachable: false,
          delivered: err.code === SdkErrorCode.NotConnected ? 'no' : 'maybe',
          reason: ctx.stderr ? `the server closed the connection; it last said: ${scrub(ctx.stderr)}` : 'the server closed the connection',
          remedy: '',
        };
      case SdkErrorCode.MethodNotSupportedByProtocolVersion:
      case SdkErrorCode.CapabilityNotSupported:
        // Refused here, before anything was sent.
        return { ...base, status: 'degraded', cause: 'rejected', delivered: 'no', reason: `not sent to ${ctx.endpoint}: ${short(scrub(err.message))}`, remedy: '' };
      default:
        break;
    }
  }
  if (err instanceof ProtocolError) {
    return {
      ...base,
      status: 'degraded',
      cause: 'rejected',
      delivered: 'yes',
      rpcCode: err.code,
      reason: `${ctx.endpoint} refused the request: ${short(scrub(err.message))}`,
      remedy: '',
    };
  }

  const code = systemCode(err);
  if (code === 'ENOENT' || code === 'EACCES') {
    return {
      ...base,
      status: 'down',
      cause: 'spawn',
      reachable: false,
      authenticated: false,
      reason: `the command of "${ctx.name}" could not be started (${code === 'ENOENT' ? 'not found' : 'not executable'}): ${scrub(messageOf(err))}`,
      remedy: `Check "command" for "${ctx.name}" in the config file: it must be installed and on the PATH (or an absolute path).`,
    };
  }
  if (code) return diagnose(unreachable(err, ctx.endpoint), ctx);

  const text = scrub(messageOf(err));
  if (/protocol version is not supported/i.test(text)) {
    return {
      ...base,
      status: 'down',
      cause: 'protocol',
      reason: `${ctx.endpoint} speaks an MCP protocol version this client does not support (${short(text)})`,
      remedy: 'Update the server or Molten so that they share a protocol version.',
    };
  }
  if (isAbort(err)) {
    return { ...base, status: 'down', cause: 'aborted', delivered: 'maybe', reason: 'the request was cancelled', remedy: '' };
  }
  return {
    ...base,
    status: 'down',
    cause: 'unknown',
    reachable: false,
    delivered: 'maybe',
    reason: ctx.stderr ? `${short(text)}; the server last said: ${scrub(ctx.stderr)}` : short(text),
    remedy: `Check that ${ctx.endpoint} is an MCP server.${reachHint}`,
  };
}

function rateLimited(retryAfterMs: number | undefined, ctx: DiagnoseContext): Diagnosis {
  return {
    status: 'degraded',
    cause: 'rate_limited',
    reachable: true,
    authenticated: true,
    delivered: 'no',
    tryOtherTransport: false,
    httpStatus: 429,
    retryAfterMs,
    reason:
      retryAfterMs !== undefined
        ? `${ctx.endpoint} is rate-limiting Molten (HTTP 429); nothing is sent for ${formatMs(retryAfterMs)}, as it asked`
        : `${ctx.endpoint} is rate-limiting Molten (HTTP 429, no Retry-After); requests are spaced out`,
    remedy: `Lower the rate limit Molten uses for "${ctx.name}" below the server's, or raise the server's limit.`,
  };
}

export function callError(d: Diagnosis, aborted: boolean): McpCallError {
  const details = { httpStatus: d.httpStatus, rpcCode: d.rpcCode, retryAfterMs: d.retryAfterMs };
  if (aborted) return new McpCallError('aborted', 'the call was cancelled', d.delivered === 'no' ? 'no' : 'maybe', '', details);
  const kind: CallFailureKind =
    d.cause === 'auth'
      ? 'auth_failed'
      : d.cause === 'rate_limited'
        ? 'rate_limited'
        : d.cause === 'timeout'
          ? 'timeout'
          : d.cause === 'rejected'
            ? 'rejected'
            : 'connection_lost';
  return new McpCallError(kind, d.reason, d.delivered, d.remedy, details);
}

function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof SdkHttpError) return err.status;
  // The SSE transport's SseError carries the status as a numeric `code`.
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number' && code >= 400 && code < 600 && !(err instanceof ProtocolError)) return code;
  const m = /\(HTTP (\d{3})\)/.exec(messageOf(err)) ?? /Non-200 status code \((\d{3})\)/.exec(messageOf(err));
  return m ? Number(m[1]) : undefined;
}

/** The first of our own errors (a refused or failed fetch, a gate timeout) in the chain of causes. */
function ownCause(err: unknown): Error | undefined {
  let e = (err as { cause?: unknown } | undefined)?.cause;
  for (let depth = 0; e && depth < 4; depth++) {
    if (e instanceof HttpStatusError || e instanceof UnreachableError || e instanceof GateTimeoutError || e instanceof ConnectTimeoutError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A server's "unsupported protocol version" (-32022): in-band on the 2026-07-28 generation, or in
 * the body of an HTTP 400 to a 2025-era initialize (as a modern-only server answers it).
 */
function unsupportedVersion(err: unknown): { requested: string; supported: string[] } | undefined {
  let data: unknown;
  if (err instanceof ProtocolError && err.code === ProtocolErrorCode.UnsupportedProtocolVersion) {
    data = err.data;
  } else if (err instanceof SdkHttpError && typeof err.data.text === 'string' && err.data.text.includes('-32022')) {
    try {
      const body = JSON.parse(err.data.text) as { error?: { code?: number; data?: unknown } };
      if (body.error?.code !== ProtocolErrorCode.UnsupportedProtocolVersion) return undefined;
      data = body.error.data;
    } catch {
      return undefined;
    }
  } else {
    return undefined;
  }
  const d = (data ?? {}) as { requested?: unknown; supported?: unknown };
  return {
    requested: typeof d.requested === 'string' ? d.requested : '',
    supported: Array.isArray(d.supported) ? d.supported.filter((v): v is string => typeof v === 'string') : [],
  };
}

function systemCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
    const inner = (e as { errors?: unknown[] }).errors;
    if (Array.isArray(inner) && inner.length > 0) {
      const c = systemCode(inner[0]);
      if (c) return c;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function isAbort(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === 'AbortError';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function hostOf(url: string | URL): string {
  try {
    return new URL(url).host;
  } catch {
    return String(url);
  }
}

function short(text: string, max = 300): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
