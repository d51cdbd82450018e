import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, isInitializeRequest, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '@molten/kit';
import type { OutputFormat } from './format.js';
import { JobConflictError, JobNotFoundError, JobStore, type JobRecord } from './jobs.js';
import { fieldTitle, formModelSchema, inputSchema, validate, validationErrorText } from './params.js';
import { PveApi, pythonDict } from './pve-api.js';
import { TOOLS, ToolFailure, retryRecipe, toolNames, type ToolContext } from './tools.js';

export interface ProxmoxMcpSimulatorOptions {
  /** The Proxmox VE API it is a client of (a PVE simulator's url, token and CA). */
  pve: {
    url: string;
    /** `user@realm!tokenname=secret` */
    token: string;
    ca?: string;
    insecure?: boolean;
  };
  /** Default 127.0.0.1. */
  host?: string;
  /** The REST bridge (PROXMOX_MCP_MODE=openapi); 0 (default): a free port; false: not served. main.ts uses 8811. */
  restPort?: number | false;
  /** Native MCP Streamable HTTP at /mcp (PROXMOX_MCP_MODE=mcp-http); 0 (default): a free port; false: not served. main.ts uses 8000. */
  mcpPort?: number | false;
  /** PROXMOX_API_KEY for the REST bridge; undefined: no auth (PROXMOX_ALLOW_NO_AUTH=true). */
  apiKey?: string;
  /** MCP_API_KEY for native /mcp; undefined: no auth, as in v0.5.2. */
  mcpApiKey?: string;
  /** Text style: `ascii` (v0.4+, default), `emoji` (≤ v0.3, canvrno), `bullets` (ASCII tags with `•`). */
  format?: OutputFormat;
  /** PROXMOX_RATE_LIMIT_RPM on the REST bridge: 429 without Retry-After beyond it (default 0: off). */
  rateLimitRpm?: number;
  /** The window rateLimitRpm counts over (60 s as the real one; shorter in tests). */
  rateLimitWindowMs?: number;
  /** Reproduce v0.5.2's job bug: a task ending "WARNINGS: n" makes a failed job. */
  warningsAsFailed?: boolean;
  /** The job store and job tools (default true). false: "Job ID: n/a", no list_jobs/get_job/poll_job. */
  jobs?: boolean;
  /** get_nodes/get_storage/get_cluster_status caches of 5/10/5 s (default true). */
  cache?: boolean;
  /** Tools left out of the catalogue (MCP_TOOL_DENYLIST). */
  denyTools?: readonly string[];
  /**
   * How the REST bridge answers a tool's isError: `documented` (default) `500 {"detail":{"message":
   * "Error executing tool …"}}`; `mcpo` what mcpo 0.0.17+ actually sends, its HTTPException caught
   * by its own catch-all: `500 {"detail":{"message":"Unexpected error","error":"500: {'message': …}"}}`.
   */
  errorStyle?: 'documented' | 'mcpo';
  /** Also send `structuredContent: {"result": [...]}` on MCP (FastMCP with mcp ≥ 1.10 may). */
  structuredContent?: boolean;
  /** The mcp SDK version FastMCP reports as serverInfo.version. */
  sdkVersion?: string;
  /** Delay before each tool runs (default 0). */
  latencyMs?: number;
  log?: Logger;
}

/** One HTTP request as the simulator saw it. */
export interface ProxmoxMcpRequest {
  atMs: number;
  transport: 'rest' | 'mcp';
  method: string;
  path: string;
  status: number;
  /** The tool called (REST route or MCP tools/call). */
  tool?: string;
  /** The arguments as received. */
  args?: unknown;
}

export interface ProxmoxMcpCounters {
  /** Tool runs by name (after the bridge's own checks), per transport. */
  rest: Record<string, number>;
  mcp: Record<string, number>;
  unauthorized: number;
  rateLimited: number;
}

