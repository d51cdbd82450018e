import { performance } from 'node:perf_hooks';
import type { CallToolResult, McpTool } from '@molten/mcp-client';
import { RequestGate, parseRetryAfter } from '@molten/mcp-client/request-gate';
import { registerSecret, sleep, type Logger } from '@molten/kit';
import { UpstreamError } from '../upstream-error.js';
import type { CallOptions, ClientHealth, ClientStatus, ProxmoxMcpClient, ToolAnswer } from './client.js';
import { bridgeHttpError, bridgeToolErrorText } from './errors.js';

export interface RestBridgeOptions {
  /** http://host:8811 (a path prefix, if the bridge sits behind one, is kept). */
  url: string;
  /** PROXMOX_API_KEY of the bridge, sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  log: Logger;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** Requests per minute Molten sends; 0: no limit of its own (default 600). */
  rateLimitRpm?: number;
  /** Requests in flight at once (default 4). */
  maxConcurrency?: number;
  /** How often /readyz is read for health and latency (default 5 s). */
  healthEveryMs?: number;
  /** How often /openapi.json is read for the tool catalog (default 60 s). */
  toolsEveryMs?: number;
}

/**
 * The REST bridge of ProxmoxMCP-Plus (openapi_proxy.py around mcpo): `POST /<tool>` with the
 * arguments as JSON body. Text tools answer a JSON string literal, JSON tools real JSON; a tool's
 * isError comes back as HTTP 500 and is returned here as an isError answer, like MCP would.
 * Health is /readyz (it tells whether the bridge still has its MCP server), the catalog is
 * /openapi.json. Its 429 carries no Retry-After: pauses grow from 1 s until a request passes.
 */
