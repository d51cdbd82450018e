import { Hono } from 'hono';
import { z } from 'zod';
import { POWER_ACTIONS } from '@molten/contracts';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import type { Commands, Reads } from '../ports.js';
import { commandJson, guestJson, metaJson } from '../state/json.js';
import { clusterListQuery, idempotencyKeyHeader, parseJsonBody, parseParams, reasonField, vmidParam } from '../validate.js';
import type * as Rest from '@molten/contracts/rest';

const powerBody = z
  .object({
    reason: reasonField,
    correlationId: z.string().max(100).optional(),
  })
  .strict();

const powerAction = z.enum(POWER_ACTIONS, { message: `action must be one of ${POWER_ACTIONS.join(', ')}` });

/** The guests of a Proxmox cluster (GET /api/vms, /api/vms/{vmid}/status) and their power actions. */
export function vmRoutes({ reads, commands }: { reads: Reads; commands: Commands }) {
  return new Hono<AppEnv>()
    .use(requireRole('viewer'))
    .get('/', (c) => {
      const q = parseParams(clusterListQuery, c.req.query(), 'query');
      const s = reads.guests(q.cluster, { node: q.node, type: q.type, status: q.status, tag: q.tag });
      return c.json({ data: s.data.map((g) => guestJson(g, s)), meta: metaJson(s) } satisfies Rest.List<Rest.Guest>);
    })
    .get('/:vmid/status', (c) => {
      const vmid = parseParams(vmidParam, c.req.param('vmid'), 'vmid');
      const q = parseParams(clusterListQuery.pick({ cluster: true }), c.req.query(), 'query');
      const s = reads.guest(vmid, q.cluster);
      return c.json({ data: guestJson(s.data, s), meta: metaJson(s) } satisfies Rest.Data<Rest.Guest> & { meta: Rest.ListMeta });
    })
    .post('/:vmid/:action', requireRole('operator'), async (c) => {
      const vmid = parseParams(vmidParam, c.req.param('vmid'), 'vmid');
      const action = parseParams(powerAction, c.req.param('action'), 'action');
      const q = parseParams(clusterListQuery.pick({ cluster: true }), c.req.query(), 'query');
      const idempotencyKey = parseParams(idempotencyKeyHeader, c.req.header('idempotency-key'), 'Idempotency-Key');
      const body = await parseJsonBody(c, powerBody);
      const { record, duplicate } = await commands.power(
        { principal: c.get('principal')!, idempotencyKey, correlationId: body.correlationId, reason: body.reason, requestId: c.get('requestId'), via: 'rest' },
        { cluster: q.cluster, vmid, action },
      );
      c.header('Location', `/api/commands/${record.command!.id}`);
      return c.json({ data: commandJson(record), duplicate } satisfies Rest.Queued, duplicate ? 200 : 202);
    });
}
