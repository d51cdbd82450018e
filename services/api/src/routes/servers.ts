import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import type { Commands, Reads } from '../ports.js';
import { commandJson } from '../state/json.js';
import { idempotencyKeyHeader, parseJsonBody, parseParams, reasonField } from '../validate.js';
import type * as Rest from '@molten/contracts/rest';

const callBody = z
  .object({
    arguments: z.record(z.string(), z.unknown()).default({}),
    timeoutSeconds: z.number().int().min(1).max(3600).optional(),
    correlationId: z.string().max(100).optional(),
    reason: reasonField,
  })
  .strict();

/** Every upstream connection of every adapter (the MCP Overview), and tool calls as commands. */
export function serverRoutes({ reads, commands }: { reads: Reads; commands: Commands }) {
  return new Hono<AppEnv>()
    .use(requireRole('viewer'))
    .get('/', (c) => c.json({ data: reads.servers({ tools: c.req.query('tools') !== '0' }) } satisfies Rest.Data<Rest.Server[]>))
    .get('/:id', (c) => c.json({ data: reads.server(c.req.param('id')) } satisfies Rest.Data<Rest.Server>))
    .post('/:id/tools/:name/call', requireRole('operator'), async (c) => {
      // An unknown server is a 404 before anything else is looked at.
      const server = reads.server(c.req.param('id'));
      const idempotencyKey = parseParams(idempotencyKeyHeader, c.req.header('idempotency-key'), 'Idempotency-Key');
      const body = await parseJsonBody(c, callBody);
      const { record, duplicate } = await commands.toolCall(
        { principal: c.get('principal')!, idempotencyKey, correlationId: body.correlationId, reason: body.reason, requestId: c.get('requestId'), via: 'rest' },
        { serverId: server.id, tool: c.req.param('name'), arguments: body.arguments, timeoutSeconds: body.timeoutSeconds },
      );
      c.header('Location', `/api/commands/${record.command!.id}`);
      return c.json({ data: commandJson(record), duplicate } satisfies Rest.Queued, duplicate ? 200 : 202);
    });
}
