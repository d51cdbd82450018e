import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import type { Reads } from '../ports.js';
import { metaJson, storageJson } from '../state/json.js';
import { clusterListQuery, parseParams } from '../validate.js';
import type * as Rest from '@molten/contracts/rest';

/** GET /api/storage: a cluster's storage pools (?node= for one node's). */
export function storageRoutes(reads: Reads) {
  return new Hono<AppEnv>().use(requireRole('viewer')).get('/', (c) => {
    const q = parseParams(clusterListQuery, c.req.query(), 'query');
    const s = reads.storage(q.cluster, q.node);
    return c.json({ data: s.data.map((x) => storageJson(x, s)), meta: metaJson(s) } satisfies Rest.List<Rest.Storage>);
  });
}
