/**
 * The one way the dashboard talks REST to the api: same origin, session cookie, JSON in and out,
 * and every failure turned into an ApiError a person can read.
 */

export interface ErrorDetails {
  field?: string;
  remedy?: string;
  commandId?: string;
  errors?: { path: string; message: string }[];
  retryAfterSeconds?: number;
  [key: string]: unknown;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    /** HTTP status; 0 when the api could not be reached at all. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }

  get remedy(): string | undefined {
    return typeof this.details.remedy === 'string' ? this.details.remedy : undefined;
  }
}

export interface RequestOptions {
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export interface Api {
  get<T>(path: string, o?: RequestOptions): Promise<T>;
  /** POSTs JSON; answers the whole body (`{ data, duplicate? }` for actions). */
  post<T>(path: string, body?: unknown, o?: RequestOptions): Promise<T>;
  /** DELETE, with an optional JSON body (a reason); answers the body (`{ data }` for actions). */
  delete<T = void>(path: string, body?: unknown, o?: RequestOptions): Promise<T>;
}

export function createApi(fetchImpl: typeof fetch = (...a) => fetch(...a), base = ''): Api {
  async function request<T>(method: string, path: string, body: unknown, o: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (o.idempotencyKey) headers['idempotency-key'] = o.idempotencyKey;
    let res: Response;
    try {
      res = await fetchImpl(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        signal: o.signal,
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError(0, 'unreachable', 'The Molten api cannot be reached. Check that it is running (npm start) and that this machine can reach it.');
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string; details?: ErrorDetails } } | undefined)?.error;
      const retry = Number(res.headers.get('retry-after'));
      throw new ApiError(
        res.status,
        e?.code ?? `http_${res.status}`,
        e?.message ?? `The api answered ${res.status} ${res.statusText || ''}`.trim(),
        { ...(e?.details ?? {}), ...(Number.isFinite(retry) && retry > 0 ? { retryAfterSeconds: retry } : {}) },
      );
    }
    return json as T;
  }
  return {
    get: (path, o) => request('GET', path, undefined, o),
    post: (path, body, o) => request('POST', path, body ?? {}, o),
    delete: (path, body, o) => request('DELETE', path, body, o),
  };
}

/** A fresh key for Idempotency-Key: one per user intent, so a retried request never acts twice. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}
