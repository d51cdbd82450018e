import { Hono } from 'hono';
import { z } from 'zod';
import type { UpstreamServer } from '@molten/contracts';
import type { AppEnv } from '../app-env.js';
import { assertRole } from '../auth/middleware.js';
import type { ControlPlane } from '../control-plane.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import type { RateLimiter } from '../rate-limit.js';
import { commandJson } from '../state/json.js';
import { idempotencyKeyHeader, parseJsonBody, parseParams } from '../validate.js';

export type ValidateToolArguments = (
  schema: unknown,
  args: unknown,
) => { ok: true } | { ok: false; errors: { path: string; message: string }[] };

const callBody = z
  .object({
    arguments: z.record(z.string(), z.unknown()).default({}),
    timeoutSeconds: z.number().int().min(1).max(3600).optional(),
    correlationId: z.string().max(100).optional(),
  })
  .strict();

export interface ServerRouteDeps {
  plane: ControlPlane;
  limiter: RateLimiter;
  validateToolArguments: ValidateToolArguments;
  acceptTimeoutMs: number;
  toolTimeoutMs: number;
}

/** Every upstream connection of every adapter (the MCP Overview), and tool calls as commands. */
export function serverRoutes({ plane, limiter, validateToolArguments, acceptTimeoutMs, toolTimeoutMs }: ServerRouteDeps) {
  const find = (id: string) => {
    const e = plane.state.list('server').find((s) => (s.value as UpstreamServer).id === id);
    if (!e) throw notFound(`no server "${id}"; GET /api/servers lists them`);
    return e.value as UpstreamServer;
  };
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
      const server = find(c.req.param('id'));
      const toolName = c.req.param('name');
      const tool = server.tools.find((t) => t.name === toolName);
      if (!tool) throw notFound(`server "${server.id}" has no tool "${toolName}"`);
      const cap = server.capabilities.find((x) => x.action === 'tool-call');
      if (!cap?.available) throw new ApiError(409, 'unsupported', `tools of "${server.id}" cannot be called through Molten${cap?.reason ? `: ${cap.reason}` : ''}`);
      const idempotencyKey = parseParams(idempotencyKeyHeader, c.req.header('idempotency-key'), 'Idempotency-Key');
      const body = await parseJsonBody(c, callBody);
      let schema: unknown = { type: 'object' };
      try {
        schema = JSON.parse(tool.inputSchemaJson || '{"type":"object"}');
      } catch {
        // A server sent a broken schema: let the server judge the arguments.
      }
      const check = validateToolArguments(schema, body.arguments);
      if (!check.ok) {
        const first = check.errors[0]!;
        throw badRequest(`arguments${first.path ? `.${first.path.replace(/^\//, '').replaceAll('/', '.')}` : ''}`, `the arguments do not match the input schema of ${tool.name}: ${check.errors.map((e) => `${e.path || '(root)'} ${e.message}`).join('; ')}`, {
          errors: check.errors,
        });
      }
      const principal = c.get('principal')!;
      const wait = limiter.take(principal.key);
      if (wait) throw new ApiError(429, 'rate_limited', `too many calls; try again in ${wait} s`, { retryAfterSeconds: wait }, { 'Retry-After': String(wait) });
      const now = plane.serverJson(server, false);
      if (now.status === 'down' || now.status === 'auth_failed') {
        throw new ApiError(503, 'upstream_unavailable', `${server.name} is ${now.status.replace('_', ' ')}: ${now.statusReason}`, now.remedy ? { remedy: now.remedy } : undefined);
      }
      const { record, duplicate } = await plane.submit({
        domain: server.domain,
        scope: server.scope,
        action: 'tool-call',
        payload: { $case: 'toolCall', value: { serverId: server.id, tool: tool.name, argumentsJson: JSON.stringify(body.arguments) } },
        actor: { kind: 'user', name: principal.name, role: principal.role },
        correlationId: body.correlationId,
        idempotencyKey,
        acceptTimeoutMs,
        timeoutMs: (body.timeoutSeconds ?? toolTimeoutMs / 1000) * 1000,
      });
      c.header('Location', `/api/commands/${record.command!.id}`);
      return c.json({ data: commandJson(record), duplicate }, duplicate ? 200 : 202);
    });
}
