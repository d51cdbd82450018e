import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { type TrustedProxies, peerAddress } from '../auth/client-address.js';
import { SESSION_COOKIE, assertSameOrigin } from '../auth/middleware.js';
import type { TokenRegistry } from '../auth/tokens.js';
import { ApiError } from '../errors.js';
import type { RateLimiter } from '../rate-limit.js';
import { parseJsonBody } from '../validate.js';
import type * as Rest from '@molten/contracts/rest';

const SESSION_TTL_MS = 30 * 24 * 3600_000;

/** The dashboard's sign-in: a token in, an httpOnly SameSite=Strict session cookie out. */
export function sessionRoutes(tokens: TokenRegistry, o: { secureCookie: boolean; signInLimiter: RateLimiter; trustedProxies: TrustedProxies }) {
  return new Hono<AppEnv>()
    .get('/', (c) => {
      const p = c.get('principal');
      if (!p) throw new ApiError(401, 'unauthorized', 'not signed in');
      return c.json({ data: { name: p.name, role: p.role, via: c.get('via') } } satisfies Rest.Data<Rest.Session>);
    })
    .post('/', async (c) => {
      assertSameOrigin(c);
      const body = await parseJsonBody(c, z.object({ token: z.string().min(1, 'token is required').max(512) }).strict());
      const p = tokens.verify(body.token.trim());
      // Only wrong guesses cost, and only their source: a valid token always signs in, so an
      // attacker's failures cannot lock the operator out.
      if (!p) {
        const source = o.trustedProxies.client(peerAddress(c), c.req.header('x-forwarded-for'));
        const wait = o.signInLimiter.take(`signin:${source}`);
        if (wait) throw new ApiError(429, 'rate_limited', `too many sign-in attempts; try again in ${wait} s`, undefined, { 'Retry-After': String(wait) });
      }
      if (!p) throw new ApiError(401, 'unauthorized', 'that token is not valid: use the operator token printed by npm start (also in the data directory, file operator-token) or the viewer token');
      setCookie(c, SESSION_COOKIE, tokens.issueSession(p, SESSION_TTL_MS), {
        httpOnly: true,
        sameSite: 'Strict',
        secure: o.secureCookie,
        path: '/',
        maxAge: SESSION_TTL_MS / 1000,
      });
      return c.json({ data: { name: p.name, role: p.role } } satisfies Rest.Data<Rest.Session>);
    })
    .delete('/', (c) => {
      assertSameOrigin(c);
      const cookie = getCookie(c, SESSION_COOKIE);
      if (cookie) tokens.revokeSession(cookie);
      deleteCookie(c, SESSION_COOKIE, { path: '/', sameSite: 'Strict', httpOnly: true, secure: o.secureCookie });
      return c.body(null, 204);
    });
}
