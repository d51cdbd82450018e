import { Hono } from 'hono';
import { z } from 'zod';
import { COMMAND_STATUS_NAMES } from '@molten/contracts';
import type { AppEnv } from '../app-env.js';
import { assertRole } from '../auth/middleware.js';
import type { ControlPlane } from '../control-plane.js';
import { notFound } from '../errors.js';
import { commandJson } from '../state/json.js';
import { parseParams } from '../validate.js';

const statusNames = Object.values(COMMAND_STATUS_NAMES).filter((s) => s !== 'unspecified') as [string, ...string[]];

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500, 'limit must be at most 500').default(50),
  status: z.enum(statusNames, { message: `status must be one of ${statusNames.join(', ')}` }).optional(),
  domain: z.string().max(32).optional(),
  cluster: z.string().max(64).optional(),
  vmid: z.coerce.number().int().min(100).max(999_999_999).optional(),
});

const commandId = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'id must be a command id (a ULID)');

export function commandRoutes(plane: ControlPlane) {
  return new Hono<AppEnv>()
    .get('/', (c) => {
      assertRole(c, 'viewer');
      const q = parseParams(listQuery, c.req.query(), 'query');
      const data = plane.commands.recent({ limit: q.limit, status: q.status, domain: q.domain, scope: q.cluster, vmid: q.vmid }).map(commandJson);
      return c.json({ data });
    })
    .get('/:id', async (c) => {
      assertRole(c, 'viewer');
      const id = parseParams(commandId, c.req.param('id'), 'id');
      const record = await plane.command(id);
      if (!record) throw notFound(`no command ${id} (records are kept for 7 days)`);
      const progress = plane.commands.progress(id).map((p) => ({ seq: p.seq, at: new Date(p.atMs).toISOString(), stream: p.stream, text: p.text }));
      return c.json({ data: { ...commandJson(record), progress } });
    });
}
