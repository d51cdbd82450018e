import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { POWER_ACTIONS } from '@molten/contracts';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import type { Commands, Reads, SubmitCaller, Submitted } from '../ports.js';
import { commandJson, guestJson, metaJson } from '../state/json.js';
import { jsonList } from './json-list.js';
import { clusterListQuery, idempotencyKeyHeader, parseJsonBody, parseParams, reasonField, vmidParam } from '../validate.js';
import type * as Rest from '@molten/contracts/rest';

const powerBody = z
  .object({
    reason: reasonField,
    correlationId: z.string().max(100).optional(),
  })
  .strict();

const suspendBody = powerBody.extend({ todisk: z.boolean({ message: 'todisk must be true or false' }).optional() }).strict();
const snapshotBody = powerBody
  .extend({
    name: z.string({ message: 'name is required: the snapshot\'s name' }).max(40, 'name may be at most 40 characters long'),
    description: z.string().max(8192, 'description may be at most 8192 characters').optional(),
    vmstate: z.boolean({ message: 'vmstate must be true or false' }).optional(),
  })
  .strict();
const snapshotName = z.string().max(40, 'the snapshot name may be at most 40 characters long');

/** Built once: a zod schema costs more to build than to check, and every action request checks one. */
const clusterOnly = clusterListQuery.pick({ cluster: true });

const powerAction = z.enum(POWER_ACTIONS, { message: `action must be one of ${POWER_ACTIONS.join(', ')}` });

/** What every guest action reads from its request: the guest, the cluster, the caller and the body. */
async function actionRequest<S extends z.ZodType>(c: Context<AppEnv>, schema: S) {
  const vmid = parseParams(vmidParam, c.req.param('vmid'), 'vmid');
  const q = parseParams(clusterOnly, c.req.query(), 'query');
  const idempotencyKey = parseParams(idempotencyKeyHeader, c.req.header('idempotency-key'), 'Idempotency-Key');
  const body = (await parseJsonBody(c, schema)) as z.infer<S> & { reason?: string; correlationId?: string };
  const caller: SubmitCaller = { principal: c.get('principal')!, idempotencyKey, correlationId: body.correlationId, reason: body.reason, requestId: c.get('requestId'), via: 'rest' };
  return { vmid, cluster: q.cluster, caller, body };
}

/** 202 with the command (200 when the Idempotency-Key names one already queued) and where to follow it. */
function queued(c: Context<AppEnv>, { record, duplicate }: Submitted) {
  c.header('Location', `/api/commands/${record.command!.id}`);
  return c.json({ data: commandJson(record), duplicate } satisfies Rest.Queued, duplicate ? 200 : 202);
}

/** The guests of a Proxmox cluster (GET /api/vms, /api/vms/{vmid}/status) and their power actions. */
export function vmRoutes({ reads, commands }: { reads: Reads; commands: Commands }) {
  return new Hono<AppEnv>()
    .use(requireRole('viewer'))
    .get('/', (c) => {
      const q = parseParams(clusterListQuery, c.req.query(), 'query');
      const s = reads.guests(q.cluster, { node: q.node, type: q.type, status: q.status, tag: q.tag });
      return jsonList(c, s.data, (g): Rest.Guest => guestJson(g, s), metaJson(s) satisfies Rest.ListMeta);
    })
    .get('/:vmid/status', (c) => {
      const vmid = parseParams(vmidParam, c.req.param('vmid'), 'vmid');
      const q = parseParams(clusterOnly, c.req.query(), 'query');
      const s = reads.guest(vmid, q.cluster);
      return c.json({ data: guestJson(s.data, s), meta: metaJson(s) } satisfies Rest.Data<Rest.Guest> & { meta: Rest.ListMeta });
    })
    .post('/:vmid/suspend', requireRole('operator'), async (c) => {
      const a = await actionRequest(c, suspendBody);
      return queued(c, await commands.suspendResume(a.caller, { cluster: a.cluster, vmid: a.vmid, action: 'suspend', todisk: a.body.todisk }));
    })
    .post('/:vmid/resume', requireRole('operator'), async (c) => {
      const a = await actionRequest(c, powerBody);
      return queued(c, await commands.suspendResume(a.caller, { cluster: a.cluster, vmid: a.vmid, action: 'resume' }));
    })
    .post('/:vmid/snapshots', requireRole('operator'), async (c) => {
      const a = await actionRequest(c, snapshotBody);
      const { name, description, vmstate } = a.body;
      return queued(c, await commands.snapshot(a.caller, { cluster: a.cluster, vmid: a.vmid, action: 'create', name, description, vmstate }));
    })
    .post('/:vmid/snapshots/:name/rollback', requireRole('operator'), async (c) => {
      const a = await actionRequest(c, powerBody);
      const name = parseParams(snapshotName, c.req.param('name'), 'name');
      return queued(c, await commands.snapshot(a.caller, { cluster: a.cluster, vmid: a.vmid, action: 'rollback', name }));
    })
    .delete('/:vmid/snapshots/:name', requireRole('operator'), async (c) => {
      const a = await actionRequest(c, powerBody);
      const name = parseParams(snapshotName, c.req.param('name'), 'name');
      return queued(c, await commands.snapshot(a.caller, { cluster: a.cluster, vmid: a.vmid, action: 'delete', name }));
    })
    .post('/:vmid/:action', requireRole('operator'), async (c) => {
      const action = parseParams(powerAction, c.req.param('action'), 'action');
      const a = await actionRequest(c, powerBody);
      return queued(c, await commands.power(a.caller, { cluster: a.cluster, vmid: a.vmid, action }));
    });
}
