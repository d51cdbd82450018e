import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { ApiError } from '../errors.js';
import type { AppEnv } from '../app-env.js';
import { roleAllows, type Role, type TokenRegistry } from './tokens.js';

export const SESSION_COOKIE = 'molten_session';

/**
 * Finds who is calling: a bearer token, or the dashboard's session cookie. Sets the principal
 * (or leaves it unset); requireRole(), on each sub-app, turns that into 401/403.
 */
export function authenticate(tokens: TokenRegistry): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      const p = m ? tokens.verify(m[1]!) : undefined;
      if (!p) throw new ApiError(401, 'unauthorized', m ? 'the token is not valid' : 'use "Authorization: Bearer <token>"', undefined, { 'WWW-Authenticate': 'Bearer realm="molten"' });
      c.set('principal', p);
      c.set('via', 'bearer');
    } else {
      const cookie = getCookie(c, SESSION_COOKIE);
      const p = cookie ? tokens.verifySession(cookie) : undefined;
      if (p) {
        c.set('principal', p);
        c.set('via', 'session');
      }
    }
    await next();
  };
}

/**
 * Lets a request through when its caller has the role (viewer: reads; operator: actions too).
 * A sub-app puts requireRole('viewer') in front of all its routes and requireRole('operator')
 * in front of those that act.
 */
export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    assertRole(c, role);
    await next();
  };
}

function assertRole(c: Context<AppEnv>, role: Role): void {
  const p = c.get('principal');
  if (!p) {
    throw new ApiError(401, 'unauthorized', 'sign in, or send "Authorization: Bearer <token>" (the operator token is printed by npm start and kept in the data directory)', undefined, {
      'WWW-Authenticate': 'Bearer realm="molten"',
    });
  }
  if (!roleAllows(p.role, role)) throw new ApiError(403, 'forbidden', `this needs the ${role} role; the token used has the ${p.role} role`);
  if (c.get('via') === 'session' && c.req.method !== 'GET' && c.req.method !== 'HEAD') assertSameOrigin(c);
}

/**
 * A session cookie is only good from our own pages: refuses a request that says it comes from
 * another site, by Origin, by Sec-Fetch-Site, or (when the browser sent no Origin) by Referer.
 * SameSite=Strict already keeps the cookie off such requests in today's browsers; this is the
 * second layer.
 */
export function assertSameOrigin(c: Context): void {
  const own = new URL(c.req.url).origin;
  const refuse = (why: string) => new ApiError(403, 'forbidden', `cross-site request refused (${why}); use the dashboard on ${own}`);
  const site = c.req.header('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') throw refuse(`Sec-Fetch-Site: ${site}`);
  const origin = c.req.header('origin');
  if (origin !== undefined) {
    if (origin !== own) throw refuse(`Origin: ${origin.slice(0, 100)}`);
    return;
  }
  const referer = c.req.header('referer');
  if (referer !== undefined) {
    let from: string | undefined;
    try {
      from = new URL(referer).origin;
    } catch {
      // unparseable: refused below
    }
    if (from !== own) throw refuse('Referer from another site');
  }
}
