import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import { McpServer, createMcpHandler, type McpHttpHandler } from '@modelcontextprotocol/server';
import { z } from 'zod';

/**
 * An MCP server of the 2026-07-28 (stateless) generation, built with `@modelcontextprotocol/server`
 * v2: its tools carry titles and annotations (read-only, destructive, none), and tools can be
 * added at run time (announced on `subscriptions/listen` streams). Over HTTP (`createMcpHandler`,
 * by default refusing 2025-era clients) or over stdio (`mcp-modern-stdio.ts`, `serveStdio`).
 */

export interface ModernToolSpec {
  title?: string;
  description: string;
  annotations?: { title?: string; readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean };
  /** The text the tool answers with. */
  answer: (args: Record<string, unknown>) => string;
}

/** The tools every modern fixture starts with: one read-only, one destructive, one without annotations. */
export const MODERN_TOOLS: Record<string, ModernToolSpec> = {
  get_status: {
    title: 'Service status',
    description: 'Reports whether a service runs',
    annotations: { readOnlyHint: true, openWorldHint: false },
    answer: (a) => `${String(a.service ?? 'all')}: running`,
  },
  delete_volume: {
    title: 'Delete a volume',
    description: 'Deletes a volume and its data',
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    answer: (a) => `deleted ${String(a.service ?? '')}`,
  },
  echo: { description: 'Echoes the message', answer: (a) => `Echo: ${String(a.service ?? '')}` },
};

/** A fresh server over the given tools (createMcpHandler and serveStdio build one per request or connection). */
export function modernServer(tools: ReadonlyMap<string, ModernToolSpec>): McpServer {
  const server = new McpServer({ name: 'molten-modern-fixture', version: '2.4.0' });
  for (const [name, t] of tools) {
    server.registerTool(
      name,
      { title: t.title, description: t.description, inputSchema: z.object({ service: z.string().optional() }), annotations: t.annotations },
      async (args) => ({ content: [{ type: 'text', text: t.answer(args) }] }),
    );
  }
  return server;
}

export interface ModernMcpServer {
  /** http://127.0.0.1:<port>/mcp */
  url: string;
  port: number;
  /** Every HTTP request the server received, in order. */
  requests: { method: string; path: string; status: number; atMs: number; mcpMethod?: string }[];
  /** Adds a tool and announces it to open `subscriptions/listen` streams. */
  addTool(name: string, spec: ModernToolSpec): void;
  /** Stops listening (open streams are cut); the port stays reserved for start(). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The modern fixture over Streamable HTTP at /mcp on a free loopback port. `legacy: 'reject'`
 * (the default) answers a 2025-era `initialize` with HTTP 400 and -32022, as gateways that
 * dropped the older generation do; `'stateless'` also serves 2025-era clients. With `token`,
 * requests without `Authorization: Bearer <token>` get 401.
 */
export async function startModernMcpServer(opts: { legacy?: 'reject' | 'stateless'; token?: string } = {}): Promise<ModernMcpServer> {
  const tools = new Map(Object.entries(MODERN_TOOLS));
  const handler: McpHttpHandler = createMcpHandler(() => modernServer(tools), { legacy: opts.legacy ?? 'reject' });
  const requests: ModernMcpServer['requests'] = [];
  const listener = getRequestListener(async (req) => {
    const path = new URL(req.url).pathname;
    let mcpMethod: string | undefined;
    if (req.method === 'POST') {
      try {
        mcpMethod = ((await req.clone().json()) as { method?: string }).method;
      } catch {
        // not JSON: the handler answers it
      }
    }
    const done = (res: Response) => {
      requests.push({ method: req.method, path, status: res.status, atMs: Date.now(), mcpMethod });
      return res;
    };
    if (path !== '/mcp') return done(new Response('not found', { status: 404 }));
    if (opts.token && req.headers.get('authorization') !== `Bearer ${opts.token}`) {
      return done(new Response(JSON.stringify({ error: 'unauthorized' }), { status: 401, headers: { 'content-type': 'application/json' } }));
    }
    return done(await handler.fetch(req));
  });
  let server: http.Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = http.createServer(listener);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  };
  await listen();
  return {
    get url() {
      return `http://127.0.0.1:${port}/mcp`;
    },
    get port() {
      return port;
    },
    requests,
    addTool(name, spec) {
      tools.set(name, spec);
      handler.notify.toolsChanged();
    },
    stop,
    start: listen,
    async close() {
      await stop();
      await handler.close();
    },
  };
}

/** The stdio entry of the modern fixture, for a child process: `node --import tsx <MODERN_STDIO_BIN>`. */
export const MODERN_STDIO_BIN = fileURLToPath(new URL('./mcp-modern-stdio.ts', import.meta.url));
