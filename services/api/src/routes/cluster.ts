import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import type { Reads } from '../ports.js';
import { clusterListQuery, parseParams } from '../validate.js';
import type * as Rest from '@molten/contracts/rest';

/** GET /api/cluster/status: quorum, counts, the upstream's health and the data's freshness. */
export function clusterRoutes(reads: Reads) {
  return new Hono<AppEnv>().use(requireRole('viewer')).get('/status', (c) => {
    const q = parseParams(clusterListQuery.pick({ cluster: true }), c.req.query(), 'query');
    return c.json({ data: reads.clusterStatus(q.cluster) } satisfies Rest.Data<Rest.ClusterSummary>);
  });
}
