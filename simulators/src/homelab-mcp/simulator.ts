import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  PingRequestSchema,
  isInitializeRequest,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '@molten/kit';
import { HomelabModel, ToolError } from './model.js';
import { homelabTools, registerTool, toResult, type RegisteredTool, type SimToolDefinition } from './tools.js';

export interface HomelabMcpSimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port); main.ts uses 6971. */
  port?: number;
  /** The Streamable HTTP endpoint (default /mcp). */
  path?: string;
  /** Require `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
  /** Also serve the legacy HTTP+SSE transport: GET /sse and POST /messages (default false). */
  legacySse?: boolean;
  /** Delay before answering ping, tools/list and tools/call (default 0). */
  latencyMs?: number;
  /** Requests per window per client address, answered 429 beyond it (default 0: no limit). */
  rateLimitRpm?: number;
  /** The window rateLimitRpm counts over (default 60 s, like ProxmoxMCP-Plus; shorter in tests). */
  rateLimitWindowMs?: number;
  /** Send Retry-After with a 429 (default true; ProxmoxMCP-Plus itself sends none). */
  retryAfter?: boolean;
  /** Tools per tools/list page (default 0: all in one page). */
  toolsPageSize?: number;
  log?: Logger;
  now?: () => number;
}

/** One HTTP request as the simulator saw it. */
export interface SimRequest {
  atMs: number;
  /** The client's address and port: one TCP connection. */
  client: string;
  method: string;
  path: string;
  /** The JSON-RPC method of a POST body (e.g. "tools/call"). */
  rpc?: string;
  tool?: string;
  status: number;
  /** Seconds sent in Retry-After with a 429. */
  retryAfterS?: number;
}

export interface SimCounters {
  /** tools/call requests received, by tool name (before argument validation). */
  toolCalls: Record<string, number>;
  /** JSON-RPC requests received, by method. */
  rpc: Record<string, number>;
  unauthorized: number;
  rateLimited: number;
  sessionsOpened: number;
  /** The most tool calls that ran at the same time. */
  maxConcurrentToolCalls: number;
}

export interface HomelabMcpSimulator {
  /** The Streamable HTTP URL, e.g. http://127.0.0.1:6971/mcp. */
  readonly url: string;
  /** The legacy SSE URL (served when legacySse is on). */
  readonly sseUrl: string;
  readonly port: number;
  readonly model: HomelabModel;
  readonly counters: SimCounters;
  readonly requests: readonly SimRequest[];
  /** Open MCP sessions. */
  readonly sessions: number;
  readonly running: boolean;
  /** Stops listening and drops every session, as a crash or restart would; start() brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
  /** Adds (or replaces) a tool at run time; every session is told with notifications/tools/list_changed. */
  addTool(name: string, def: SimToolDefinition): void;
  removeTool(name: string): void;
  setToken(token: string | undefined): void;
  setLatency(ms: number): void;
  setRateLimit(rpm: number, opts?: { windowMs?: number; retryAfter?: boolean }): void;
  resetCounters(): void;
}

interface Session {
  kind: 'streamable' | 'sse';
  transport: StreamableHTTPServerTransport | SSEServerTransport;
  server: Server;
}

const SERVER_INFO = { name: 'homelab-mcp', title: 'Homelab MCP (simulated)', version: '0.9.2' };
const INSTRUCTIONS =
  'Docker control and network scans for the homelab. List containers before acting on them; ' +
  'stop_container and restart_container interrupt services.';

function emptyCounters(): SimCounters {
  return { toolCalls: {}, rpc: {}, unauthorized: 0, rateLimited: 0, sessionsOpened: 0, maxConcurrentToolCalls: 0 };
}

/**
 * A real MCP server (the SDK's Server over Streamable HTTP, optionally the legacy SSE transport)
 * with Docker-style tools backed by an in-memory homelab, and the knobs tests need: stop/start on
 * the same port, run-time tools, a bearer token, latency, a ProxmoxMCP-Plus-style rate limit.
 */
