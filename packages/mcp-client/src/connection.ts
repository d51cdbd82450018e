import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolResultSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { Backoff, registerSecret, sleep, type BackoffOptions, type Logger } from '@molten/kit';
import { describeEndpoint, hasCredentials, isStdio, requestHeaders, type McpEndpoint, type McpTransportKind } from './endpoint.js';
import {
  ConnectTimeoutError,
  ConnectionLostError,
  HttpStatusError,
  McpCallError,
  NoTransportError,
  UnreachableError,
  callError,
  diagnose,
  type Diagnosis,
} from './errors.js';
import { guardedFetch, type FetchObserver } from './guarded-fetch.js';
import { RequestGate, formatMs, type Release } from './request-gate.js';
import { listAllTools, sameTools, type McpTool } from './tool-catalog.js';

export type McpStatus = 'connecting' | 'connected' | 'degraded' | 'auth_failed' | 'down';

/** How one server is doing. reachable, authenticated and usable are separate on purpose. */
export interface McpHealth {
  status: McpStatus;
  /** Why it is in that status, in plain words. */
  reason: string;
  /** What to do about it; empty when nothing is wrong or nothing is to be done but wait. */
  remedy: string;
  /** The server answers at all (TCP/HTTP, or the process runs). */
  reachable: boolean;
  /** The server accepted the credentials (401/403 make this false). */
  authenticated: boolean;
  /** Tools can be called now: connected and the tool catalog is known. */
  usable: boolean;
  /** The transport in use (or last used). */
  transport?: McpTransportKind;
  /** The last ping's round trip. */
  latencyMs?: number;
  /** When the server last answered successfully (0: never). */
  lastSeenMs: number;
  statusSinceMs: number;
  /** The server's serverInfo from the handshake. */
  server?: { name: string; version: string; title?: string };
  protocolVersion?: string;
}

export interface McpConnectionOptions {
  /** The server's name (Molten's config key), used in messages. */
  name: string;
  endpoint: McpEndpoint;
  log: Logger;
  clientInfo?: { name: string; version: string };
  /** How often the server is pinged to measure health and latency (default 5 s). */
  pingIntervalMs?: number;
  /** A ping not answered in this time counts as missed; two in a row mean down (default 5 s). */
  pingTimeoutMs?: number;
  /** Time allowed for the handshake (default 10 s). */
  connectTimeoutMs?: number;
  /** Time allowed for each page of tools/list (default 15 s). */
  listTimeoutMs?: number;
  /** The tool catalog is read again this often, besides on list_changed (default 60 s). */
  toolsRefreshMs?: number;
  /** list_changed notifications within this time cause one refresh (default 250 ms). */
  listChangedDebounceMs?: number;
  /** After a disconnect the last tools stay listed this long before they are declared gone (default 30 s). */
  toolsGraceMs?: number;
  /** A ping slower than this makes the status degraded (default 2 s). */
  degradedLatencyMs?: number;
  /** Requests per minute sent to this server; 0: no limit (default 600). */
  rateLimitRpm?: number;
  /** Requests in flight at once; 0: no limit (default 8). */
  maxConcurrency?: number;
  /** The window rateLimitRpm counts over (default 60 s; shorter only in tests). */
  rateLimitWindowMs?: number;
  /** Delay between reconnect attempts (default 500 ms growing to 15 s). */
  reconnect?: BackoffOptions;
  /** How long a tool call waits for a connection that is not up (default 5 s, within its timeout). */
  connectWaitMs?: number;
  /** Default timeout of a tool call (default 60 s). */
  callTimeoutMs?: number;
  /** Extra words for remedies, e.g. which environment variable holds the token. */
  hints?: { auth?: string; unreachable?: string };
}

export interface CallToolOptions {
  /** The call fails with kind "timeout" after this long (default: callTimeoutMs). */
  timeoutMs?: number;
  /** Cancels the call (the server is told with notifications/cancelled). */
  signal?: AbortSignal;
  /**
   * Runs once, right before the request is sent (after waiting for the connection and the
   * rate limit), e.g. to record that the upstream call is being made.
   */
  beforeSend?: () => Promise<void> | void;
  /** Progress notifications the server sends for this call. */
  onProgress?: (progress: Progress) => void;
}

