import { Hono } from 'hono';
import { z } from 'zod';
import type { UpstreamServer } from '@molten/contracts';
import type { AppEnv } from '../app-env.js';
import { assertRole } from '../auth/middleware.js';
import type { ControlPlane } from '../control-plane.js';
import type { Logger } from '@molten/kit';
import { findServer, submitToolCall, type ValidateToolArguments } from '../commands/submit-tool-call.js';
import { notFound } from '../errors.js';
import type { RateLimiter } from '../rate-limit.js';
import { commandJson } from '../state/json.js';
import { idempotencyKeyHeader, parseJsonBody, parseParams } from '../validate.js';

export type { ValidateToolArguments };

const callBody = z
  .object({
    arguments: z.record(z.string(), z.unknown()).default({}),
    timeoutSeconds: z.number().int().min(1).max(3600).optional(),
    correlationId: z.string().max(100).optional(),
  })
  .strict();

export interface ServerRouteDeps {
  plane: ControlPlane;
  log?: Logger;
  limiter: RateLimiter;
  validateToolArguments: ValidateToolArguments;
  acceptTimeoutMs: number;
  toolTimeoutMs: number;
}

/** Every upstream connection of every adapter (the MCP Overview), and tool calls as commands. */
export function serverRoutes({ plane, limiter, validateToolArguments, acceptTimeoutMs, toolTimeoutMs, log }: ServerRouteDeps) {
  const find = (id: string) => findServer({ plane }, id);
  return new Hono<AppEnv>()
    .get('/', (c) => {
      assertRole(c, 'viewer');
      const tools = c.req.query('tools') !== '0';
      const data = plane.state
        .list('server')
        .map((e) => plane.serverJson(e.value as UpstreamServer, tools))
        .sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
      return c.json({ data });
    })
    .get('/:id', (c) => {
      assertRole(c, 'viewer');
      return c.json({ data: plane.serverJson(find(c.req.param('id'))) });
    })
    .post('/:id/tools/:name/call', async (c) => {
      assertRole(c, 'operator');
      const server = findServer({ plane }, c.req.param('id'));
      const toolName = c.req.param('name');
      if (!server.tools.some((t) => t.name === toolName)) throw notFound(`server "${server.id}" has no tool "${toolName}"`);
      const idempotencyKey = parseParams(idempotencyKeyHeader, c.req.header('idempotency-key'), 'Idempotency-Key');
      const body = await parseJsonBody(c, callBody);
      const { record, duplicate } = await submitToolCall(
        { plane, limiter, acceptTimeoutMs, validateToolArguments, toolTimeoutMs, log },
        { principal: c.get('principal')!, idempotencyKey, correlationId: body.correlationId, requestId: c.get('requestId'), via: 'rest' },
        { serverId: server.id, tool: toolName, arguments: body.arguments, timeoutSeconds: body.timeoutSeconds },
      );
      c.header('Location', `/api/commands/${record.command!.id}`);
      return c.json({ data: commandJson(record), duplicate }, duplicate ? 200 : 202);
    });
}
