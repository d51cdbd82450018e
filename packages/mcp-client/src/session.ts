import {
  Client,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type ServerCapabilities,
  type Transport,
  type VersionNegotiationMode,
} from '@modelcontextprotocol/client';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { scrub, sleep, type Logger } from '@molten/kit';
import { isStdio, requestHeaders, type McpEndpoint, type McpTransportKind } from './endpoint.js';
import { ConnectTimeoutError, HttpStatusError, NoTransportError, UnreachableError, type Diagnosis } from './errors.js';
import { guardedFetch, type FetchObserver } from './guarded-fetch.js';
import { formatMs, type RequestGate } from './request-gate.js';

/** The MCP generations: the 2026-07-28 stateless one ("modern") and the initialize-handshake ones before it ("legacy"). */
export type ProtocolEra = 'modern' | 'legacy';

/** What the handshake (2025 generation) or `server/discover` (2026-07-28) settled. */
export interface Negotiated {
  /** e.g. "2026-07-28", "2025-11-25". */
  protocolVersion: string;
  era: ProtocolEra;
  /** The server's serverInfo (a 2026-07-28 server may leave it out). */
  server?: { name: string; version: string; title?: string };
  /** What the server says it offers, in MCP's own shape. */
  capabilities: ServerCapabilities;
}

/** One open connection to a server: its SDK client, transport and what was negotiated. */
export interface Session {
  readonly client: Client;
  readonly transport: Transport;
  readonly kind: McpTransportKind;
  /** Counts sessions: events of a session that was replaced are ignored by comparing it. */
  readonly gen: number;
  readonly negotiated: Negotiated;
}

/** What a session tells its owner while it lives. */
export interface SessionHooks {
  /** notifications/tools/list_changed arrived (unsolicited, or on a 2026-07-28 listen stream). */
  toolsChanged(gen: number): void;
  /** The transport reported an error: a broken event stream shows up here first. */
  error(gen: number, err: Error): void;
  /** The connection closed (the stdio process exited, the transport gave up). */
  closed(gen: number): void;
}

export interface SessionOpenerOptions {
  endpoint: McpEndpoint;
  /** Where the server is, without credentials (for messages). */
  endpointText: string;
  gate: RequestGate;
  log: Logger;
  clientInfo: { name: string; version: string };
  /** Time allowed for the handshake, the protocol probe included. */
  connectTimeoutMs: number;
  /**
   * Which generation to speak: `auto` (default) probes with `server/discover` and falls back to
   * the 2025 `initialize`; `legacy` goes straight to `initialize`; `{ pin }` only that version.
   * The legacy SSE transport always speaks the 2025 generation (2026-07-28 has no SSE transport).
   */
  versionNegotiation: VersionNegotiationMode;
  /** Most pages a tools/list may have (the SDK's aggregate walk). */
  listMaxPages: number;
  hooks: SessionHooks;
  /** What a failure means (it needs the stdio server's last words, which this keeps). */
  diagnose(err: unknown): Diagnosis;
}

/**
 * Opens sessions to one server: Streamable HTTP first, falling back to the older SSE transport
 * when Streamable HTTP gets a 4xx (and the other way round once SSE worked), or stdio; a fresh
 * SDK `Client` per attempt, as the SDK asks; the era negotiated per the options. Every HTTP
 * request goes through the gate (rate limit, concurrency, the server's Retry-After).
 */
export class SessionOpener {
  readonly #o: SessionOpenerOptions;
  #preferred: 'streamable-http' | 'sse' | undefined;
  #stderrTail = '';

  constructor(o: SessionOpenerOptions) {
    this.#o = o;
  }

  /** Opens a session over the configured transport, falling back between HTTP transports on a 4xx. */
  async open(gen: number, signal: AbortSignal): Promise<Session> {
    const e = this.#o.endpoint;
    if (isStdio(e)) return this.#openWith('stdio', gen, signal);
    const order: ('streamable-http' | 'sse')[] =
      e.transport === 'sse' ? ['sse'] : e.transport === 'streamable-http' ? ['streamable-http'] : this.#preferred === 'sse' ? ['sse', 'streamable-http'] : ['streamable-http', 'sse'];
    const attempts: { transport: string; error: unknown }[] = [];
    for (const kind of order) {
      try {
        const session = await this.#openWith(kind, gen, signal);
        this.#preferred = kind;
        return session;
      } catch (err) {
        attempts.push({ transport: kind, error: err });
        const d = this.#o.diagnose(err);
        if (!d.tryOtherTransport || kind === order[order.length - 1]) break;
        this.#o.log.debug({ transport: kind, reason: d.reason }, 'transport refused; trying the other one');
      }
    }
    if (attempts.length === 1) throw attempts[0]!.error;
    throw new NoTransportError(attempts);
  }