export interface McpConnectionEvents {
  /** The status, its reason, reachable/authenticated/usable, the transport or the server changed. */
  status: (health: McpHealth) => void;
  /** The tool catalog changed. */
  tools: (tools: readonly McpTool[]) => void;
}

interface Live {
  client: Client;
  transport: Transport;
  kind: McpTransportKind;
  gen: number;
}

type Phase = 'connecting' | 'up' | 'down' | 'closed';
type IssueKey = 'rate' | 'ping' | 'latency' | 'tools';

const DEFAULTS = {
  pingIntervalMs: 5_000,
  pingTimeoutMs: 5_000,
  connectTimeoutMs: 10_000,
  listTimeoutMs: 15_000,
  toolsRefreshMs: 60_000,
  listChangedDebounceMs: 250,
  toolsGraceMs: 30_000,
  degradedLatencyMs: 2_000,
  rateLimitRpm: 600,
  maxConcurrency: 8,
  rateLimitWindowMs: 60_000,
  connectWaitMs: 5_000,
  callTimeoutMs: 60_000,
};

/**
 * One MCP server, kept connected: the transport (Streamable HTTP with a fallback to SSE, or
 * stdio), health from pings, the tool catalog (paginated, refreshed on list_changed and
 * periodically), reconnects with backoff, a rate limit and concurrency cap that also honour the
 * server's 429 Retry-After, and tool calls. Changes are announced with on("status"|"tools").
 */
export class McpConnection {
  readonly name: string;
  /** Where the server is, without credentials. */
  readonly endpoint: string;
  readonly #o: typeof DEFAULTS & McpConnectionOptions;
  readonly #log: Logger;
  readonly #gate: RequestGate;
  readonly #backoff: Backoff;
  readonly #closing = new AbortController();
  readonly #listeners = { status: new Set<McpConnectionEvents['status']>(), tools: new Set<McpConnectionEvents['tools']>() };

  #phase: Phase = 'connecting';
  #live: Live | undefined;
  #gen = 0;
  #connecting: Promise<void> | undefined;
  #failure: Diagnosis | undefined;
  #failureLogged = '';
  readonly #issues = new Map<IssueKey, { reason: string; remedy: string }>();
  readonly #upWaiters = new Set<() => void>();
  #preferred: 'streamable-http' | 'sse' | undefined;
  #lastKind: McpTransportKind | undefined;
  #server: McpHealth['server'];
  #protocolVersion: string | undefined;
  #stderrTail = '';

  #tools: McpTool[] = [];
  #toolsKnown = false;
  #refreshing: Promise<void> | undefined;
  #refreshAgain = false;

  #latencyMs: number | undefined;
  #lastSeenMs = 0;
  #statusSinceMs = Date.now();
  #lastStatus: McpStatus | undefined;
  #lastEmitted = '';

