import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MiddlewareHandler } from 'hono';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/**
 * Serves the built dashboard (a static SPA) on the api's origin: files as they are, hashed
 * assets cached for good, and index.html for every other GET so client-side routes work.
 */
export function dashboard(dir: string): MiddlewareHandler {
  const index = path.join(dir, 'index.html');
  return async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    const url = new URL(c.req.url);
    if (url.pathname.startsWith('/api/') || url.pathname === '/api' || url.pathname === '/metrics') return next();
    let decoded: string;
    try {
      decoded = decodeURIComponent(url.pathname);
    } catch {
      return c.text('Bad request: the path has a malformed percent-escape', 400);
    }
    if (decoded.includes('\0')) return c.text('Bad request: the path holds a NUL byte', 400);
    const rel = path.normalize(decoded).replace(/^(\.\.[/\\])+/, '');
    const file = path.join(dir, rel);
    if (!file.startsWith(dir)) return c.text('Not found', 404);
    let target = file;
    if (!existsSync(file) || rel.endsWith('/') || !path.extname(rel)) target = index;
    if (!existsSync(target)) {
      return c.html(
        '<!doctype html><title>Molten</title><p>The dashboard is not built. Run <code>npm start</code> (it builds it) or <code>npm run build -w @molten/dashboard</code>. The API is at <a href="/api/health">/api/health</a>.</p>',
        503,
      );
    }
    const body = await readFile(target);
    const immutable = rel.includes('/_app/immutable/');
    return c.body(body, 200, {
      'content-type': TYPES[path.extname(target)] ?? 'application/octet-stream',
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  };
}
