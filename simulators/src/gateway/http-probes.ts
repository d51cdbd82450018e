import type http from 'node:http';
import type { GatewayWorld } from './world.js';

/**
 * HTTP on the gateway's port: v4's unauthenticated probes (docs/gateway/health.md in the openclaw
 * package); v3 has no HTTP /health. Everything else is a 404 here (the real gateway serves its
 * Control UI and APIs, which Molten does not use).
 */
export function answerHttp(world: GatewayWorld, req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const uptimeMs = Date.now() - world.startedAt;
  if (world.v4 && (path === '/health' || path === '/healthz')) return json(200, { ok: true, status: 'live' });
  if (world.v4 && (path === '/ready' || path === '/readyz')) return json(200, { ready: true, failing: [], uptimeMs });
  if (world.v4 && (path === '/startup' || path === '/startupz')) return json(200, { ok: true, status: 'started', version: world.version, uptimeMs });
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('Not Found');
}
