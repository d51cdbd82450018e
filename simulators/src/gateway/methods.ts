/**
 * Requests after the handshake: the frame and scope checks the gateway makes before a method
 * runs (v4 `FORBIDDEN missing scope: …`, v3 `INVALID_REQUEST`), strict params per method, and
 * the read methods' answers from the world (chat.history from its transcripts). `agent` and
 * `agent.wait` go to the runs.
 */
import type { z } from 'zod';
import type { GatewayContext } from './context.js';
import { hasScope, type Conn } from './connections.js';
import {
  DETAIL_CODES,
  ERROR_CODES,
  METHOD_SCOPES,
  SCOPES,
  agentIdentityParamsSchema,
  cronListParamsSchema,
  emptyParamsSchema,
  formatIssues,
  healthParamsSchema,
  requestFrameSchema,
  sessionsListParamsSchema,
} from './protocol.js';
import type { AgentRuns } from './runs.js';
import { chatHistoryParamsSchema } from './transcripts.js';

export function answerRequest(ctx: GatewayContext, runs: AgentRuns, conn: Conn, parsed: unknown): void {
  const frame = requestFrameSchema.safeParse(parsed);
  if (!frame.success) {
    const id = typeof (parsed as { id?: unknown })?.id === 'string' ? (parsed as { id: string }).id : 'invalid';
    return ctx.conns.fail(conn, id, { code: ERROR_CODES.INVALID_REQUEST, message: `invalid request frame: ${formatIssues(frame.error)}` });
  }
  const { id, method, params } = frame.data;
  try {
    dispatch(ctx, runs, conn, id, method, params ?? {});
  } catch (err) {
    ctx.log.error({ err, method }, 'simulated method failed');
    ctx.conns.fail(conn, id, { code: ERROR_CODES.UNAVAILABLE, message: String(err) });
  }
}

function dispatch(ctx: GatewayContext, runs: AgentRuns, conn: Conn, id: string, method: string, params: unknown): void {
  const { conns, world } = ctx;
  const ready = conn.ready!;
  const invalid = (message: string) => conns.fail(conn, id, { code: ERROR_CODES.INVALID_REQUEST, message });
  if (method === 'connect') return invalid('connect is only valid as the first request');
  if (!(method in METHOD_SCOPES)) return invalid(`unknown method: ${method}`);
  if (ready.role !== 'operator') return invalid(`unauthorized role: ${ready.role}`);
  const need = ctx.v4 && method === 'health' ? 'none' : METHOD_SCOPES[method]!;
  if (need !== 'none' && !hasScope(ready.scopes, need)) {
    const scope = need === 'read' ? SCOPES.read : SCOPES.write;
    return conns.fail(
      conn,
      id,
      ctx.v4
        ? { code: ERROR_CODES.FORBIDDEN, message: `missing scope: ${scope}`, details: { code: DETAIL_CODES.MISSING_SCOPE, missingScope: scope } }
        : { code: ERROR_CODES.INVALID_REQUEST, message: `missing scope: ${scope}` },
    );
  }
  const ok = (payload: unknown) => conns.respond(conn, id, true, payload);
  const parse = <T>(schema: z.ZodType<T>): T | undefined => {
    const r = schema.safeParse(params);
    if (r.success) return r.data;
    invalid(`invalid ${method} params: ${formatIssues(r.error)}`);
    return undefined;
  };

  switch (method) {
    case 'health':
      if (parse(healthParamsSchema)) ok(world.health());
      return;
    case 'status':
      if (parse(emptyParamsSchema)) ok(world.status());
      return;
    case 'agents.list':
      if (parse(emptyParamsSchema)) ok(world.agentsList());
      return;
    case 'agent.identity.get': {
      const q = parse(agentIdentityParamsSchema);
      if (q) ok(world.identity(q));
      return;
    }
    case 'sessions.list': {
      const q = parse(sessionsListParamsSchema);
      if (q) ok(world.sessionsList(q));
      return;
    }
    case 'cron.list': {
      const q = parse(cronListParamsSchema);
      if (q) ok(world.cronList(q));
      return;
    }
    case 'cron.status':
      if (parse(emptyParamsSchema)) ok(world.cronStatus());
      return;
    case 'system-presence':
      if (parse(emptyParamsSchema)) ok(world.presence(conns.presentClients()));
      return;
    case 'node.list':
      if (parse(emptyParamsSchema)) ok({ ts: Date.now(), nodes: [] });
      return;
    case 'chat.history': {
      const q = parse(chatHistoryParamsSchema(ctx.v4));
      if (q) ok(world.transcripts.history(q, world.sessions.find((s) => s.key === q.sessionKey)));
      return;
    }
    case 'agent':
      return runs.agent(conn, id, params);
    case 'agent.wait':
      return runs.agentWait(conn, id, params);
  }
}
