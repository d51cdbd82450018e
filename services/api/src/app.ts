import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from '@molten/kit';
import type { AppEnv } from './app-env.js';
import { TrustedProxies } from './auth/client-address.js';
import { authenticate } from './auth/middleware.js';
import { DEFAULT_BODY_LIMITS, limitBodies, type BodyLimits } from './body-limits.js';
import type { TokenRegistry } from './auth/tokens.js';
import { ApiError, errorBody, sendError } from './errors.js';
import type { Approvals, Commands, Events, Queries, Reads } from './ports.js';
import { RateLimiter } from './rate-limit.js';
import { agentRoutes } from './routes/agents.js';
import { approvalRoutes } from './routes/approvals.js';
import { clusterRoutes } from './routes/cluster.js';
import { commandRoutes } from './routes/commands.js';
import { eventRoutes } from './routes/events.js';
import { guestReadRoutes, nodeReadRoutes, taskRoutes } from './routes/guest-reads.js';
import type { SendBudget } from './sse/send-budget.js';
import { healthRoutes } from './routes/health.js';
import { nodeRoutes } from './routes/nodes.js';
import { serverRoutes } from './routes/servers.js';
import { sessionRoutes } from './routes/session.js';
import { storageRoutes } from './routes/storage.js';
import { vmRoutes } from './routes/vms.js';
import { dashboard } from './static-files.js';

export interface AppDeps {
  reads: Reads;
  commands: Commands;
  events: Events;
  /** Reads adapters answer on request (a guest's page, a session's transcript); the guest page's routes are mounted when given. */
  queries?: Queries;
  /** Agents' calls that wait for an operator; /api/approvals is mounted when given. */
  approvals?: Approvals;
  tokens: TokenRegistry;
  log: Logger;
  secureCookie?: boolean;
  dashboardDir?: string;
  /** Proxies whose X-Forwarded-For is believed (MOLTEN_TRUSTED_PROXIES); none by default. */
  trustedProxies?: TrustedProxies;
  /** Body sizes by route and bodies read at once (DEFAULT_BODY_LIMITS). */
  bodyLimits?: Partial<BodyLimits>;
  /** What SSE clients together may hold queued (a SendBudget with its defaults when left out). */
  sseBudget?: SendBudget;
  /** Molten's own MCP endpoint for agents (POST /mcp), mounted when given. */
  mcp?: { routes(): Hono<AppEnv> };
  /** Extra routes mounted before the dashboard (e.g. /metrics). */
  extra?: (app: Hono<AppEnv>) => void;
  /** Called once per answered request with its matched route (for metrics). */
  onResponse?: (r: { method: string; route: string; status: number; ms: number }) => void;
}

/**
 * The api's HTTP surface: one sub-app per resource under /api, each with its role checks as
 * middleware. The ports come in, so tests call app.request() without a socket or a bus.
 */
export function createApp(d: AppDeps) {
  const app = new Hono<AppEnv>();

  app.use('*', async (c, next) => {
    const requestId = c.req.header('x-request-id')?.slice(0, 64) || randomUUID();
    c.set('requestId', requestId);
    c.header('x-request-id', requestId);
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    c.header('x-frame-options', 'DENY');
    const started = performance.now();
    await next();
    const ms = Math.round((performance.now() - started) * 10) / 10;
    d.onResponse?.({ method: c.req.method, route: routePath(c, c.req.routeIndex), status: c.res.status, ms });
    if (c.req.path.startsWith('/api/')) {
      d.log.debug({ requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms }, 'request');
    }
  });
  app.use('/api/*', limitBodies({ ...DEFAULT_BODY_LIMITS, ...d.bodyLimits }));
  app.use('/api/*', authenticate(d.tokens));

  const api = new Hono<AppEnv>()
    .route('/session', sessionRoutes(d.tokens, { secureCookie: d.secureCookie ?? false, signInLimiter: new RateLimiter(30, 10), trustedProxies: d.trustedProxies ?? new TrustedProxies() }))
    .route('/health', healthRoutes(d.reads))
    .route('/nodes', nodeRoutes(d.reads))
    .route('/vms', vmRoutes(d))
    .route('/storage', storageRoutes(d.reads))
    .route('/cluster', clusterRoutes(d.reads))
    .route('/commands', commandRoutes(d.reads))
    .route('/events', eventRoutes(d.events, d.sseBudget))
    .route('/servers', serverRoutes(d))
    .route('/agents', agentRoutes(d));
  if (d.approvals) api.route('/approvals', approvalRoutes(d.approvals));
  if (d.queries) {
    const q = { reads: d.reads, queries: d.queries };
    api.route('/vms', guestReadRoutes(q)).route('/nodes', nodeReadRoutes(q)).route('/tasks', taskRoutes(q));
  }
  const routes = app.route('/api', api);
  if (d.mcp) app.route('/mcp', d.mcp.routes());
  d.extra?.(app);
  app.all('/api/*', (c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}; see docs/api.md`), 404));
  if (d.dashboardDir) app.use('*', dashboard(d.dashboardDir));

  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => {
    if (err instanceof ApiError) return sendError(c, err);
    const requestId = c.get('requestId');
    if (/max_payload/i.test(err.message)) {
      return c.json(errorBody('payload_too_large', 'the command is larger than the message bus takes (its max_payload); send smaller arguments'), 413);
    }
    if (err.name === 'CommandNotPublishedError' || /no responders|TIMEOUT|CONNECTION/i.test(`${err.message} ${(err as { code?: string }).code}`)) {
      d.log.warn({ requestId, err }, 'bus unavailable');
      return c.json(errorBody('bus_unavailable', 'the message bus (NATS) is not reachable right now; the command was not queued. Try again shortly.', { requestId }), 503);
    }
    d.log.error({ requestId, err, path: c.req.path }, 'request failed');
    return c.json(errorBody('internal', `something went wrong on our side (request ${requestId}); the log has the details`), 500);
  });
  return routes;
}

/** The api's routes and their answers, for a typed client (`hc<AppType>` from hono/client). */
export type AppType = ReturnType<typeof createApp>;
