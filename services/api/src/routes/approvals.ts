import { Hono } from 'hono';
import { z } from 'zod';
import type * as Rest from '@molten/contracts/rest';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import { notFound } from '../errors.js';
import type { Approvals } from '../ports.js';
import { commandIdParam, parseJsonBody, parseParams } from '../validate.js';

const STATUSES = ['pending', 'approved', 'denied', 'expired'] as const satisfies readonly Rest.ApprovalStatus[];

const listQuery = z.object({
  status: z.enum(STATUSES, { message: `status must be one of ${STATUSES.join(', ')}` }).optional(),
  all: z.enum(['1', 'true'], { message: 'all must be 1 (or true)' }).optional(),
});

const decisionBody = z.object({ reason: z.string().max(1000, 'reason must be at most 1000 characters').optional() }).strict();

/** An agent's calls that wait for an operator: read by anyone signed in, decided by operators. */
export function approvalRoutes(approvals: Approvals) {
  return new Hono<AppEnv>()
    .use(requireRole('viewer'))
    .get('/', (c) => {
      // The inbox: what waits for a decision; ?all=1 adds the recently decided, ?status= picks one kind.
      const q = parseParams(listQuery, c.req.query(), 'query');
      return c.json({ data: approvals.list(q.status ?? (q.all ? undefined : 'pending')) } satisfies Rest.Data<Rest.Approval[]>);
    })
    .get('/:id', async (c) => {
      const id = parseParams(commandIdParam, c.req.param('id'), 'id');
      const found = await approvals.get(id);
      if (!found) throw notFound(`no approval ${id}`);
      return c.json({ data: found } satisfies Rest.Data<Rest.Approval>);
    })
    .post('/:id/approve', requireRole('operator'), async (c) => {
      const id = parseParams(commandIdParam, c.req.param('id'), 'id');
      const body = await parseJsonBody(c, decisionBody);
      return c.json({ data: await approvals.approve(id, c.get('principal')!, body.reason) } satisfies Rest.Data<Rest.Approval>);
    })
    .post('/:id/deny', requireRole('operator'), async (c) => {
      const id = parseParams(commandIdParam, c.req.param('id'), 'id');
      const body = await parseJsonBody(c, decisionBody);
      return c.json({ data: await approvals.deny(id, c.get('principal')!, body.reason) } satisfies Rest.Data<Rest.Approval>);
    });
}