export interface ProxmoxMcpSimulator {
  /** http://127.0.0.1:PORT (the REST bridge). */
  readonly restUrl: string;
  /** http://127.0.0.1:PORT/mcp */
  readonly mcpUrl: string;
  readonly restPort: number;
  readonly mcpPort: number;
  readonly counters: ProxmoxMcpCounters;
  readonly requests: readonly ProxmoxMcpRequest[];
  /** Tool names as tools/list lists them. */
  toolNames(): string[];
  /** The job store's records, newest first. */
  jobs(): JobRecord[];
  /** Calls a tool in-process (no HTTP): the text, or the error text with isError. */
  callTool(name: string, args?: Record<string, unknown>): Promise<{ text: string; isError: boolean }>;
  setFormat(format: OutputFormat): void;
  setApiKey(key: string | undefined): void;
  setMcpApiKey(key: string | undefined): void;
  setRateLimit(rpm: number, windowMs?: number): void;
  setLatency(ms: number): void;
  /** The REST bridge's MCP session: false makes /readyz 503 and tool routes 500, as when its stdio server died. */
  setBridgeConnected(connected: boolean): void;
  resetCounters(): void;
  /** Closes both ports (sessions dropped); start() opens them again on the same ports. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const SERVER_NAME = 'ProxmoxMCP';

/**
 * A ProxmoxMCP-Plus server (v0.5.2 behaviour) backed by a Proxmox VE API: its tools and text,
 * the REST bridge on one port (mcpo's `POST /<tool>`, auth, 401/403/422/500, rate limit, health
 * routes, /openapi.json, /jobs) and native MCP Streamable HTTP at /mcp on another, sharing one job
 * store as the real two processes share their SQLite file.
 */
export async function startProxmoxMcpSimulator(opts: ProxmoxMcpSimulatorOptions): Promise<ProxmoxMcpSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log;
  const pve = new PveApi({ url: opts.pve.url, token: opts.pve.token, ca: opts.pve.ca, insecure: opts.pve.insecure });
  const jobStore = opts.jobs === false ? undefined : new JobStore({ pve, warningsAsFailed: opts.warningsAsFailed });
  const ctx: ToolContext = { pve, jobs: jobStore, format: opts.format ?? 'ascii', cache: opts.cache === false ? undefined : new Map() };
  const names = toolNames({ jobs: jobStore !== undefined, deny: opts.denyTools });
  const errorStyle = opts.errorStyle ?? 'documented';
  let apiKey = opts.apiKey;
  let mcpApiKey = opts.mcpApiKey;
  let rate = { rpm: opts.rateLimitRpm ?? 0, windowMs: opts.rateLimitWindowMs ?? 60_000 };
  let latencyMs = opts.latencyMs ?? 0;
  let bridgeConnected = true;
  const startedAt = Date.now();
  const hits = new Map<string, number[]>();
  let counters: ProxmoxMcpCounters = { rest: {}, mcp: {}, unauthorized: 0, rateLimited: 0 };
  const requests: ProxmoxMcpRequest[] = [];
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: Server }>();

  const listing: Tool[] = names.map((name) => ({ name, description: TOOLS[name]!.description, inputSchema: inputSchema(name, TOOLS[name]!.params) as Tool['inputSchema'] }));

  /** FastMCP's Tool.run: check the arguments (pydantic), run, wrap any exception. */
  async function runTool(name: string, args: unknown, transport: 'rest' | 'mcp'): Promise<{ text: string; isError: boolean }> {
    const def = names.includes(name) ? TOOLS[name] : undefined;
    if (!def) return { text: `Unknown tool: ${name}`, isError: true };
    counters[transport][name] = (counters[transport][name] ?? 0) + 1;
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    const checked = validate(def.params, args, { strict: true });
    if (!checked.ok) return { text: `Error executing tool ${name}: ${validationErrorText(`${name}Arguments`, checked.errors)}`, isError: true };
    try {
      return { text: await def.run(checked.value, ctx), isError: false };
    } catch (err) {
      if (!(err instanceof ToolFailure)) log?.warn({ err, tool: name }, 'simulated tool raised');
      return { text: `Error executing tool ${name}: ${(err as Error).message}`, isError: true };
    }
  }

  // ---- REST bridge (openapi_proxy.py + mcpo) ------------------------------------------------

  function record(transport: 'rest' | 'mcp', req: IncomingMessage, res: ServerResponse, path: string): ProxmoxMcpRequest {
    const entry: ProxmoxMcpRequest = { atMs: Date.now(), transport, method: req.method ?? 'GET', path, status: 0 };
    requests.push(entry);
    if (requests.length > 5_000) requests.splice(0, requests.length - 5_000);
    res.on('close', () => (entry.status = res.headersSent ? res.statusCode : 0));
    return entry;
  }

  /** RateLimitMiddleware: outermost after metrics, so even /livez counts; no Retry-After. */
  function limited(client: string): boolean {
    if (rate.rpm <= 0) return false;
    const now = Date.now();
    const bucket = hits.get(client) ?? [];
    while (bucket.length && bucket[0]! < now - rate.windowMs) bucket.shift();
    hits.set(client, bucket);
    if (bucket.length >= rate.rpm) return true;
    bucket.push(now);
    return false;
  }

  /** `_verify_authorization_header`: Bearer <key>, or Basic with the key as password. */
  function authFailure(header: string | undefined, key: string): { status: number; detail: string } | undefined {
    if (!header) return { status: 401, detail: 'Missing or invalid Authorization header' };
    const space = header.indexOf(' ');
    const scheme = space > 0 ? header.slice(0, space).toLowerCase() : '';
    const credentials = space > 0 ? header.slice(space + 1) : '';
    if (!scheme || !credentials) return { status: 401, detail: 'Missing or invalid Authorization header' };
    if (scheme === 'bearer') return constantTimeEqual(credentials, key) ? undefined : { status: 403, detail: 'Invalid API key' };
    if (scheme === 'basic') {
      let password: string | undefined;
      if (/^[A-Za-z0-9+/]*={0,2}$/.test(credentials) && credentials.length % 4 === 0) {
        const decoded = Buffer.from(credentials, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon >= 0) password = decoded.slice(colon + 1);
      }
      if (password === undefined) return { status: 401, detail: 'Invalid Basic Authentication format' };
      return constantTimeEqual(password, key) ? undefined : { status: 403, detail: 'Invalid credentials' };
    }
    return { status: 401, detail: 'Unsupported authorization method' };
  }

  function readiness(res: ServerResponse): void {
    json(res, bridgeConnected ? 200 : 503, {
      status: bridgeConnected ? 'ok' : 'degraded',
      connected_to_mcp: bridgeConnected,
      uptime_seconds: Math.round((Date.now() - startedAt) / 1000 * 1000) / 1000,
      server_type: 'stdio',
      command: 'python',
      args: ['-m', 'proxmox_mcp.server'],
      auth: { api_key_configured: apiKey !== undefined, strict_auth: apiKey !== undefined },
      rate_limit: { enabled: rate.rpm > 0, requests_per_minute: rate.rpm },
      jobs: { enabled: jobStore !== undefined },
      security_warnings: [
        ...(apiKey === undefined ? ['OpenAPI proxy is running without PROXMOX_API_KEY.', 'PROXMOX_ALLOW_NO_AUTH=true is set; OpenAPI proxy is running without an API key.'] : []),
        'CORS allows all origins; set MCPO_CORS_ALLOW_ORIGINS for production.',
      ],
    });
  }

  function openapi(): Record<string, unknown> {
    const paths: Record<string, unknown> = {};
    const schemas: Record<string, unknown> = {
      HTTPValidationError: {
        properties: { detail: { items: { $ref: '#/components/schemas/ValidationError' }, title: 'Detail', type: 'array' } },
        title: 'HTTPValidationError',
        type: 'object',
      },
      ValidationError: {
        properties: {
          loc: { items: { anyOf: [{ type: 'string' }, { type: 'integer' }] }, title: 'Location', type: 'array' },
          msg: { title: 'Message', type: 'string' },
          type: { title: 'Error Type', type: 'string' },
        },
        required: ['loc', 'msg', 'type'],
        title: 'ValidationError',
        type: 'object',
      },
    };
    for (const name of names) {
      const def = TOOLS[name]!;
      const hasParams = Object.keys(def.params).length > 0;
      const op: Record<string, unknown> = {
        summary: fieldTitle(name),
        description: def.description,
        operationId: `tool_${name}_post`,
        responses: {
          '200': { description: 'Successful Response', content: { 'application/json': { schema: {} } } },
          ...(hasParams ? { '422': { description: 'Validation Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/HTTPValidationError' } } } } } : {}),
        },
        ...(apiKey !== undefined ? { security: [{ HTTPBearer: [] }] } : {}),
      };
      if (hasParams) {
        schemas[`${name}_form_model`] = formModelSchema(name, def.params);
        op.requestBody = { content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}_form_model` } } }, required: true };
      }
      paths[`/${name}`] = { post: op };
    }
    // The bridge's own job routes are in the schema too (only its ops routes are hidden).
    if (jobStore) {
      const jobOp = (summary: string, status = '200') => ({ summary, operationId: summary.toLowerCase().replace(/ /g, '_'), responses: { [status]: { description: 'Successful Response', content: { 'application/json': { schema: {} } } } } });
      paths['/jobs'] = { get: jobOp('List Jobs') };
      paths['/jobs/{job_id}'] = { get: jobOp('Get Job') };
      paths['/jobs/{job_id}/poll'] = { post: jobOp('Poll Job') };
      paths['/jobs/{job_id}/cancel'] = { post: jobOp('Cancel Job', '202') };
      paths['/jobs/{job_id}/retry'] = { post: jobOp('Retry Job', '202') };
    }
    return {
      openapi: '3.1.0',
      info: { title: 'MCP OpenAPI Proxy', description: 'Automatically generated API from MCP Tool Schemas', version: '1.0' },
      paths,
      components: { schemas, ...(apiKey !== undefined ? { securitySchemes: { HTTPBearer: { type: 'http', scheme: 'bearer' } } } : {}) },
    };
  }

  async function handleRest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://bridge');
    const path = url.pathname;
    const entry = record('rest', req, res, path);
    if (limited(req.socket.remoteAddress ?? 'unknown')) {
      counters.rateLimited++;
      return json(res, 429, { status: 'rate_limited', message: 'Too many requests', limit_per_minute: rate.rpm });
    }
    if (apiKey !== undefined && req.method !== 'OPTIONS' && path !== '/livez') {
      const failure = authFailure(req.headers.authorization, apiKey);
      if (failure) {
        counters.unauthorized++;
        return json(res, failure.status, { detail: failure.detail }, failure.status === 401 ? { 'www-authenticate': 'Bearer, Basic' } : {});
      }
    }
    if (req.method === 'GET') {
      if (path === '/') return json(res, 200, { name: 'MCP OpenAPI Proxy', status: 'ok', docs: '/docs', openapi: '/openapi.json', health: '/health', livez: '/livez', readyz: '/readyz', metrics: '/metrics', jobs: '/jobs' });
      if (path === '/livez') return json(res, 200, { status: 'ok' });
      if (path === '/readyz' || path === '/health') return readiness(res);
      if (path === '/openapi.json') return json(res, 200, openapi());
      if (path === '/docs') return send(res, 200, 'text/html; charset=utf-8', '<!doctype html><title>MCP OpenAPI Proxy - Swagger UI</title><div id="swagger-ui"></div>');
      if (path === '/metrics') return send(res, 200, 'text/plain; version=0.0.4', metricsText());
    }
    const job = /^\/jobs(?:\/([^/]+))?(?:\/(poll|cancel|retry))?$/.exec(path);
    if (job) return jobRoute(req, res, url, job[1] ? decodeURIComponent(job[1]) : undefined, job[2]);

    const tool = path.slice(1);
    if (!names.includes(tool)) return json(res, 404, { detail: 'Not Found' });
    if (req.method !== 'POST') return json(res, 405, { detail: 'Method Not Allowed' });
    entry.tool = tool;
    const def = TOOLS[tool]!;
    let args: Record<string, unknown> = {};
    if (Object.keys(def.params).length > 0) {
      const raw = await readBody(req);
      let body: unknown;
      if (raw.trim() === '') body = undefined;
      else {
        try {
          body = JSON.parse(raw);
        } catch (err) {
          return json(res, 422, { detail: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: (err as Error).message } }] });
        }
      }
      entry.args = body;
      if (body === undefined) return json(res, 422, { detail: [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }] });
      // mcpo's rebuilt form model: types and required fields only.
      const checked = validate(def.params, body, { strict: false, locPrefix: ['body'] });
      if (!checked.ok) return json(res, 422, { detail: checked.errors });
      // model_dump(exclude_none=True): nulls and unset optionals are not passed on.
      args = Object.fromEntries(Object.entries(body as Record<string, unknown>).filter(([k, v]) => v !== null && k in def.params));
    } else {
      await readBody(req);
    }
    if (!bridgeConnected) return json(res, 500, { detail: { message: 'MCP session is not available' } });
    const result = await runTool(tool, args, 'rest');
    if (result.isError) {
      if (errorStyle === 'mcpo') {
        return json(res, 500, { detail: { message: 'Unexpected error', error: `500: ${pythonDict({ message: result.text })}` } });
      }
      return json(res, 500, { detail: { message: result.text } });
    }
    // process_tool_response: json.loads when it parses, else the text; one item, returned as is.
    let payload: unknown = result.text;
    try {
      payload = JSON.parse(result.text);
    } catch {
      payload = result.text;
    }
    return json(res, 200, payload);
  }

  async function jobRoute(req: IncomingMessage, res: ServerResponse, url: URL, id: string | undefined, op: string | undefined): Promise<void> {
    if (!jobStore) return json(res, 503, { status: 'unavailable', message: 'Job service is unavailable in this process' });
    try {
      if (req.method === 'GET' && !id) {
        const limit = Number(url.searchParams.get('limit') ?? 100);
        return json(res, 200, jobStore.list({ status: url.searchParams.get('status'), tool_name: url.searchParams.get('tool_name'), limit }));
      }
      if (req.method === 'GET' && id && !op) {
        const refresh = /^(1|true|yes|on)$/i.test(url.searchParams.get('refresh') ?? '');
        return json(res, 200, refresh ? await jobStore.poll(id) : jobStore.get(id));
      }
      if (req.method === 'POST' && id && op === 'poll') return json(res, 200, await jobStore.poll(id));
      if (req.method === 'POST' && id && op === 'cancel') return json(res, 202, await jobStore.cancel(id));
      if (req.method === 'POST' && id && op === 'retry') return json(res, 202, await jobStore.retry(id, (spec) => retryRecipe(ctx, spec)));
      return json(res, 405, { detail: 'Method Not Allowed' });
    } catch (err) {
      if (err instanceof JobNotFoundError) return json(res, 404, { status: 'not_found', message: 'Job was not found' });
      if (err instanceof JobConflictError) return json(res, 409, { status: 'conflict', message: 'Job cannot perform that operation right now' });
      return json(res, 400, { status: 'error', message: 'Job request failed' });
    }
  }

  function metricsText(): string {
    const lines = ['# HELP proxmox_mcp_http_requests_total HTTP requests by route', '# TYPE proxmox_mcp_http_requests_total counter'];
    const byRoute = new Map<string, number>();
    for (const r of requests) if (r.transport === 'rest') byRoute.set(`${r.method} ${r.path}`, (byRoute.get(`${r.method} ${r.path}`) ?? 0) + 1);
    for (const [k, n] of byRoute) {
      const [method, route] = k.split(' ');
      lines.push(`proxmox_mcp_http_requests_total{method="${method}",route="${route}"} ${n}`);
    }
    return `${lines.join('\n')}\n`;
  }

  // ---- native MCP (FastMCP streamable-http) -------------------------------------------------

  function newMcpServer(): Server {
    const server = new Server({ name: SERVER_NAME, version: opts.sdkVersion ?? '1.26.0' }, { capabilities: { tools: { listChanged: false } } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listing }));
    server.setRequestHandler(CallToolRequestSchema, async (req): Promise<CallToolResult> => {
      const r = await runTool(req.params.name, req.params.arguments ?? {}, 'mcp');
      const content = [{ type: 'text' as const, text: r.text }];
      if (r.isError) return { content, isError: true };
      return opts.structuredContent ? { content, structuredContent: { result: content }, isError: false } : { content, isError: false };
    });
    return server;
  }

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mcp');
    const entry = record('mcp', req, res, url.pathname);
    if (url.pathname !== '/mcp') return json(res, 404, { detail: 'Not Found' });
    if (mcpApiKey !== undefined) {
      const auth = req.headers.authorization ?? '';
      const token = /^Bearer (.+)$/i.exec(auth)?.[1];
      if (!token || !constantTimeEqual(token, mcpApiKey)) {
        counters.unauthorized++;
        res.setHeader('www-authenticate', 'Bearer error="invalid_token", error_description="Authentication required"');
        return json(res, 401, { error: 'invalid_token', error_description: 'Authentication required' });
      }
    }
    let body: unknown;
    if (req.method === 'POST') {
      try {
        const raw = await readBody(req);
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        return json(res, 400, { jsonrpc: '2.0', error: { code: ErrorCode.ParseError, message: 'Parse error' }, id: null });
      }
      const first = Array.isArray(body) ? body[0] : body;
      if (first?.method === 'tools/call') {
        entry.tool = first.params?.name;
        entry.args = first.params?.arguments;
      }
    }
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const s = sessions.get(sid);
      if (!s) return json(res, 404, { jsonrpc: '2.0', error: { code: -32600, message: 'Session not found' }, id: null });
      return s.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return json(res, 400, { jsonrpc: '2.0', error: { code: -32600, message: 'Bad Request: Missing session ID' }, id: null });
    }
    const server = newMcpServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID().replace(/-/g, ''),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId && sessions.get(transport.sessionId)?.transport === transport) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  // ---- ports --------------------------------------------------------------------------------

  const servers: { kind: 'rest' | 'mcp'; port: number; http?: HttpServer }[] = [];
  if (opts.restPort !== false) servers.push({ kind: 'rest', port: opts.restPort ?? 0 });
  if (opts.mcpPort !== false) servers.push({ kind: 'mcp', port: opts.mcpPort ?? 0 });

  async function listen(s: (typeof servers)[number]): Promise<void> {
    const http = createServer((req, res) => {
      const handler = s.kind === 'rest' ? handleRest : handleMcp;
      handler(req, res).catch((err) => {
        log?.error({ err }, 'ProxmoxMCP-Plus simulator request failed');
        if (!res.headersSent) json(res, 500, { detail: { message: 'Unexpected error', error: String((err as Error).message) } });
        else res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(s.port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    s.port = (http.address() as AddressInfo).port;
    s.http = http;
  }

  async function stop(): Promise<void> {
    for (const [id, sess] of [...sessions]) {
      sessions.delete(id);
      await sess.transport.close().catch(() => {});
      await sess.server.close().catch(() => {});
    }
    hits.clear();
    await Promise.all(
      servers.map(async (s) => {
        const http = s.http;
        if (!http) return;
        s.http = undefined;
        const closed = new Promise<void>((r) => http.close(() => r()));
        http.closeAllConnections();
        await closed;
      }),
    );
  }

  for (const s of servers) await listen(s);
  const portOf = (kind: 'rest' | 'mcp') => servers.find((s) => s.kind === kind)?.port ?? 0;
  log?.info({ rest: portOf('rest') || undefined, mcp: portOf('mcp') || undefined }, 'ProxmoxMCP-Plus simulator listening');

  return {
    get restUrl() {
      return `http://${host}:${portOf('rest')}`;
    },
    get mcpUrl() {
      return `http://${host}:${portOf('mcp')}/mcp`;
    },
    get restPort() {
      return portOf('rest');
    },
    get mcpPort() {
      return portOf('mcp');
    },
    get counters() {
      return counters;
    },
    requests,
    toolNames: () => [...names],
    jobs: () => jobStore?.list({ limit: 500 }) ?? [],
    callTool: (name, args = {}) => runTool(name, args, 'mcp'),
    setFormat(format) {
      ctx.format = format;
      ctx.cache?.clear();
    },
    setApiKey(key) {
      apiKey = key;
    },
    setMcpApiKey(key) {
      mcpApiKey = key;
    },
    setRateLimit(rpm, windowMs) {
      rate = { rpm, windowMs: windowMs ?? rate.windowMs };
      hits.clear();
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    setBridgeConnected(connected) {
      bridgeConnected = connected;
    },
    resetCounters() {
      counters = { rest: {}, mcp: {}, unauthorized: 0, rateLimited: 0 };
      requests.splice(0);
    },
    stop,
    async start() {
      for (const s of servers) if (!s.http) await listen(s);
    },
    async close() {
      await stop();
      pve.close();
    },
  };
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type }).end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4 * 1024 * 1024) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