export async function startHomelabMcpSimulator(opts: HomelabMcpSimulatorOptions = {}): Promise<HomelabMcpSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const mcpPath = opts.path ?? '/mcp';
  const now = opts.now ?? Date.now;
  const log = opts.log;
  const model = new HomelabModel(now);
  const tools = new Map<string, RegisteredTool>();
  for (const [name, def] of Object.entries(homelabTools())) tools.set(name, registerTool(name, def));

  let token = opts.token;
  let latencyMs = opts.latencyMs ?? 0;
  let rateLimit = { rpm: opts.rateLimitRpm ?? 0, windowMs: opts.rateLimitWindowMs ?? 60_000, retryAfter: opts.retryAfter ?? true };
  const hits = new Map<string, number[]>();
  let counters = emptyCounters();
  const requests: SimRequest[] = [];
  const sessions = new Map<string, Session>();
  let inFlightCalls = 0;
  let port = opts.port ?? 0;
  let http: HttpServer | undefined;

  const delay = (signal?: AbortSignal) =>
    latencyMs > 0
      ? new Promise<void>((resolve) => {
          const t = setTimeout(resolve, latencyMs);
          signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        })
      : Promise.resolve();

  function newServer(): Server {
    const server = new Server(SERVER_INFO, { capabilities: { tools: { listChanged: true } }, instructions: INSTRUCTIONS });
    server.setRequestHandler(PingRequestSchema, async (_req, extra) => {
      await delay(extra.signal);
      return {};
    });
    server.setRequestHandler(ListToolsRequestSchema, async (req, extra) => {
      await delay(extra.signal);
      const all = [...tools.values()].map((t) => t.listing);
      const size = opts.toolsPageSize ?? 0;
      if (size <= 0) return { tools: all };
      const offset = req.params?.cursor ? Number(Buffer.from(req.params.cursor, 'base64url').toString()) : 0;
      if (!Number.isInteger(offset) || offset < 0 || offset > all.length) throw new McpError(ErrorCode.InvalidParams, 'invalid cursor');
      const next = offset + size;
      return { tools: all.slice(offset, next), ...(next < all.length ? { nextCursor: Buffer.from(String(next)).toString('base64url') } : {}) };
    });
    server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
      const tool = tools.get(req.params.name);
      if (!tool) throw new McpError(ErrorCode.InvalidParams, `Tool ${req.params.name} not found`);
      inFlightCalls++;
      counters.maxConcurrentToolCalls = Math.max(counters.maxConcurrentToolCalls, inFlightCalls);
      try {
        await delay(extra.signal);
        const parsed = tool.parse(req.params.arguments);
        if (!parsed.ok) return { content: [{ type: 'text', text: parsed.message }], isError: true };
        try {
          return toResult(await tool.handler(parsed.args, { model, signal: extra.signal }));
        } catch (err) {
          if (err instanceof ToolError) return { content: [{ type: 'text', text: err.message }], isError: true };
          log?.error({ err, tool: req.params.name }, 'simulated tool failed');
          return { content: [{ type: 'text', text: `internal error in ${req.params.name}: ${(err as Error).message}` }], isError: true };
        }
      } finally {
        inFlightCalls--;
      }
    });
    return server;
  }

  async function closeSession(id: string): Promise<void> {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    await s.transport.close().catch(() => {});
    await s.server.close().catch(() => {});
  }

  /** ProxmoxMCP-Plus's RateLimitMiddleware: a sliding window per client address. */
  function rateLimited(client: string): number | undefined {
    if (rateLimit.rpm <= 0) return undefined;
    const t = now();
    const bucket = hits.get(client) ?? [];
    while (bucket.length > 0 && bucket[0]! <= t - rateLimit.windowMs) bucket.shift();
    hits.set(client, bucket);
    if (bucket.length >= rateLimit.rpm) return Math.max(1, Math.ceil((bucket[0]! + rateLimit.windowMs - t) / 1_000));
    bucket.push(t);
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const entry: SimRequest = {
      atMs: now(),
      client: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
      method: req.method ?? 'GET',
      path: url.pathname,
      status: 0,
    };
    requests.push(entry);
    if (requests.length > 5_000) requests.splice(0, requests.length - 5_000);
    // An event stream never finishes: its status is known once its headers are out.
    Object.defineProperty(entry, 'status', { get: () => (res.headersSent ? res.statusCode : 0), enumerable: true, configurable: true });
    res.on('close', () => Object.defineProperty(entry, 'status', { value: res.headersSent ? res.statusCode : 0, enumerable: true }));

    if (url.pathname === '/healthz') return json(res, 200, { status: 'ok' });
    const legacy = opts.legacySse === true && (url.pathname === '/sse' || url.pathname === '/messages');
    if (url.pathname !== mcpPath && !legacy) return json(res, 404, { error: 'not_found', message: `nothing at ${url.pathname}; MCP is at ${mcpPath}` });

    let body: unknown;
    if (req.method === 'POST') {
      try {
        body = await readJson(req);
      } catch {
        return json(res, 400, { jsonrpc: '2.0', error: { code: ErrorCode.ParseError, message: 'Parse error: the body is not JSON' }, id: null });
      }
      const first = Array.isArray(body) ? body[0] : body;
      entry.rpc = typeof first?.method === 'string' ? first.method : undefined;
      if (entry.rpc === 'tools/call') entry.tool = first?.params?.name;
    }

    if (token) {
      const auth = req.headers.authorization ?? '';
      if (auth !== `Bearer ${token}`) {
        counters.unauthorized++;
        res.setHeader('WWW-Authenticate', 'Bearer realm="homelab-mcp"');
        return json(res, 401, { error: 'unauthorized', error_description: auth ? 'Invalid bearer token' : 'Missing bearer token' });
      }
    }
    const retryAfterS = rateLimited(req.socket.remoteAddress ?? 'unknown');
    if (retryAfterS !== undefined) {
      counters.rateLimited++;
      if (rateLimit.retryAfter) {
        res.setHeader('Retry-After', String(retryAfterS));
        entry.retryAfterS = retryAfterS;
      }
      return json(res, 429, { status: 'rate_limited', message: 'Too many requests', limit_per_minute: rateLimit.rpm });
    }
    if (entry.rpc) counters.rpc[entry.rpc] = (counters.rpc[entry.rpc] ?? 0) + 1;
    if (entry.rpc === 'tools/call' && entry.tool) counters.toolCalls[entry.tool] = (counters.toolCalls[entry.tool] ?? 0) + 1;

    if (url.pathname === '/sse' && req.method === 'GET') return openLegacySse(res);
    if (url.pathname === '/messages' && req.method === 'POST') {
      const s = sessions.get(url.searchParams.get('sessionId') ?? '');
      if (!s || s.kind !== 'sse') return json(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      return (s.transport as SSEServerTransport).handlePostMessage(req, res, body);
    }
    if (url.pathname !== mcpPath) return json(res, 405, { error: 'method_not_allowed' });
    return streamable(req, res, body);
  }

  async function streamable(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const s = sessions.get(sid);
      if (!s || s.kind !== 'streamable') return json(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      return (s.transport as StreamableHTTPServerTransport).handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return json(res, 400, { jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: No valid session ID provided' }, id: null });
    }
    const server = newServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { kind: 'streamable', transport, server });
        counters.sessionsOpened++;
      },
    });
    transport.onclose = () => {
      if (transport.sessionId && sessions.get(transport.sessionId)?.transport === transport) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  async function openLegacySse(res: ServerResponse): Promise<void> {
    const server = newServer();
    const transport = new SSEServerTransport('/messages', res);
    sessions.set(transport.sessionId, { kind: 'sse', transport, server });
    counters.sessionsOpened++;
    res.on('close', () => void closeSession(transport.sessionId));
    await server.connect(transport);
  }

  async function listen(): Promise<void> {
    const server = createServer((req, res) => {
      handle(req, res).catch((err) => {
        log?.error({ err }, 'homelab MCP simulator request failed');
        if (!res.headersSent) json(res, 500, { jsonrpc: '2.0', error: { code: ErrorCode.InternalError, message: 'Internal server error' }, id: null });
        else res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
    http = server;
  }

  async function stop(): Promise<void> {
    const server = http;
    if (!server) return;
    http = undefined;
    await Promise.all([...sessions.keys()].map((id) => closeSession(id)));
    hits.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  await listen();
  log?.info({ url: `http://${host}:${port}${mcpPath}` }, 'homelab MCP simulator listening');

  const notifyToolsChanged = () => {
    for (const s of sessions.values()) void s.server.sendToolListChanged().catch(() => {});
  };

  return {
    get url() {
      return `http://${host}:${port}${mcpPath}`;
    },
    get sseUrl() {
      return `http://${host}:${port}/sse`;
    },
    get port() {
      return port;
    },
    model,
    get counters() {
      return counters;
    },
    requests,
    get sessions() {
      return sessions.size;
    },
    get running() {
      return http !== undefined;
    },
    stop,
    start: async () => {
      if (!http) await listen();
    },
    close: stop,
    addTool(name, def) {
      tools.set(name, registerTool(name, def));
      notifyToolsChanged();
    },
    removeTool(name) {
      if (tools.delete(name)) notifyToolsChanged();
    },
    setToken(t) {
      token = t;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    setRateLimit(rpm, o = {}) {
      rateLimit = { rpm, windowMs: o.windowMs ?? rateLimit.windowMs, retryAfter: o.retryAfter ?? rateLimit.retryAfter };
      hits.clear();
    },
    resetCounters() {
      counters = emptyCounters();
      requests.splice(0);
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4 * 1024 * 1024) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}