  /** Closes a session; `polite` also tells a 2025-era Streamable HTTP server that the session is over (DELETE). */
  async close(session: Session, polite: boolean): Promise<void> {
    if (polite && session.transport instanceof StreamableHTTPClientTransport) {
      await Promise.race([session.transport.terminateSession().catch(() => {}), sleep(1_000)]);
    }
    await session.client.close().catch(() => {});
  }

  /** The last line the stdio server wrote to stderr, if any. */
  lastStderrLine(): string | undefined {
    const lines = this.#stderrTail.trim().split('\n');
    const last = lines[lines.length - 1]?.trim();
    // A server may print its own secrets (its env, a key it was given): scrubbed before the line
    // becomes part of a status reason (stored, published, shown).
    return last ? scrub(last).slice(0, 300) : undefined;
  }

  async #openWith(kind: McpTransportKind, gen: number, signal: AbortSignal): Promise<Session> {
    const observer: FetchObserver = {};
    const transport = this.#transport(kind, observer);
    const client = this.#client(gen, kind);
    const timeoutMs = this.#o.connectTimeoutMs;
    const release = await this.#o.gate.acquire({ deadlineMs: Date.now() + timeoutMs, signal });
    let timer: NodeJS.Timeout | undefined;
    try {
      const connecting = client.connect(transport, { timeout: timeoutMs, signal });
      connecting.catch(() => {});
      await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ConnectTimeoutError(`${this.#o.endpointText} did not complete the MCP handshake within ${formatMs(timeoutMs)}`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      await client.close().catch(() => {});
      await transport.close().catch(() => {});
      // EventSource and the protocol probe hide why they failed; the fetch saw it.
      const known = err instanceof HttpStatusError || err instanceof UnreachableError || err instanceof ConnectTimeoutError;
      throw !known && observer.lastFailure ? observer.lastFailure : err;
    } finally {
      clearTimeout(timer);
      release();
    }
    const version = client.getNegotiatedProtocolVersion() ?? '';
    const server = client.getServerVersion();
    return {
      client,
      transport,
      kind,
      gen,
      negotiated: {
        protocolVersion: version,
        era: client.getProtocolEra() ?? 'legacy',
        server: server ? { name: server.name, version: server.version, ...(server.title ? { title: server.title } : {}) } : undefined,
        capabilities: client.getServerCapabilities() ?? {},
      },
    };
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
    const fetch = guardedFetch(this.#o.gate, observer);
    return kind === 'sse' ? new SSEClientTransport(url, { requestInit, fetch }) : new StreamableHTTPClientTransport(url, { requestInit, fetch });
  }

  #client(gen: number, kind: McpTransportKind): Client {
    const { hooks } = this.#o;
    const client = new Client(this.#o.clientInfo, {
      capabilities: {},
      // The SSE transport belongs to the 2025 generation: probing it for 2026-07-28 only costs a round trip.
      versionNegotiation: { mode: kind === 'sse' ? 'legacy' : this.#o.versionNegotiation, probe: { timeoutMs: Math.max(1, Math.floor(this.#o.connectTimeoutMs / 2)) } },
      listMaxPages: this.#o.listMaxPages,
      // The SDK installs the handler only when the server announces tools.listChanged, and on the
      // 2026-07-28 generation opens the subscriptions/listen stream that carries it. The catalog
      // reads the tools itself (rate-limited, with its own timeout), so no refresh here.
      listChanged: { tools: { autoRefresh: false, debounceMs: 0, onChanged: () => hooks.toolsChanged(gen) } },
    });
    client.onerror = (err) => hooks.error(gen, err);
    client.onclose = () => hooks.closed(gen);
    return client;
  }
}
