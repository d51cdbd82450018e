import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { CommandNotPublishedError, isTransientBusError } from '@molten/bus';
import { scrub, type Logger } from '@molten/kit';
import { ApiError } from '../errors.js';

/**
 * An error answer of the gRPC surface: a status code, a message a person can act on, and
 * machine-readable details in trailing metadata (molten-error-code, molten-field,
 * molten-command-id, retry-after), the way REST carries them in its JSON body.
 */
export class GrpcError extends Error {
  override name = 'GrpcError';
  constructor(
    readonly code: status,
    message: string,
    readonly details: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const invalidArgument = (field: string, message: string) => new GrpcError(status.INVALID_ARGUMENT, message, { 'molten-error-code': 'invalid_request', 'molten-field': field });

/** REST statuses and the gRPC codes that mean the same thing. */
const HTTP_TO_GRPC: Record<number, status> = {
  400: status.INVALID_ARGUMENT,
  401: status.UNAUTHENTICATED,
  403: status.PERMISSION_DENIED,
  404: status.NOT_FOUND,
  // A conflict with the resource's current state (a command in flight, a template): retrying
  // the same request does not help until that state changes.
  409: status.FAILED_PRECONDITION,
  413: status.INVALID_ARGUMENT,
  415: status.INVALID_ARGUMENT,
  // An Idempotency-Key reused on another request: the request is wrong, not the server's state.
  422: status.INVALID_ARGUMENT,
  429: status.RESOURCE_EXHAUSTED,
  503: status.UNAVAILABLE,
};

/** Maps whatever a handler threw to a gRPC status; unknown errors are logged and answered INTERNAL. */
export function toServiceError(err: unknown, o: { requestId: string; method: string; log: Logger }): Partial<ServiceError> {
  let e: GrpcError;
  if (err instanceof GrpcError) {
    e = err;
  } else if (err instanceof ApiError) {
    const details: Record<string, string> = { 'molten-error-code': err.code };
    const d = err.details ?? {};
    if (typeof d.field === 'string') details['molten-field'] = d.field;
    if (typeof d.commandId === 'string') details['molten-command-id'] = d.commandId;
    if (typeof d.remedy === 'string') details['molten-remedy'] = d.remedy;
    if (typeof d.retryAfterSeconds === 'number') details['retry-after'] = String(d.retryAfterSeconds);
    e = new GrpcError(HTTP_TO_GRPC[err.status] ?? status.UNKNOWN, err.message, details);
  } else if (err instanceof CommandNotPublishedError || isTransientBusError(err)) {
    o.log.warn({ requestId: o.requestId, method: o.method, err }, 'bus unavailable');
    e = new GrpcError(status.UNAVAILABLE, 'the message bus (NATS) is not reachable right now; nothing was queued. Try again shortly.', { 'molten-error-code': 'bus_unavailable' });
  } else {
    o.log.error({ requestId: o.requestId, method: o.method, err }, 'gRPC call failed');
    e = new GrpcError(status.INTERNAL, `something went wrong on our side (request ${o.requestId}); the log has the details`, { 'molten-error-code': 'internal' });
  }
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(e.details)) metadata.set(k, scrub(v));
  metadata.set('x-request-id', o.requestId);
  return { code: e.code, details: scrub(e.message), metadata };
}
