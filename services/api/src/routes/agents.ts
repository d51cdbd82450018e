import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import type { Commands, Reads } from '../ports.js';
import { commandJson } from '../state/json.js';
import { agentIdPattern, idempotencyKeyHeader, parseJsonBody, parseParams, reasonField } from '../validate.js';
import type * as Rest from '@molten/contracts/rest';

const runBody = z
  .object({
    message: z.string().trim().min(1, 'message must not be empty').max(20_000),
    sessionKey: z.string().max(200).optional(),
    gateway: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    timeoutSeconds: z.number().int().min(1).max(3600).optional(),
    correlationId: z.string().max(100).optional(),
    reason: reasonField,
  })
  .strict();

/** The agent gateway: its health, agents and sessions; agent tasks as commands. */
export function agentRoutes({ reads, commands }: { reads: Reads; commands: Commands }) {
  return new Hono<AppEnv>()
    .use(requireRole('viewer'))
    .get('/', (c) => c.json({ data: reads.agents() } satisfies Rest.Data<Rest.AgentsAnswer>))
    .post('/:agentId/run', requireRole('operator'), async (c) => {
      const agentId = parseParams(z.string().regex(agentIdPattern, 'agentId must be an agent id'), c.req.param('agentId'), 'agentId');
      const idempotencyKey = parseParams(idempotencyKeyHeader, c.req.header('idempotency-key'), 'Idempotency-Key');
      const body = await parseJsonBody(c, runBody);
      const { record, duplicate } = await commands.agentRun(
        { principal: c.get('principal')!, idempotencyKey, correlationId: body.correlationId, reason: body.reason, requestId: c.get('requestId'), via: 'rest' },
        { agentId, message: body.message, sessionKey: body.sessionKey, gateway: body.gateway, timeoutSeconds: body.timeoutSeconds },
      );
      c.header('Location', `/api/commands/${record.command!.id}`);
      return c.json({ data: commandJson(record), duplicate } satisfies Rest.Queued, duplicate ? 200 : 202);
    });
}
