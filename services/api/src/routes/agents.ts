import { Hono } from 'hono';
import { z } from 'zod';
import type { Agent, AgentSession, Gateway, UpstreamServer } from '@molten/contracts';
import type { AppEnv } from '../app-env.js';
import { assertRole } from '../auth/middleware.js';
import type { ControlPlane } from '../control-plane.js';
import type { Logger } from '@molten/kit';
import { submitAgentRun } from '../commands/submit-agent-run.js';
import type { RateLimiter } from '../rate-limit.js';
import { commandJson } from '../state/json.js';
import { idempotencyKeyHeader, parseJsonBody, parseParams } from '../validate.js';

const runBody = z
  .object({
    message: z.string().trim().min(1, 'message must not be empty').max(20_000),
    sessionKey: z.string().max(200).optional(),
    gateway: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    timeoutSeconds: z.number().int().min(1).max(3600).optional(),
    correlationId: z.string().max(100).optional(),
  })
  .strict();

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);

export interface AgentRouteDeps {
  plane: ControlPlane;
  log?: Logger;
  limiter: RateLimiter;
  acceptTimeoutMs: number;
  agentTimeoutMs: number;
}

/** The agent gateway: its health, agents and sessions; agent tasks as commands. */
export function agentRoutes({ plane, limiter, acceptTimeoutMs, agentTimeoutMs, log }: AgentRouteDeps) {
  return new Hono<AppEnv>()
    .get('/', (c) => {
      assertRole(c, 'viewer');
      const gateways = plane.state.list('gateway', { domain: 'moltbot' }).map((e) => {
        const g = e.value as Gateway;
        const f = plane.freshness('moltbot', e.address.scope);
        const descriptor = plane.state.list('server', { domain: 'moltbot', scope: e.address.scope })[0]?.value as UpstreamServer | undefined;
        const server = descriptor ? plane.serverJson(descriptor, false) : undefined;
        return {
          id: g.id || e.address.scope,
          version: g.version,
          protocol: g.protocol,
          uptimeMs: g.uptimeMs,
          // The live connection state comes with the server's health; the gateway record may lag.
          connection: server ? connectionOf(server.status) : plane.adapters.hasAdapter('moltbot', e.address.scope) ? g.connection : 'down',
          reason: server?.statusReason || g.reason,
          presenceCount: g.presenceCount,
          tickIntervalMs: g.tickIntervalMs,
          health: parse(g.healthJson),
          cron: parse(g.cronJson),
          lastSeen: iso(f.lastSeenMs),
          stale: f.stale,
        };
      });
      const agents = plane.state.list('agent', { domain: 'moltbot' }).map((e) => {
        const a = e.value as Agent;
        return { gateway: a.gateway || e.address.scope, id: a.id, name: a.name, description: a.description, isDefault: a.isDefault, model: a.model };
      });
      const sessions = plane.state
        .list('session', { domain: 'moltbot' })
        .map((e) => {
          const s = e.value as AgentSession;
          return { gateway: s.gateway || e.address.scope, key: s.key, agentId: s.agentId, title: s.title, updatedAt: iso(s.updatedAtMs), lastMessage: s.lastMessage, channel: s.channel, tokens: s.tokens };
        })
        .sort((a, b) => (b.updatedAt ?? '').localeCompare(a.updatedAt ?? ''));
      return c.json({ data: { gateways, agents, sessions } });
    })
    .post('/:agentId/run', async (c) => {
      assertRole(c, 'operator');
      const agentId = parseParams(z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'agentId must be an agent id'), c.req.param('agentId'), 'agentId');
      const idempotencyKey = parseParams(idempotencyKeyHeader, c.req.header('idempotency-key'), 'Idempotency-Key');
      const body = await parseJsonBody(c, runBody);
      const { record, duplicate } = await submitAgentRun(
        { plane, limiter, acceptTimeoutMs, agentTimeoutMs, log },
        { principal: c.get('principal')!, idempotencyKey, correlationId: body.correlationId, requestId: c.get('requestId'), via: 'rest' },
        { agentId, message: body.message, sessionKey: body.sessionKey, gateway: body.gateway, timeoutSeconds: body.timeoutSeconds },
      );
      c.header('Location', `/api/commands/${record.command!.id}`);
      return c.json({ data: commandJson(record), duplicate }, duplicate ? 200 : 202);
    });
}

function connectionOf(status: string): string {
  return status === 'degraded' ? 'connected' : status;
}

function parse(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
