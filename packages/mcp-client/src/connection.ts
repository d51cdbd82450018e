import type { CallToolResult, Progress, ServerCapabilities, VersionNegotiationMode } from '@modelcontextprotocol/client';
import { Backoff, registerSecret, sleep, type BackoffOptions, type Logger } from '@molten/kit';
import { describeEndpoint, hasCredentials, isStdio, type McpEndpoint, type McpTransportKind } from './endpoint.js';
import { ConnectionLostError, McpCallError, callError, diagnose, type Diagnosis } from './errors.js';
import { HealthMonitor } from './health.js';
import { RequestGate, type Release } from './request-gate.js';
import { SessionOpener, type ProtocolEra, type Session } from './session.js';
import { MAX_TOOL_PAGES, ToolCatalog, type McpTool } from './tool-catalog.js';

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
  /** The server's serverInfo from the handshake (or server/discover). */
  server?: { name: string; version: string; title?: string };
  /** The protocol version negotiated with the server (or last negotiated), e.g. "2026-07-28". */
  protocolVersion?: string;
  /** `modern` for 2026-07-28 and later (stateless), `legacy` for the initialize-handshake versions before it. */
  protocolEra?: ProtocolEra;
  /** What the server said it offers (tools, resources, prompts, logging, …), in MCP's own shape. */
  serverCapabilities?: ServerCapabilities;
}

export interface McpConnectionOptions {
  /** The server's name (Molten's config key), used in messages. */
  name: string;
  endpoint: McpEndpoint;
  log: Logger;
  clientInfo?: { name: string; version: string };
  /**
   * Which MCP generation to speak: `auto` (default) asks the server with `server/discover`
   * (2026-07-28) and falls back to the 2025 `initialize` handshake; `legacy` skips the probe;
   * `{ pin: '2026-07-28' }` accepts only that version.
   */
  versionNegotiation?: VersionNegotiationMode;
  /** How often the server is pinged to measure health and latency (default 5 s). */
  pingIntervalMs?: number;
  /** A ping not answered in this time counts as missed; two in a row mean down (default 5 s). */
  pingTimeoutMs?: number;
  /** Time allowed for the handshake, the protocol probe included (default 10 s). */
  connectTimeoutMs?: number;
  /** Time allowed for reading the tool catalog, every page (default 15 s). */
  listTimeoutMs?: number;
  /** The tool catalog is read again this often, besides on list_changed (default 60 s). */
  toolsRefreshMs?: number;
  /** list_changed notifications within this time cause one refresh (default 250 ms). */
  listChangedDebounceMs?: number;
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
  /** The status, its reason, reachable/authenticated/usable, the transport, the server or what was negotiated changed. */
  status: (health: McpHealth) => void;
  /** The tool catalog changed. */
  tools: (tools: readonly McpTool[]) => void;
}

type Phase = 'connecting' | 'up' | 'down' | 'closed';

const DEFAULTS = {
  versionNegotiation: 'auto' as VersionNegotiationMode,
  pingIntervalMs: 5_000,
  pingTimeoutMs: 5_000,
  connectTimeoutMs: 10_000,
  listTimeoutMs: 15_000,
  toolsRefreshMs: 60_000,
  listChangedDebounceMs: 250,
  degradedLatencyMs: 2_000,
  rateLimitRpm: 600,
  maxConcurrency: 8,
  rateLimitWindowMs: 60_000,
  connectWaitMs: 5_000,
  callTimeoutMs: 60_000,
};

