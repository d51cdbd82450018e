import type { IncomingHttpHeaders } from 'node:http';
import type { TokenStore } from './auth.js';
import { PveError, notImplemented, paramError, serverError } from './errors.js';
import { validateParams } from './params.js';
import { findRoute, type ApiContext, type Route } from './routes.js';
import { SlicedList, encodeSliced } from './sliced-list.js';

/**
 * One API request through pveproxy's pipeline, in its order: URL split → authentication (401) →
 * formatter → route (501) → duplicate parameters → permission check (403) → proxy to `{node}`
 * (hostname lookup 500, or 595 when the node is unreachable) → parameter verification (400) →
 * handler (500 on `die`) → `{"data": …}`.
 */
export interface ApiRequest {
  method: string;
  /** The request target's path, still percent-encoded. */
  rawPath: string;
  query: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ApiResponse {
  status: number;
  /** Full message; its first line is the reason phrase. */
  message: string;
  body: Buffer | undefined;
  contentType: string | undefined;
  /** Answer this much later (pveproxy's 3 s delay on auth failures, a slow unreachable node). */
  delayMs: number;
  /** The token that made the request, when authentication succeeded. */
  userid?: string;
  /** The body of an answer written in slices (SlicedList): `body` once it is done. */
  bodyReady?: Promise<Buffer>;
}

export interface ApiOptions {
  ctx: ApiContext;
  tokens: TokenStore;
  routes: readonly Route[];
  /** Extra delay for 401 answers (PVE waits 3 s). */
  authFailureDelayMs: () => number;
}

const JSON_TYPE = 'application/json;charset=UTF-8';

/** pve-http-server `split_abs_uri`: `/api2/{format}{rel}`. */
export function splitApiPath(rawPath: string): { format: string; rel: string } | undefined {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    path = rawPath;
  }
  const m = /^\/api2\/+([a-z][a-z0-9]+)(\/.*)?$/.exec(path);
  return m ? { format: m[1]!, rel: m[2] ?? '/' } : undefined;
}

export class Api {
  /** Answers of cacheable routes, per caller and query, valid while the status stamp holds. */
  readonly #cache = new Map<string, { stamp: string; response: ApiResponse }>();

  constructor(private readonly o: ApiOptions) {}

  /** Forget cached answers (after token changes). */
  invalidate(): void {
    this.#cache.clear();
  }

  #remember(cacheKey: string, response: ApiResponse): void {
    if (this.#cache.size >= 256) this.#cache.clear();
    this.#cache.set(cacheKey, { stamp: this.o.ctx.rrd.stamp(), response });
  }