  #pingTimer: NodeJS.Timeout | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  #debounceTimer: NodeJS.Timeout | undefined;
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(opts: McpConnectionOptions) {
    this.#o = { ...DEFAULTS, ...stripUndefined(opts) };
    this.name = opts.name;
    this.endpoint = describeEndpoint(opts.endpoint);
    this.#log = opts.log.child({ mcpServer: opts.name });
    const e = opts.endpoint;
    if (!isStdio(e)) {
      registerSecret(e.bearerToken);
      for (const v of Object.values(e.headers ?? {})) registerSecret(v);
    } else {
      for (const v of Object.values(e.env ?? {})) registerSecret(v);
    }
    this.#gate = new RequestGate({
      rpm: this.#o.rateLimitRpm,
      maxConcurrency: this.#o.maxConcurrency,
      windowMs: this.#o.rateLimitWindowMs,
      onPause: (ms, given) => this.#onServerPause(ms, given),
    });
    this.#backoff = new Backoff({ initialMs: 500, maxMs: 15_000, ...opts.reconnect });
  }

  /** Starts connecting in the background; status events tell how it goes. */
  start(): void {
    if (this.#phase === 'closed') throw new Error(`the connection to "${this.name}" is closed`);
    this.#emitHealth();
    this.#ensureConnecting();
  }

  async close(): Promise<void> {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#closing.abort();
    for (const t of [this.#pingTimer, this.#refreshTimer, this.#debounceTimer, this.#graceTimer]) clearTimeout(t);
    this.#gate.close(new ConnectionLostError(`the connection to "${this.name}" was closed`));
    for (const wake of this.#upWaiters) wake();
    const live = this.#live;
    this.#live = undefined;
    if (live) await this.#dispose(live, true);
    await this.#connecting?.catch(() => {});
  }

  on<E extends keyof McpConnectionEvents>(event: E, listener: McpConnectionEvents[E]): () => void {
    const set = this.#listeners[event] as Set<McpConnectionEvents[E]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  get health(): McpHealth {
    return { ...this.#computeHealth(), statusSinceMs: this.#statusSinceMs };
  }

  /** The tool catalog as the server listed it (kept through a disconnect for toolsGraceMs). */
  get tools(): readonly McpTool[] {
    return this.#tools;
  }

  tool(name: string): McpTool | undefined {
    return this.#tools.find((t) => t.name === name);
  }

  /** True once the catalog has been read since the last time it was declared gone. */
  get toolsKnown(): boolean {
    return this.#toolsKnown;
  }

  get transport(): McpTransportKind | undefined {
    return this.#live?.kind ?? this.#lastKind;
  }

  get pingIntervalMs(): number {
    return this.#o.pingIntervalMs;
  }

  /** Resolves true once connected with the tool catalog read (false after timeoutMs or when closed). */
  async whenConnected(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#phase !== 'up') await this.#waitUp(Date.now() + timeoutMs, signal);
    return this.#isUp();
  }

  /** Reads the tool catalog now (list_changed and the periodic refresh call this too). */
  refreshTools(): Promise<void> {
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#refreshAgain = false;
        await this.#refreshToolsOnce();
      } while (this.#refreshAgain && this.#live);
    })().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /**
   * Calls a tool and returns its result as the server sent it (an isError result is a result,
   * not an exception). Throws McpCallError when there is no result; its `delivered` says whether
   * the server may have run the tool. A request the server never received is retried within the
   * timeout (after a 429's Retry-After, or on a new connection).
   */
  async callTool(name: string, args: Record<string, unknown> = {}, opts: CallToolOptions = {}): Promise<CallToolResult> {
    const timeoutMs = opts.timeoutMs ?? this.#o.callTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const { signal } = opts;
    let announced = false;
    for (let attempt = 1; ; attempt++) {
      const live = await this.#liveOrThrow(deadline, signal, name);
      let release: Release;
      try {
        release = await this.#gate.acquire({ deadlineMs: deadline, signal });
      } catch (err) {
        throw this.#callFailure(name, this.#diagnose(err), signal);
      }
      try {
        if (this.#live !== live) continue; // replaced while waiting: use the new one
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new McpCallError('timeout', `calling ${name} on "${this.name}": no time left before the deadline`, 'no');
        if (!announced) {
          announced = true;
          await opts.beforeSend?.();
        }
        const result = await live.client.request({ method: 'tools/call', params: { name, arguments: args } }, CallToolResultSchema, {
          timeout: Math.max(1, deadline - Date.now()),
          signal,
          onprogress: opts.onProgress,
        });
        this.#seen();
        this.#emitHealth();
        return result as CallToolResult;
      } catch (err) {
        if (err instanceof McpCallError) throw err;
        const d = this.#diagnose(err);
        const aborted = signal?.aborted === true;
        if (!aborted && breaksConnection(d)) this.#lost(live.gen, err, d);
        const retryable = d.delivered === 'no' && (d.cause === 'rate_limited' || d.cause === 'unreachable' || d.cause === 'http');
        if (!aborted && retryable && attempt < 4 && Date.now() < deadline) {
          this.#log.debug({ tool: name, reason: d.reason }, 'tool call not delivered; trying again');
          continue;
        }
        throw this.#callFailure(name, d, signal);
      } finally {
        release();
      }
    }
  }

  // --- connecting -------------------------------------------------------------------------

  #ensureConnecting(): void {
    if (this.#connecting || this.#phase === 'closed') return;
    this.#connecting = this.#connectLoop().finally(() => {
      this.#connecting = undefined;
    });
  }

  async #connectLoop(): Promise<void> {
    while (this.#phase !== 'closed' && !this.#live) {
      const gen = ++this.#gen;
      try {
        const live = await this.#open(gen);
        if (this.#isClosed()) {
          await this.#dispose(live, true);
          return;
        }
        // Connected means tools can be called: the status says so once the catalog is read.
        this.#attach(live);
        await this.refreshTools();
        if (this.#live === live) {
          this.#up(live);
          this.#schedulePing(gen);
          this.#scheduleRefresh(gen);
          this.#emitHealth();
          for (const wake of this.#upWaiters) wake();
          return;
        }
        // Lost again while reading the catalog: wait before the next attempt.
      } catch (err) {
        if (this.#isClosed()) return;
        this.#failed(this.#diagnose(err));
      }
      const retryAfter = this.#failure?.retryAfterMs ?? 0;
      await sleep(Math.max(this.#backoff.next(), retryAfter), this.#closing.signal);
    }
  }

  /** Opens a connection over the configured transport, falling back between HTTP transports on a 4xx. */
  async #open(gen: number): Promise<Live> {
    const e = this.#o.endpoint;
    if (isStdio(e)) return this.#openWith('stdio', gen);
    const order: ('streamable-http' | 'sse')[] =
      e.transport === 'sse' ? ['sse'] : e.transport === 'streamable-http' ? ['streamable-http'] : this.#preferred === 'sse' ? ['sse', 'streamable-http'] : ['streamable-http', 'sse'];
    const attempts: { transport: string; error: unknown }[] = [];
    for (const kind of order) {
      try {
        const live = await this.#openWith(kind, gen);
        this.#preferred = kind;
        return live;
      } catch (err) {
        attempts.push({ transport: kind, error: err });
        const d = this.#diagnose(err);
        if (!d.tryOtherTransport || kind === order[order.length - 1]) break;
        this.#log.debug({ transport: kind, reason: d.reason }, 'transport refused; trying the other one');
      }
    }
    if (attempts.length === 1) throw attempts[0]!.error;
    throw new NoTransportError(attempts);
  }

  async #openWith(kind: McpTransportKind, gen: number): Promise<Live> {
    const observer: FetchObserver = {};
    const transport = this.#transport(kind, observer);
    const client = this.#client(gen);
    const timeoutMs = this.#o.connectTimeoutMs;
    const release = await this.#gate.acquire({ deadlineMs: Date.now() + timeoutMs, signal: this.#closing.signal });
    let timer: NodeJS.Timeout | undefined;
    try {
      const connecting = client.connect(transport, { timeout: timeoutMs });
      connecting.catch(() => {});
      await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ConnectTimeoutError(`${this.endpoint} did not complete the MCP handshake within ${formatMs(timeoutMs)}`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      await client.close().catch(() => {});
      await transport.close().catch(() => {});
      // EventSource hides why it failed; the fetch saw it.
      const known = err instanceof HttpStatusError || err instanceof UnreachableError || err instanceof ConnectTimeoutError;
      throw !known && observer.lastFailure ? observer.lastFailure : err;
    } finally {
      clearTimeout(timer);
      release();
    }
    this.#server = client.getServerVersion();
    this.#protocolVersion = (transport as { protocolVersion?: string }).protocolVersion;
    return { client, transport, kind, gen };
  }

  #transport(kind: McpTransportKind, observer: FetchObserver): Transport {
    const e = this.#o.endpoint;
    if (isStdio(e)) {
      const t = new StdioClientTransport({
        command: e.command,
        args: e.args,
        env: { ...getDefaultEnvironment(), ...(e.env ?? {}) },
        cwd: e.cwd,
        stderr: 'pipe',
      });
      t.stderr?.on('data', (chunk: Buffer) => {
        this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-2_000);
      });
      return t;
    }
    const url = new URL(e.url);
    const requestInit = { headers: requestHeaders(e) };
    const fetch = guardedFetch(this.#gate, observer);
    return kind === 'sse' ? new SSEClientTransport(url, { requestInit, fetch }) : new StreamableHTTPClientTransport(url, { requestInit, fetch });
  }

  #client(gen: number): Client {
    const info = this.#o.clientInfo ?? { name: 'molten', version: '0.1.0' };
    const client = new Client(info, { capabilities: {} });
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      if (this.#live?.gen === gen) this.#toolsChanged();
    });
    client.onerror = (err) => {
      if (this.#live?.gen !== gen) return;
      // A broken event stream shows up here first; a ping tells whether the connection is gone.
      this.#log.debug({ err }, 'transport reported an error; checking the connection');
      this.#checkSoon(gen);
    };
    client.onclose = () => {
      if (this.#live?.gen !== gen) return;
      const said = this.#lastStderrLine();
      const message = this.#live.kind === 'stdio' ? `the server process exited${said ? `; it last said: ${said}` : ''}` : `${this.endpoint} closed the connection`;
      this.#lost(gen, new ConnectionLostError(message));
    };
    return client;
  }

  #attach(live: Live): void {
    this.#live = live;
    this.#lastKind = live.kind;
    this.#seen();
  }

  #up(live: Live): void {
    this.#phase = 'up';
    this.#failure = undefined;
    this.#failureLogged = '';
    this.#backoff.reset();
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    const s = this.#server;
    this.#log.info(
      { transport: live.kind, server: s ? `${s.name} ${s.version}` : undefined, endpoint: this.endpoint, tools: this.#tools.length },
      'MCP server connected',
    );
  }

  #failed(d: Diagnosis): void {
    this.#failure = d;
    if (this.#phase !== 'closed') this.#phase = 'down';
    this.#startGrace();
    this.#emitHealth();
    // The first failure of a kind is worth a warning; repeats of it are not.
    const key = `${d.status}:${d.reason}`;
    if (key !== this.#failureLogged) {
      this.#failureLogged = key;
      this.#log.warn({ status: d.status, reason: d.reason, remedy: d.remedy }, 'MCP server not connected; retrying');
    } else {
      this.#log.debug({ reason: d.reason }, 'MCP server still not connected');
    }
  }

  /** The live connection broke: drop it, keep the tools for the grace period, reconnect. */
  #lost(gen: number, err: unknown, d = this.#diagnose(err)): void {
    const live = this.#live;
    if (!live || live.gen !== gen || this.#phase === 'closed') return;
    this.#live = undefined;
    for (const t of [this.#pingTimer, this.#refreshTimer, this.#debounceTimer]) clearTimeout(t);
    this.#issues.clear();
    const down: Diagnosis = d.status === 'auth_failed' ? d : { ...d, status: 'down' };
    this.#log.warn({ reason: down.reason }, 'MCP server connection lost; reconnecting');
    this.#failureLogged = `${down.status}:${down.reason}`;
    this.#failure = down;
    this.#phase = 'down';
    void this.#dispose(live, false);
    this.#startGrace();
    this.#emitHealth();
    this.#ensureConnecting();
  }

  async #dispose(live: Live, polite: boolean): Promise<void> {
    if (polite && live.transport instanceof StreamableHTTPClientTransport) {
      // Tell the server the session is over (DELETE), without waiting long for it.
      await Promise.race([live.transport.terminateSession().catch(() => {}), sleep(1_000)]);
    }
    await live.client.close().catch(() => {});
  }

  async #waitUp(deadline: number, signal?: AbortSignal): Promise<void> {
    if (this.#phase === 'up' || this.#phase === 'closed') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#upWaiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      this.#upWaiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  async #liveOrThrow(deadline: number, signal: AbortSignal | undefined, tool: string): Promise<Live> {
    // A server that refuses the credentials will not accept them a few seconds later: no waiting.
    if (!this.#live && this.#failure?.status !== 'auth_failed') await this.#waitUp(Math.min(deadline, Date.now() + this.#o.connectWaitMs), signal);
    if (signal?.aborted) throw new McpCallError('aborted', `calling ${tool}: cancelled before it was sent`, 'no');
    if (this.#live) return this.#live;
    const h = this.health;
    throw new McpCallError(h.status === 'auth_failed' ? 'auth_failed' : 'not_connected', `"${this.name}" is ${h.status.replace('_', ' ')}: ${h.reason}`, 'no', h.remedy);
  }

  // --- health -----------------------------------------------------------------------------

  #schedulePing(gen: number, inMs = this.#o.pingIntervalMs): void {
    clearTimeout(this.#pingTimer);
    this.#pingTimer = setTimeout(() => void this.#ping(gen), inMs);
  }

  #checkSoon(gen: number): void {
    this.#schedulePing(gen, 100);
  }

  async #ping(gen: number): Promise<void> {
    const live = this.#live;
    if (!live || live.gen !== gen) return;
    // Busy or paused by the server: the traffic (or the pause) says enough; look again later.
    const release = this.#gate.tryAcquire();
    if (!release) {
      this.#schedulePing(gen);
      return;
    }
    const started = performance.now();
    try {
      await live.client.ping({ timeout: this.#o.pingTimeoutMs });
      if (this.#live !== live) return;
      this.#latencyMs = Math.round((performance.now() - started) * 10) / 10;
      this.#seen();
      this.#issues.delete('ping');
      if (this.#latencyMs > this.#o.degradedLatencyMs) {
        this.#issues.set('latency', {
          reason: `${this.endpoint} answers slowly (ping ${formatMs(this.#latencyMs)})`,
          remedy: 'Look at the load of the server and of the network in between.',
        });
      } else {
        this.#issues.delete('latency');
      }
    } catch (err) {
      if (this.#live !== live) return;
      const d = this.#diagnose(err);
      if (d.cause === 'timeout' && !this.#issues.has('ping')) {
        this.#issues.set('ping', { reason: `${this.endpoint} did not answer a ping within ${formatMs(this.#o.pingTimeoutMs)}`, remedy: '' });
      } else if (d.cause === 'timeout') {
        this.#lost(gen, err, { ...d, reason: `${this.endpoint} stopped answering (two pings unanswered)` });
        return;
      } else if (d.cause === 'rejected') {
        this.#seen(); // it answered, with an error: alive
      } else if (d.cause !== 'rate_limited') {
        this.#lost(gen, err, d);
        return;
      }
    } finally {
      release();
    }
    this.#emitHealth();
    this.#schedulePing(gen);
  }

  #onServerPause(ms: number, given: boolean): void {
    this.#issues.set('rate', {
      reason: given
        ? `${this.endpoint} is rate-limiting Molten (HTTP 429); nothing is sent for ${formatMs(ms)}, as it asked`
        : `${this.endpoint} is rate-limiting Molten (HTTP 429, no Retry-After); waiting ${formatMs(ms)}`,
      remedy: `Lower the rate limit Molten uses for "${this.name}" below the server's, or raise the server's limit.`,
    });
    this.#log.warn({ pauseMs: ms, retryAfterGiven: given }, 'server answered 429; pausing requests');
    this.#emitHealth();
  }

  #seen(): void {
    this.#lastSeenMs = Date.now();
    if (this.#gate.pausedForMs === 0) this.#issues.delete('rate');
  }

  #computeHealth(): Omit<McpHealth, 'statusSinceMs'> {
    const common = {
      transport: this.#live?.kind ?? this.#lastKind,
      latencyMs: this.#latencyMs,
      lastSeenMs: this.#lastSeenMs,
      server: this.#server ? { name: this.#server.name, version: this.#server.version, title: this.#server.title } : undefined,
      protocolVersion: this.#protocolVersion,
    };
    if (this.#phase === 'up') {
      const issue = this.#issues.get('rate') ?? this.#issues.get('ping') ?? this.#issues.get('tools') ?? this.#issues.get('latency');
      return {
        ...common,
        status: issue ? 'degraded' : 'connected',
        reason: issue?.reason ?? `connected over ${this.#live?.kind}`,
        remedy: issue?.remedy ?? '',
        reachable: true,
        authenticated: true,
        usable: this.#toolsKnown,
      };
    }
    if (this.#phase === 'connecting' || !this.#failure) {
      return { ...common, status: 'connecting', reason: `connecting to ${this.endpoint}`, remedy: '', reachable: false, authenticated: false, usable: false };
    }
    const f = this.#failure;
    return {
      ...common,
      status: this.#phase === 'closed' ? 'down' : f.status,
      reason: this.#phase === 'closed' ? 'the connection was closed' : f.reason,
      remedy: f.remedy,
      reachable: f.reachable,
      authenticated: f.authenticated,
      usable: false,
    };
  }

  #emitHealth(): void {
    const h = this.#computeHealth();
    if (h.status !== this.#lastStatus) {
      this.#lastStatus = h.status;
      this.#statusSinceMs = Date.now();
    }
    const key = JSON.stringify([h.status, h.reason, h.remedy, h.reachable, h.authenticated, h.usable, h.transport, h.server]);
    if (key === this.#lastEmitted) return;
    this.#lastEmitted = key;
    const snapshot: McpHealth = { ...h, statusSinceMs: this.#statusSinceMs };
    for (const l of this.#listeners.status) this.#safely(() => l(snapshot));
  }

  // --- tools ------------------------------------------------------------------------------

  #toolsChanged(): void {
    clearTimeout(this.#debounceTimer);
    this.#debounceTimer = setTimeout(() => void this.refreshTools(), this.#o.listChangedDebounceMs);
  }

  #scheduleRefresh(gen: number): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => {
      if (this.#live?.gen !== gen) return;
      void this.refreshTools().finally(() => {
        if (this.#live?.gen === gen) this.#scheduleRefresh(gen);
      });
    }, this.#o.toolsRefreshMs);
  }

  async #refreshToolsOnce(): Promise<void> {
    const live = this.#live;
    if (!live) return;
    if (!live.client.getServerCapabilities()?.tools) {
      // A server without tools (only resources or prompts) has an empty catalog, not a broken one.
      this.#setTools([], true);
      this.#emitHealth();
      return;
    }
    try {
      const tools = await listAllTools(live.client, (send) => this.#gated(send, this.#o.listTimeoutMs));
      if (this.#live !== live) return;
      this.#seen();
      this.#issues.delete('tools');
      this.#setTools(tools, true);
    } catch (err) {
      if (this.#live !== live) return;
      const d = this.#diagnose(err);
      if (d.cause === 'rejected' || d.cause === 'timeout' || d.cause === 'rate_limited') {
        this.#issues.set('tools', { reason: `listing the tools fails: ${d.reason}`, remedy: d.remedy || "Look at the server's logs." });
        this.#log.warn({ reason: d.reason }, 'tools/list failed');
      } else {
        this.#lost(live.gen, err, d);
        return;
      }
    }
    this.#emitHealth();
  }

  async #gated<T>(send: (timeoutMs: number) => Promise<T>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    const release = await this.#gate.acquire({ deadlineMs: deadline, signal: this.#closing.signal });
    try {
      return await send(Math.max(1, deadline - Date.now()));
    } finally {
      release();
    }
  }

  #setTools(tools: McpTool[], known: boolean): void {
    this.#toolsKnown = known;
    if (sameTools(this.#tools, tools)) return;
    this.#tools = tools;
    this.#log.info({ tools: tools.map((t) => t.name) }, 'tool catalog changed');
    for (const l of this.#listeners.tools) this.#safely(() => l(tools));
  }

  #startGrace(): void {
    if (this.#graceTimer || !this.#toolsKnown) return;
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = undefined;
      if (this.#live || this.#phase === 'closed') return;
      this.#log.info({ graceMs: this.#o.toolsGraceMs }, 'server still unreachable; its tools are declared gone');
      this.#setTools([], false);
      this.#emitHealth();
    }, this.#o.toolsGraceMs);
  }

  // --- helpers ----------------------------------------------------------------------------

  /** A method, not a field read, so that TypeScript does not narrow it across awaits. */
  #isClosed(): boolean {
    return this.#phase === 'closed';
  }

  #isUp(): boolean {
    return this.#phase === 'up';
  }

  #diagnose(err: unknown): Diagnosis {
    return diagnose(err, {
      name: this.name,
      endpoint: this.endpoint,
      hasCredentials: hasCredentials(this.#o.endpoint),
      hints: this.#o.hints,
      stderr: this.#lastStderrLine(),
    });
  }

  #callFailure(tool: string, d: Diagnosis, signal: AbortSignal | undefined): McpCallError {
    const e = callError(d, signal?.aborted === true);
    return new McpCallError(e.kind, `calling ${tool} on "${this.name}": ${e.message}`, e.delivered, e.remedy, e.details);
  }

  #lastStderrLine(): string | undefined {
    const lines = this.#stderrTail.trim().split('\n');
    const last = lines[lines.length - 1]?.trim();
    return last ? last.slice(0, 300) : undefined;
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ err }, 'a connection listener failed');
    }
  }
}

/** Failures that mean the connection itself is gone (not one request's problem). */
function breaksConnection(d: Diagnosis): boolean {
  if (d.cause === 'unreachable' || d.cause === 'closed' || d.cause === 'auth') return true;
  // 404/400 to a message: the server forgot our session (it restarted).
  return d.cause === 'http' && (d.httpStatus === 404 || d.httpStatus === 400);
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
