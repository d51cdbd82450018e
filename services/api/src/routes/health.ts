import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { Reads } from '../ports.js';
import type * as Rest from '@molten/contracts/rest';

/**
 * GET /api/health: 200 while the api runs and reaches the bus (503 when it does not), so it
 * serves as a liveness and readiness probe without a token. Signed-in callers get the details:
 * every cluster's freshness, every adapter replica, every upstream with what to fix.
 */
export function healthRoutes(reads: Reads) {
  return new Hono<AppEnv>().get('/', (c) => {
    const h = reads.health();
    const code = h.status === 'down' ? 503 : 200;
    if (!c.get('principal')) return c.json({ status: h.status } satisfies Pick<Rest.Health, 'status'>, code);
    return c.json(h satisfies Rest.Health, code);
  });
}