export class RestBridgeClient implements ProxmoxMcpClient {
  readonly transport = 'rest-bridge' as const;
  readonly endpoint: string;
  readonly #base: string;
  readonly #o: Required<Omit<RestBridgeOptions, 'apiKey'>> & Pick<RestBridgeOptions, 'apiKey'>;
  readonly #gate: RequestGate;
  readonly #closing = new AbortController();
  readonly #listeners = new Set<() => void>();
  #tools: McpTool[] = [];
  #toolsKnown = false;
  #health: ClientHealth = {
    status: 'connecting',
    reason: 'connecting',
    remedy: '',
    reachable: false,
    authenticated: false,
    usable: false,
    lastSeenMs: 0,
    statusSinceMs: Date.now(),
    version: '',
  };
  #timers: NodeJS.Timeout[] = [];
  #started = false;
  #closed = false;

  constructor(o: RestBridgeOptions) {
    const u = new URL(o.url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    this.#base = u.toString().replace(/\/+$/, '');
    this.endpoint = this.#base;
    registerSecret(o.apiKey);
    this.#o = { timeoutMs: 30_000, rateLimitRpm: 600, maxConcurrency: 4, healthEveryMs: 5_000, toolsEveryMs: 60_000, ...defined(o) };
    this.#gate = new RequestGate({ rpm: this.#o.rateLimitRpm, maxConcurrency: this.#o.maxConcurrency });
  }

  get tools(): readonly McpTool[] {
    return this.#tools;
  }

  get toolsKnown(): boolean {
    return this.#toolsKnown;
  }

  get health(): ClientHealth {
    return { ...this.#health };
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    void this.#check();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    for (const t of this.#timers) clearTimeout(t);
    this.#gate.close(new Error('closed'));
  }

  async whenReady(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!(this.#health.usable && this.#toolsKnown)) {
      if (Date.now() >= until || signal?.aborted || this.#closed) return false;
      await sleep(Math.min(100, until - Date.now()), signal).catch(() => {});
    }
    return true;
  }

  async call(tool: string, args: Record<string, unknown>, opts: CallOptions = {}): Promise<ToolAnswer> {
    let announced = false;
    const r = await this.#request('POST', `/${tool}`, {
      body: args,
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      mutating: opts.mutating ?? false,
      tool,
      beforeSend: async () => {
        if (announced) return;
        announced = true;
        await opts.beforeSend?.();
      },
    });
    if (r.status === 200) {
      // A text tool's answer is a JSON string literal; a JSON tool's is the JSON itself.
      const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body, null, 2);
      const result: CallToolResult = { content: [{ type: 'text', text }], isError: false };
      return { text, isError: false, result };
    }
    if (r.status === 500) {
      const text = bridgeToolErrorText(r.body);
      if (text !== undefined) return { text, isError: true, result: { content: [{ type: 'text', text }], isError: true } };
    }
    throw bridgeHttpError({ status: r.status, body: r.body, endpoint: this.endpoint, tool, mutating: opts.mutating ?? false });
  }

  // ---- health and catalog -------------------------------------------------------------------

  async #check(): Promise<void> {
    if (this.#closed) return;
    let next = this.#o.healthEveryMs;
    try {
      const started = performance.now();
      const r = await this.#request('GET', '/readyz', { timeoutMs: Math.min(this.#o.timeoutMs, 10_000), mutating: false });
      const latency = performance.now() - started;
      if (r.status === 200 || r.status === 503) {
        const connected = (r.body as { connected_to_mcp?: unknown } | undefined)?.connected_to_mcp !== false && r.status === 200;
        if (!this.#toolsKnown || Date.now() - this.#toolsReadAt >= this.#o.toolsEveryMs) await this.#readTools();
        this.#set(connected ? 'connected' : 'degraded', connected ? 'connected' : 'the REST bridge answers but lost its MCP server (/readyz: connected_to_mcp false)', connected ? '' : "Look at the bridge's logs: the stdio MCP server it starts exited.", {
          reachable: true,
          authenticated: true,
          usable: connected,
          latencyMs: latency,
          lastSeenMs: Date.now(),
        });
      } else {
        throw bridgeHttpError({ status: r.status, body: r.body, endpoint: this.endpoint, mutating: false });
      }
    } catch (err) {
      const e = err instanceof UpstreamError ? err : new UpstreamError({ code: 'upstream', message: String((err as Error)?.message ?? err) });
      if (e.code === 'rate_limited') next = Math.max(next, this.#gate.pausedForMs + 100);
      this.#failed(e);
    }
    if (!this.#closed) this.#timers = [setTimeout(() => void this.#check(), next)];
  }

  #toolsReadAt = 0;

  async #readTools(): Promise<void> {
    const r = await this.#request('GET', '/openapi.json', { timeoutMs: this.#o.timeoutMs, mutating: false });
    if (r.status !== 200) throw bridgeHttpError({ status: r.status, body: r.body, endpoint: this.endpoint, mutating: false });
    const doc = r.body as OpenApiDoc;
    const tools = toolsFromOpenApi(doc);
    this.#toolsReadAt = Date.now();
    const changed = !this.#toolsKnown || JSON.stringify(tools) !== JSON.stringify(this.#tools);
    this.#tools = tools;
    this.#toolsKnown = true;
    const version = doc.info ? `${doc.info.title ?? 'MCP OpenAPI Proxy'} ${doc.info.version ?? ''}`.trim() : '';
    if (version) this.#health.version = version;
    if (changed) this.#emit();
  }

  #failed(e: UpstreamError): void {
    const reachable = !['unreachable', 'timeout', 'tls'].includes(e.code);
    const status: ClientStatus = e.code === 'auth' ? 'auth_failed' : e.code === 'rate_limited' ? 'degraded' : reachable ? 'degraded' : 'down';
    this.#set(status, e.message, e.remedy, { reachable, authenticated: e.code !== 'auth' && reachable, usable: e.code === 'rate_limited' && this.#toolsKnown });
  }

  #set(status: ClientStatus, reason: string, remedy: string, more: Partial<ClientHealth>): void {
    const prev = this.#health;
    const next: ClientHealth = { ...prev, ...more, status, reason, remedy, statusSinceMs: status === prev.status ? prev.statusSinceMs : Date.now() };
    this.#health = next;
    if (prev.status !== next.status || prev.reason !== next.reason || prev.usable !== next.usable) {
      if (status !== 'connected') this.#o.log.warn({ endpoint: this.endpoint, status, reason }, 'ProxmoxMCP-Plus REST bridge not healthy');
      else if (prev.status !== 'connected') this.#o.log.info({ endpoint: this.endpoint, tools: this.#tools.length }, 'ProxmoxMCP-Plus REST bridge connected');
    }
    if (prev.status !== next.status || prev.reason !== next.reason || prev.usable !== next.usable || Math.abs((prev.latencyMs ?? 0) - (next.latencyMs ?? 0)) > 50) this.#emit();
  }

  #emit(): void {
    for (const l of this.#listeners) {
      try {
        l();
      } catch (err) {
        this.#o.log.warn({ err }, 'listener failed');
      }
    }
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  /**
   * One request through the gate. A 429 pauses the gate and is sent again (it was refused before
   * the bridge did anything) until the time is up; a request that may have reached the bridge is
   * never sent twice.
   */
  async #request(
    method: 'GET' | 'POST',
    path: string,
    o: { body?: unknown; timeoutMs?: number; signal?: AbortSignal; mutating: boolean; tool?: string; beforeSend?: () => Promise<void> },
  ): Promise<{ status: number; body: unknown }> {
    const timeoutMs = o.timeoutMs ?? this.#o.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const signals = [this.#closing.signal, ...(o.signal ? [o.signal] : [])];
    for (;;) {
      let release: () => void;
      try {
        release = await this.#gate.acquire({ deadlineMs: deadline, signal: AbortSignal.any(signals) });
      } catch (err) {
        if (this.#gate.pausedForMs > 0) throw bridgeHttpError({ status: 429, body: undefined, endpoint: this.endpoint, tool: o.tool, mutating: false });
        throw new UpstreamError({ code: 'timeout', message: `no slot to call ${o.tool ?? path} on ProxmoxMCP-Plus before the deadline (${(err as Error).message})`, outcomeUnknown: false });
      }
      let res: Response;
      let text: string;
      try {
        await o.beforeSend?.();
        const remaining = Math.max(1, deadline - Date.now());
        res = await fetch(`${this.#base}${path}`, {
          method,
          headers: {
            accept: 'application/json',
            ...(this.#o.apiKey ? { authorization: `Bearer ${this.#o.apiKey}` } : {}),
            ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
          },
          body: method === 'POST' ? JSON.stringify(o.body ?? {}) : undefined,
          signal: AbortSignal.any([...signals, AbortSignal.timeout(remaining)]),
        });
        text = await res.text();
      } catch (err) {
        throw transportError(err, this.endpoint, o.tool ?? path, o.mutating, o.signal?.aborted === true || this.#closing.signal.aborted);
      } finally {
        release();
      }
      if (res.status === 429) {
        this.#gate.serverPaused(parseRetryAfter(res.headers.get('retry-after')));
        if (Date.now() + this.#gate.pausedForMs < deadline) continue;
        throw bridgeHttpError({ status: 429, body: undefined, endpoint: this.endpoint, tool: o.tool, mutating: false });
      }
      if (res.ok) this.#gate.succeeded();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      if (res.ok) this.#health.lastSeenMs = Date.now();
      return { status: res.status, body };
    }
  }
}

/** The options that are set (an explicit undefined must not replace a default). */
export function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function transportError(err: unknown, endpoint: string, what: string, mutating: boolean, aborted: boolean): UpstreamError {
  const e = err as Error & { cause?: Error & { code?: string } };
  const code = e.cause?.code ?? (e as { code?: string }).code ?? '';
  // A refused or unresolvable connection never carried the request.
  const notSent = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_CONNECT_TIMEOUT/.test(code);
  if (aborted) return new UpstreamError({ code: 'timeout', message: `the call of ${what} was cancelled`, outcomeUnknown: mutating && !notSent, cause: err });
  if (e.name === 'TimeoutError' || /timeout/i.test(`${e.name} ${code}`)) {
    return new UpstreamError({
      code: 'timeout',
      message: `ProxmoxMCP-Plus at ${endpoint} did not answer ${what} in time`,
      remedy: 'Check that the REST bridge runs and that Proxmox answers it; raise PROXMOX_MCP_TIMEOUT_MS for slow clusters.',
      outcomeUnknown: mutating && !notSent,
      cause: err,
    });
  }
  return new UpstreamError({
    code: 'unreachable',
    message: `cannot reach ProxmoxMCP-Plus at ${endpoint}: ${code || e.cause?.message || e.message}`,
    remedy: 'Check that PROXMOX_MCP_URL points at the REST bridge (http://host:8811, PROXMOX_MCP_MODE=openapi) and that it runs.',
    outcomeUnknown: mutating && !notSent,
    cause: err,
  });
}

interface OpenApiDoc {
  info?: { title?: string; version?: string };
  paths?: Record<string, Record<string, { summary?: string; description?: string; requestBody?: { content?: Record<string, { schema?: unknown }> } }>>;
  components?: { schemas?: Record<string, unknown> };
}

/**
 * The tools in mcpo's /openapi.json: one `POST /<tool>` per tool (the bridge's /jobs routes and
 * anything with a path parameter are not tools), the request body's schema resolved from
 * components as the input schema.
 */
export function toolsFromOpenApi(doc: OpenApiDoc): McpTool[] {
  const out: McpTool[] = [];
  const schemas = doc.components?.schemas ?? {};
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    const m = /^\/([A-Za-z0-9_.-]+)$/.exec(path);
    const post = ops.post;
    if (!m || !post || m[1] === 'jobs') continue;
    const schema = post.requestBody?.content?.['application/json']?.schema;
    const resolved = schema ? resolveRefs(schema, schemas, 0) : { type: 'object', properties: {} };
    out.push({
      name: m[1]!,
      ...(post.summary ? { title: post.summary } : {}),
      description: post.description ?? '',
      inputSchema: { type: 'object', ...(resolved as object) } as McpTool['inputSchema'],
    });
  }
  return out;
}

function resolveRefs(node: unknown, schemas: Record<string, unknown>, depth: number): unknown {
  if (depth > 16 || !node || typeof node !== 'object') return node;
  if (Array.isArray(node)) return node.map((n) => resolveRefs(n, schemas, depth + 1));
  const ref = (node as { $ref?: unknown }).$ref;
  if (typeof ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
    return name && schemas[name] ? resolveRefs(schemas[name], schemas, depth + 1) : { type: 'object' };
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolveRefs(v, schemas, depth + 1)]));
}
