import { Hono } from 'hono';
import { z } from 'zod';
import { COMMAND_STATUS_NAMES } from '@molten/contracts';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import { notFound } from '../errors.js';
import type { Reads } from '../ports.js';
import { commandJson } from '../state/json.js';
import { commandIdParam, parseParams, vmidParam } from '../validate.js';
import type * as Rest from '@molten/contracts/rest';

const statusNames = Object.values(COMMAND_STATUS_NAMES).filter((s) => s !== 'unspecified') as [string, ...string[]];

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500, 'limit must be at most 500').default(50),
  status: z.enum(statusNames, { message: `status must be one of ${statusNames.join(', ')}` }).optional(),
  domain: z.string().max(32).optional(),
  cluster: z.string().max(64).optional(),
  vmid: vmidParam.optional(),
});

/** Recent commands, newest first, and one command with its output lines. */
export function commandRoutes(reads: Reads) {
  return new Hono<AppEnv>()
    .use(requireRole('viewer'))
    .get('/', (c) => {
      const q = parseParams(listQuery, c.req.query(), 'query');
      const data = reads.commands({ limit: q.limit, status: q.status, domain: q.domain, scope: q.cluster, vmid: q.vmid }).map(commandJson);
      return c.json({ data } satisfies Rest.Data<Rest.Command[]>);
    })
    .get('/:id', async (c) => {
      const id = parseParams(commandIdParam, c.req.param('id'), 'id');
      const found = await reads.command(id);
      if (!found) throw notFound(`no command ${id} (records are kept for 7 days)`);
      const progress = found.progress.map((p): Rest.ProgressLine => ({ seq: p.seq, at: new Date(p.atMs).toISOString(), stream: p.stream, text: p.text }));
      return c.json({ data: { ...commandJson(found.record), progress } } satisfies Rest.Data<Rest.Command>);
    });
}