/**
 * One MCP server, kept connected, over either protocol generation. The parts: `SessionOpener`
 * (transport and fallback, the negotiated version), `HealthMonitor` (pings, latency, what makes
 * it degraded), `ToolCatalog` (tools/list, list_changed, the last known catalog). This class
 * holds them together: the connection's lifecycle (connect, lose, reconnect with backoff, close),
 * its health as one status, and tool calls. Changes are announced with on("status"|"tools").
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
  readonly #sessions: SessionOpener;
  readonly #health: HealthMonitor;
  readonly #catalog: ToolCatalog;

  #phase: Phase = 'connecting';
  #live: Session | undefined;
  #last: Session | undefined;
  #gen = 0;
  #connecting: Promise<void> | undefined;
  #failure: Diagnosis | undefined;
  #failureLogged = '';
  readonly #upWaiters = new Set<() => void>();

  #statusSinceMs = Date.now();
  #lastStatus: McpStatus | undefined;
  #lastEmitted = '';

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
      onPause: (ms, given) => {
        this.#health.serverPaused(ms, given);
        this.#emitHealth();
      },
    });
    this.#backoff = new Backoff({ initialMs: 500, maxMs: 15_000, ...opts.reconnect });

    // What the parts may do to the connection they belong to.
    const self = this;
    const host = {
      get live() {
        return self.#live;
      },
      diagnose: (err: unknown) => this.#diagnose(err),
      lost: (gen: number, err: unknown, d: Diagnosis) => this.#lost(gen, err, d),
      changed: () => this.#emitHealth(),
      seen: () => this.#seen(),
      checkSoon: (gen: number) => this.#health.checkSoon(gen),
      issue: (issue: { reason: string; remedy: string } | undefined) => (issue ? this.#health.setIssue('tools', issue) : this.#health.clearIssue('tools')),
    };
    this.#sessions = new SessionOpener({
      endpoint: e,
      endpointText: this.endpoint,
      gate: this.#gate,
      log: this.#log,
      clientInfo: this.#o.clientInfo ?? { name: 'molten', version: '0.1.0' },
      connectTimeoutMs: this.#o.connectTimeoutMs,
      versionNegotiation: this.#o.versionNegotiation,
      listMaxPages: MAX_TOOL_PAGES,
      diagnose: host.diagnose,
      hooks: {
        toolsChanged: (gen) => this.#catalog.changed(gen),
        error: (gen, err) => {
          if (this.#live?.gen !== gen) return;
          // A broken event stream shows up here first; a ping tells whether the connection is gone.
          this.#log.debug({ err }, 'transport reported an error; checking the connection');
          this.#health.checkSoon(gen);
        },
        closed: (gen) => {
          if (this.#live?.gen !== gen) return;
          const said = this.#sessions.lastStderrLine();
          const message = this.#live.kind === 'stdio' ? `the server process exited${said ? `; it last said: ${said}` : ''}` : `${this.endpoint} closed the connection`;
          this.#lost(gen, new ConnectionLostError(message));
        },
      },
    });
    this.#health = new HealthMonitor({
      host,
      gate: this.#gate,
      log: this.#log,
      endpointText: this.endpoint,
      name: this.name,
      pingIntervalMs: this.#o.pingIntervalMs,
      pingTimeoutMs: this.#o.pingTimeoutMs,
      degradedLatencyMs: this.#o.degradedLatencyMs,
    });
    this.#catalog = new ToolCatalog({
      host,
      gate: this.#gate,
      log: this.#log,
      listTimeoutMs: this.#o.listTimeoutMs,
      refreshMs: this.#o.toolsRefreshMs,
      debounceMs: this.#o.listChangedDebounceMs,
      onTools: (tools) => {
        for (const l of this.#listeners.tools) this.#safely(() => l(tools));
      },
    });
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
    this.#health.stop();
    this.#catalog.stop();
    this.#gate.close(new ConnectionLostError(`the connection to "${this.name}" was closed`));
    for (const wake of this.#upWaiters) wake();
    const live = this.#live;
    this.#live = undefined;
    if (live) await this.#sessions.close(live, true);
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

  /** The tool catalog as the server last listed it; kept while the server is away (see toolsStale). */
  /**
   * Whether a call made now is sent at once: connected, and none of the limits (requests a
   * minute, at once, the server's Retry-After) holds it back.
   */
  get sendsAtOnce(): boolean {
    return this.#isUp() && this.#gate.open;
  }

  get tools(): readonly McpTool[] {
    return this.#catalog.tools;
  }

  tool(name: string): McpTool | undefined {
    return this.#catalog.tool(name);
  }

  /** True once the catalog has been read. */
  get toolsKnown(): boolean {
    return this.#catalog.known;
  }

  /**
   * True when the listed tools are the last known ones rather than the server's current ones:
   * the server is not connected, or listing its tools fails.
   */
  get toolsStale(): boolean {
    return this.#catalog.known && (this.#phase !== 'up' || this.#health.has('tools'));
  }

  /** When the catalog was last known to be current: read, or the server answered while it held (0: never). */
  get toolsConfirmedAtMs(): number {
    return this.#catalog.confirmedAtMs;
  }

  get transport(): McpTransportKind | undefined {
    return (this.#live ?? this.#last)?.kind;
  }

  get pingIntervalMs(): number {
    return this.#o.pingIntervalMs;
  }

  /** Resolves true once connected with the tool catalog read (false after timeoutMs or when closed). */
  async whenConnected(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#phase !== 'up') await this.#waitUp(Date.now() + timeoutMs, signal);
    return this.#isUp();
  }

  /** Reads the tool catalog now (list_changed and the periodic refresh do this too). */
  refreshTools(): Promise<void> {
    return this.#catalog.refresh();
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
        const result = await live.client.callTool(
          { name, arguments: args },
          {
            timeout: Math.max(1, deadline - Date.now()),
            signal,
            onprogress: opts.onProgress,
            // The catalog's definition (for a 2026-07-28 tool's x-mcp-header mirroring), without
            // its outputSchema: Molten reports the result as the server sent it, and a result
            // that does not match the server's own schema is the server's to explain, not a
            // reason to lose what the tool did.
            toolDefinition: { ...(this.tool(name) ?? { name, inputSchema: { type: 'object' } }), outputSchema: undefined },
          },
        );
        this.#seen();
        this.#emitHealth();
        return result;
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

  // --- lifecycle --------------------------------------------------------------------------

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
        const session = await this.#sessions.open(gen, this.#closing.signal);
        if (this.#isClosed()) {
          await this.#sessions.close(session, true);
          return;
        }
        // Connected means tools can be called: the status says so once the catalog is read.
        this.#live = session;
        this.#last = session;
        this.#seen();
        await this.#catalog.refresh();
        if (this.#live === session) {
          this.#up(session);
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

  #up(session: Session): void {
    this.#phase = 'up';
    this.#failure = undefined;
    this.#failureLogged = '';
    this.#backoff.reset();
    this.#catalog.confirm();
    this.#health.start(session);
    this.#catalog.start(session);
    const { server: s, protocolVersion } = session.negotiated;
    this.#log.info(
      { transport: session.kind, protocolVersion, server: s ? `${s.name} ${s.version}` : undefined, endpoint: this.endpoint, tools: this.#catalog.tools.length },
      'MCP server connected',
    );
    this.#emitHealth();
    for (const wake of this.#upWaiters) wake();
  }

  #failed(d: Diagnosis): void {
    this.#failure = d;
    if (this.#phase !== 'closed') this.#phase = 'down';
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

  /** The session broke: drop it (the catalog stays, now stale), reconnect. */
  #lost(gen: number, err: unknown, d = this.#diagnose(err)): void {
    const live = this.#live;
    if (!live || live.gen !== gen || this.#phase === 'closed') return;
    this.#live = undefined;
    this.#health.stop();
    this.#catalog.stop();
    const down: Diagnosis = d.status === 'auth_failed' ? d : { ...d, status: 'down' };
    this.#log.warn({ reason: down.reason }, 'MCP server connection lost; reconnecting');
    this.#failureLogged = `${down.status}:${down.reason}`;
    this.#failure = down;
    this.#phase = 'down';
    void this.#sessions.close(live, false);
    this.#emitHealth();
    this.#ensureConnecting();
  }

  #seen(): void {
    this.#health.seen();
    // The catalog held while the server answered on a working session.
    if (this.#phase === 'up' && !this.#health.has('tools')) this.#catalog.confirm();
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

  async #liveOrThrow(deadline: number, signal: AbortSignal | undefined, tool: string): Promise<Session> {
    // A server that refuses the credentials will not accept them a few seconds later: no waiting.
    if (!this.#live && this.#failure?.status !== 'auth_failed') await this.#waitUp(Math.min(deadline, Date.now() + this.#o.connectWaitMs), signal);
    if (signal?.aborted) throw new McpCallError('aborted', `calling ${tool}: cancelled before it was sent`, 'no');
    if (this.#live) return this.#live;
    const h = this.health;
    throw new McpCallError(h.status === 'auth_failed' ? 'auth_failed' : 'not_connected', `"${this.name}" is ${h.status.replace('_', ' ')}: ${h.reason}`, 'no', h.remedy);
  }

  // --- health -----------------------------------------------------------------------------

  #computeHealth(): Omit<McpHealth, 'statusSinceMs'> {
    const session = this.#live ?? this.#last;
    const n = session?.negotiated;
    const common = {
      transport: session?.kind,
      latencyMs: this.#health.latencyMs,
      lastSeenMs: this.#health.lastSeenMs,
      server: n?.server,
      protocolVersion: n?.protocolVersion || undefined,
      protocolEra: n?.era,
      serverCapabilities: n?.capabilities,
    };
    if (this.#phase === 'up') {
      const issue = this.#health.issue;
      return {
        ...common,
        status: issue ? 'degraded' : 'connected',
        reason: issue?.reason ?? `connected over ${this.#live?.kind} (MCP ${n?.protocolVersion || 'version unknown'})`,
        remedy: issue?.remedy ?? '',
        reachable: true,
        authenticated: true,
        usable: this.#catalog.known,
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
    const key = JSON.stringify([h.status, h.reason, h.remedy, h.reachable, h.authenticated, h.usable, h.transport, h.server, h.protocolVersion, h.serverCapabilities]);
    if (key === this.#lastEmitted) return;
    this.#lastEmitted = key;
    const snapshot: McpHealth = { ...h, statusSinceMs: this.#statusSinceMs };
    for (const l of this.#listeners.status) this.#safely(() => l(snapshot));
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
      stderr: this.#sessions.lastStderrLine(),
    });
  }

  #callFailure(tool: string, d: Diagnosis, signal: AbortSignal | undefined): McpCallError {
    const e = callError(d, signal?.aborted === true);
    return new McpCallError(e.kind, `calling ${tool} on "${this.name}": ${e.message}`, e.delivered, e.remedy, e.details);
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
