import { randomUUID } from 'node:crypto';
import { Metadata, status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from '@molten/kit';
import type { Principal, Role, TokenRegistry } from '../auth/tokens.js';
import { authenticate, authorize } from './auth.js';
import { toServiceError } from './errors.js';

/** What a handler gets besides its request. */
export interface RpcContext {
  principal: Principal;
  requestId: string;
  log: Logger;
  /** Aborted when the client cancels or its deadline passes: stop working, nothing will be read. */
  signal: AbortSignal;
}

export interface RpcDeps {
  tokens: TokenRegistry;
  log: Logger;
  /** Called once per finished call, with its final status (for metrics). */
  onCall?: (r: { method: string; code: status; ms: number }) => void;
}

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

function begin(deps: RpcDeps, call: AnyCall, method: string, role: Role): RpcContext {
  const given = call.metadata.get('x-request-id')[0];
  const requestId = typeof given === 'string' && /^[\x21-\x7e]{1,64}$/.test(given) ? given : randomUUID();
  const controller = new AbortController();
  const abort = () => controller.abort();
  call.once('cancelled', abort);
  if (call.cancelled) controller.abort();
  // Authentication comes first so that even a refused call carries its request id back.
  const ctx = { requestId, signal: controller.signal, log: deps.log.child({ requestId, rpc: method }) } as RpcContext;
  const principal = authenticate(call.metadata, deps.tokens);
  authorize(principal, role);
  ctx.principal = principal;
  return ctx;
}

function responseMetadata(requestId: string, extra: Record<string, string> = {}): Metadata {
  const md = new Metadata();
  md.set('x-request-id', requestId);
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return md;
}

/** A unary handler: authenticates and authorizes, runs fn, maps what it throws to a status. */
export function unary<Req, Res>(
  deps: RpcDeps,
  method: string,
  role: Role,
  fn: (req: Req, ctx: RpcContext) => Promise<{ response: Res; trailers?: Record<string, string> }>,
) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const started = performance.now();
    let requestId = '';
    const finish = (code: status) => {
      const ms = performance.now() - started;
      deps.log.debug({ requestId, rpc: method, code: status[code], ms: Math.round(ms * 10) / 10 }, 'rpc');
      deps.onCall?.({ method, code, ms });
    };
    void (async () => {
      try {
        const ctx = begin(deps, call as AnyCall, method, role);
        requestId = ctx.requestId;
        const { response, trailers } = await fn(call.request, ctx);
        if (ctx.signal.aborted) {
          // grpc-js has already answered CANCELLED or DEADLINE_EXCEEDED; the work stopped at its
          // last check of the signal.
          finish(status.CANCELLED);
          return;
        }
        callback(null, response, responseMetadata(requestId, trailers));
        finish(status.OK);
      } catch (err) {
        requestId ||= randomUUID();
        const e = toServiceError(err, { requestId, method, log: deps.log });
        callback(e, null);
        finish(e.code ?? status.UNKNOWN);
      }
    })();
  };
}

/**
 * A server-streaming handler: like unary(), but fn owns the stream. fn sends the response
 * headers (x-request-id and its own) before its first message; a failure ends the stream with
 * the mapped status.
 */
export function serverStream<Req, Res>(
  deps: RpcDeps,
  method: string,
  role: Role,
  fn: (call: ServerWritableStream<Req, Res>, ctx: RpcContext, sendHeaders: (extra: Record<string, string>) => void) => Promise<void>,
) {
  return (call: ServerWritableStream<Req, Res>): void => {
    const started = performance.now();
    let requestId = '';
    let code: status = status.OK;
    const finish = () => {
      const ms = performance.now() - started;
      deps.log.debug({ requestId, rpc: method, code: status[code], ms: Math.round(ms * 10) / 10 }, 'rpc');
      deps.onCall?.({ method, code, ms });
    };
    void (async () => {
      try {
        const ctx = begin(deps, call as AnyCall, method, role);
        requestId = ctx.requestId;
        let headersSent = false;
        const sendHeaders = (extra: Record<string, string>) => {
          if (headersSent) return;
          headersSent = true;
          call.sendMetadata(responseMetadata(ctx.requestId, extra));
        };
        await fn(call, ctx, sendHeaders);
        if (ctx.signal.aborted) code = status.CANCELLED;
        else if (call.writable) call.end();
      } catch (err) {
        requestId ||= randomUUID();
        const e = toServiceError(err, { requestId, method, log: deps.log });
        code = e.code ?? status.UNKNOWN;
        if (!call.cancelled) call.emit('error', e);
      } finally {
        finish();
      }
    })();
  };
}
