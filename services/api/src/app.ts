import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from '@molten/kit';
import type { AppEnv } from './app-env.js';
import { authenticate } from './auth/middleware.js';
import type { TokenRegistry } from './auth/tokens.js';
import { AGENT_TIMEOUT_MS, TOOL_TIMEOUT_MS } from './commands/submit.js';
import type { ControlPlane } from './control-plane.js';
import { ApiError, errorBody, sendError } from './errors.js';
import { RateLimiter } from './rate-limit.js';
import { agentRoutes } from './routes/agents.js';
import { commandRoutes } from './routes/commands.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { infrastructureRoutes } from './routes/infrastructure.js';
import { serverRoutes, type ValidateToolArguments } from './routes/servers.js';
import { sessionRoutes } from './routes/session.js';
import { dashboard } from './static-files.js';

export interface AppDeps {
  plane: ControlPlane;
  tokens: TokenRegistry;
  log: Logger;
  validateToolArguments: ValidateToolArguments;
  rate: { perMinute: number; burst: number };
  acceptTimeoutMs: number;
  timeoutMs: number;
  secureCookie: boolean;
  dashboardDir?: string;
  /** Extra routes mounted before the dashboard (e.g. /metrics). */
  extra?: (app: Hono<AppEnv>) => void;
  /** The per-token action limiter; pass one to share it with the gRPC surface. */
  limiter?: RateLimiter;
  /** Called once per answered request with its matched route (for metrics). */
  onResponse?: (r: { method: string; route: string; status: number; ms: number }) => void;
}

/** The api's HTTP surface. Dependencies come in, so tests call app.request() without a socket. */
export function createApp(d: AppDeps) {
  const limiter = d.limiter ?? new RateLimiter(d.rate.perMinute, d.rate.burst);
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
  app.use('/api/*', authenticate(d.tokens));

  const api = new Hono<AppEnv>()
    .route('/session', sessionRoutes(d.tokens, { secureCookie: d.secureCookie, signInLimiter: new RateLimiter(30, 10) }))
    .route('/health', healthRoutes(d.plane))
    .route('/', infrastructureRoutes({ plane: d.plane, log: d.log, limiter, acceptTimeoutMs: d.acceptTimeoutMs, timeoutMs: d.timeoutMs }))
    .route('/commands', commandRoutes(d.plane))
    .route('/events', eventRoutes(d.plane))
    .route(
      '/servers',
      serverRoutes({ plane: d.plane, log: d.log, limiter, validateToolArguments: d.validateToolArguments, acceptTimeoutMs: d.acceptTimeoutMs, toolTimeoutMs: TOOL_TIMEOUT_MS }),
    )
    .route('/agents', agentRoutes({ plane: d.plane, log: d.log, limiter, acceptTimeoutMs: d.acceptTimeoutMs, agentTimeoutMs: AGENT_TIMEOUT_MS }));
  app.route('/api', api);
  d.extra?.(app);
  app.all('/api/*', (c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}; see docs/api.md`), 404));
  if (d.dashboardDir) app.use('*', dashboard(d.dashboardDir));

  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => {
    if (err instanceof ApiError) return sendError(c, err);
    const requestId = c.get('requestId');
    if (err.name === 'CommandNotPublishedError' || /no responders|TIMEOUT|CONNECTION/i.test(`${err.message} ${(err as { code?: string }).code}`)) {
      d.log.warn({ requestId, err }, 'bus unavailable');
      return c.json(errorBody('bus_unavailable', 'the message bus (NATS) is not reachable right now; the command was not queued. Try again shortly.', { requestId }), 503);
    }
    d.log.error({ requestId, err, path: c.req.path }, 'request failed');
    return c.json(errorBody('internal', `something went wrong on our side (request ${requestId}); the log has the details`), 500);
  });
  return app;
}