  /** Answers a request; an answer written in slices comes with `bodyReady` (see SlicedList). */
  handle(req: ApiRequest): ApiResponse {
    let userid: string | undefined;
    try {
      const split = splitApiPath(req.rawPath);
      if (!split) throw new PveError(501, 'no such uri', undefined, 'text');
      const who = this.o.tokens.authenticate(
        { authorization: header(req.headers.authorization), cookie: header(req.headers.cookie) },
        { uniform: this.o.ctx.release.uniformAuthFailure, now: Date.now() },
      );
      userid = who.userid;
      const { method } = req;
      if (req.body.length > 0 && method !== 'POST' && method !== 'PUT') {
        throw new PveError(501, `Unexpected content for method '${method}'`, undefined, 'text');
      }
      if (split.format !== 'json') throw new PveError(501, `no formatter for uri ${split.rel}, ${split.format}`, undefined, 'text');

      const params = extractParams(req);
      delete params._dc; // ExtJS cache buster
      const found = findRoute(this.o.routes, method, split.rel);
      if (!found) throw notImplemented(method, split.rel);
      const { route } = found;
      const merged: Record<string, unknown> = { ...found.uriParams };
      for (const k of Object.keys(params).sort()) {
        if (found.uriParams[k] !== undefined && found.uriParams[k] !== scalarText(params[k])) {
          throw paramError({ [k]: 'duplicate parameter (already defined in URI) with conflicting values!' });
        }
        merged[k] = params[k];
      }

      if (route.perm) {
        const path = route.perm.path.replace(/\{([^}]+)\}/g, (_, name: string) => scalarText(merged[name]) ?? '');
        who.check(path, route.perm.privs, route.perm.any);
      }
      if (route.proxied) {
        const node = found.uriParams.node!;
        const { model } = this.o.ctx;
        if (node === 'localhost') merged.node = model.localNode;
        else if (node !== model.localNode) {
          const target = model.node(node);
          if (!target) {
            throw serverError(`hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known`);
          }
          if (!target.online) {
            return { ...bare(595, target.unreachable.reason), delayMs: target.unreachable.delayMs, userid };
          }
        }
      }

      const valid = validateParams(route.params, merged);
      const cacheKey = route.cacheable ? `${who.userid}\n${split.rel}\n${req.query}` : undefined;
      if (cacheKey) {
        const hit = this.#cache.get(cacheKey);
        if (hit && hit.stamp === this.o.ctx.rrd.stamp()) return hit.response;
      }
      let total: number | undefined;
      const data = route.handler({ params: valid, who, ctx: this.o.ctx, setTotal: (n) => (total = n) });
      if (data instanceof SlicedList) {
        // Cached at once: a second caller with the same stamp waits for the same slices.
        const response: ApiResponse = { status: 200, message: 'OK', body: undefined, bodyReady: encodeSliced(data), contentType: JSON_TYPE, delayMs: 0, userid };
        if (cacheKey) this.#remember(cacheKey, response);
        return response;
      }
      const envelope: Record<string, unknown> = { data: data ?? null };
      if (total) envelope.total = total;
      const body = Buffer.from(JSON.stringify(envelope));
      const response: ApiResponse = { status: 200, message: 'OK', body, contentType: JSON_TYPE, delayMs: 0, userid };
      if (cacheKey) this.#remember(cacheKey, response);
      return response;
    } catch (err) {
      if (!(err instanceof PveError)) throw err;
      const res = this.errorResponse(err);
      if (err.status === 401) res.delayMs = this.o.authFailureDelayMs();
      if (userid) res.userid = userid;
      return res;
    }
  }

  errorResponse(err: PveError): ApiResponse {
    if (err.body === 'empty') return bare(err.status, err.message);
    if (err.body === 'text') return { status: err.status, message: err.message, body: Buffer.from(err.message), contentType: undefined, delayMs: 0 };
    const body: Record<string, unknown> = { data: null };
    if (err.errors && Object.keys(err.errors).length) body.errors = err.errors;
    if (this.o.ctx.release.errorMessageInBody) body.message = err.message;
    return { status: err.status, message: err.message, body: Buffer.from(JSON.stringify(body)), contentType: JSON_TYPE, delayMs: 0 };
  }
}

function bare(status: number, message: string): ApiResponse {
  return { status, message, body: undefined, contentType: undefined, delayMs: 0 };
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join('; ') : v;
}

function scalarText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v ? '1' : '0';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** pve-http-server `extract_params`: the body (JSON or form) for POST/PUT, then the query string on top. */
function extractParams(req: ApiRequest): Record<string, unknown> {
  let params: Record<string, unknown> = {};
  if ((req.method === 'POST' || req.method === 'PUT') && req.body.length > 0) {
    const ct = (header(req.headers['content-type']) ?? '').split(';')[0]!.trim().toLowerCase();
    const text = req.body.toString('utf8');
    if (ct === 'application/json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new PveError(500, `malformed JSON string: ${(err as Error).message}\n`, undefined, 'text');
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new PveError(500, 'Not a HASH reference\n', undefined, 'text');
      }
      params = parsed as Record<string, unknown>;
    } else {
      params = decodeUrlencoded(text);
    }
  }
  return { ...params, ...decodeUrlencoded(req.query) };
}

/** pve-http-server `decode_urlencoded`: `&` or `;` separated; a repeated key joins values with NUL. */
function decodeUrlencoded(data: string): Record<string, string> {
  const res: Record<string, string> = {};
  if (!data) return res;
  const unescape = (s: string) => {
    const plus = s.replace(/\+/g, ' ');
    try {
      return decodeURIComponent(plus);
    } catch {
      return plus;
    }
  };
  for (const pair of data.split(/[&;]/)) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq < 0) continue; // a key without value is undefined in Perl: treated as absent
    const k = unescape(pair.slice(0, eq));
    const v = unescape(pair.slice(eq + 1));
    res[k] = res[k] !== undefined ? `${res[k]}\0${v}` : v;
  }
  return res;
}
