import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { scrub } from '@molten/kit';
import type * as Rest from '@molten/contracts/rest';

/** An error answer: { "error": { "code", "message", "details"? } } with its HTTP status. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: Rest.ApiErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (field: string, message: string, extra: Record<string, unknown> = {}) =>
  new ApiError(400, 'invalid_request', message, { field, ...extra });
export const notFound = (message: string) => new ApiError(404, 'not_found', message);

export function errorBody(code: Rest.ApiErrorCode, message: string, details?: Record<string, unknown>): Rest.ErrorBody {
  return { error: { code, message: scrub(message), ...(details ? { details } : {}) } };
}

export function sendError(c: Context, err: ApiError) {
  for (const [k, v] of Object.entries(err.headers ?? {})) c.header(k, v);
  return c.json(errorBody(err.code, err.message, err.details), err.status);
}
