import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import type { Reads } from '../ports.js';
import { metaJson, nodeJson } from '../state/json.js';
import { clusterListQuery, parseParams } from '../validate.js';
import type * as Rest from '@molten/contracts/rest';

/** GET /api/nodes: a cluster's nodes, sorted by name. */
export function nodeRoutes(reads: Reads) {
  return new Hono<AppEnv>().use(requireRole('viewer')).get('/', (c) => {
    const q = parseParams(clusterListQuery, c.req.query(), 'query');
    const s = reads.nodes(q.cluster);
    return c.json({ data: s.data.map((n) => nodeJson(n, s)), meta: metaJson(s) } satisfies Rest.List<Rest.PveNode>);
  });
}
