import { Hono } from 'hono';
import { z } from 'zod';
import type { CommandError } from '@molten/contracts';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import { ApiError, notFound } from '../errors.js';
import type { Commands, Queries, Reads } from '../ports.js';
import { commandJson } from '../state/json.js';
import { agentIdPattern, idempotencyKeyHeader, parseJsonBody, parseParams, reasonField } from '../validate.js';
import { queryFailure } from './guest-reads.js';
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

const gatewayParam = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'gateway must be a gateway id (letters, digits, "-" and "_")');
const sessionKeyParam = z
  .string()
  .min(1, 'key must be a session key')
  .max(512, 'key must be at most 512 characters')
  .refine((k) => !/[\u0000-\u001f\u007f]/.test(k), 'key must not hold control characters');
const historyQuery = z
  .object({
    limit: z
      .string()
      .regex(/^[1-9][0-9]{0,3}$/, 'limit must be a number from 1 to 1000')
      .transform(Number)
      .pipe(z.number().max(1000, 'limit must be a number from 1 to 1000'))
      .optional(),
  })
  .strict();

/** The agent gateway: its health, agents and sessions; agent tasks as commands; a session's transcript. */
export function agentRoutes({ reads, commands, queries }: { reads: Reads; commands: Commands; queries?: Queries }) {
  return new Hono<AppEnv>()
    .use(requireRole('viewer'))
    .get('/', (c) => c.json({ data: reads.agents() } satisfies Rest.Data<Rest.AgentsAnswer>))
    .get('/sessions/:gateway/:key/history', async (c) => {
      const gateway = parseParams(gatewayParam, c.req.param('gateway'), 'gateway');
      const key = parseParams(sessionKeyParam, c.req.param('key'), 'key');
      const q = parseParams(historyQuery, c.req.query(), 'query');
      // A gateway the api knows none of yet (no adapter reported one) is asked anyway: the answer
      // is then the 503 naming the adapter to start, not a 404 that hides why.
      const known = reads.agents().gateways.map((g) => g.id);
      if (known.length && !known.includes(gateway)) throw notFound(`no agent gateway "${gateway}" is known; known gateways: ${known.join(', ')}`);
      if (!queries) throw new ApiError(503, 'upstream_unavailable', 'this api does not read session transcripts (no bus)');
      const reply = await queries.ask(gateway, 'session-history', { sessionKey: key, limit: q.limit ?? 200 });
      const r = reply.result;
      if (!r) throw new ApiError(503, 'upstream_unavailable', 'the moltbot-adapter answered with nothing');
      if (r.$case === 'error') {
        const e = r.value as CommandError;
        throw queryFailure(
          e.code === 'no_adapter'
            ? { ...e, message: `no moltbot-adapter answers for the gateway "${gateway}"`, remedy: `Start the moltbot-adapter for this gateway (MOLTBOT_GATEWAY_ID=${gateway}, MOLTBOT_URL and MOLTBOT_TOKEN pointing at it), or check its logs.` }
            : e,
        );
      }
      return c.json({
        data: r.value,
        meta: { gateway, fetchedAt: new Date(reply.fetchedAtMs || Date.now()).toISOString() },
      } satisfies Rest.SessionHistoryRead);
    })
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
