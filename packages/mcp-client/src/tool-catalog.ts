import type { McpSubscription, Tool } from '@modelcontextprotocol/client';
import { Backoff, type Logger } from '@molten/kit';
import type { Diagnosis } from './errors.js';
import type { Issue } from './health.js';
import type { RequestGate } from './request-gate.js';
import type { Session } from './session.js';

export type McpTool = Tool;

/** The most pages a tools/list may have before Molten stops reading it. */
export const MAX_TOOL_PAGES = 100;

/** What the catalog needs of the connection it belongs to. */
export interface CatalogHost {
  readonly live: Session | undefined;
  diagnose(err: unknown): Diagnosis;
  lost(gen: number, err: unknown, d: Diagnosis): void;
  /** The server answered. */
  seen(): void;
  /** Listing the tools fails although the server answers (undefined: it works again). */
  issue(issue: Issue | undefined): void;
  /** The catalog or its health changed. */
  changed(): void;
  /** The change notifications of a 2026-07-28 session stopped: the session may be gone. */
  checkSoon(gen: number): void;
}

export interface ToolCatalogOptions {
  host: CatalogHost;
  gate: RequestGate;
  log: Logger;
  /** Time allowed for each tools/list request. */
  listTimeoutMs: number;
  /** The catalog is read again this often, besides on list_changed. */
  refreshMs: number;
  /** list_changed notifications within this time cause one read. */
  debounceMs: number;
  /** Called with the new catalog whenever it changes. */
  onTools(tools: readonly McpTool[]): void;
}

/**
 * One server's tool catalog: `tools/list` (every page) when a session opens, on
 * `notifications/tools/list_changed` (debounced) and every `refreshMs`. On the 2026-07-28
 * generation the notifications come on a `subscriptions/listen` stream; when that stream ends
 * while the session lives, it is opened again (and the catalog read, in case a change was
 * missed). A server that goes away keeps its last catalog: `confirmedAtMs` says when it was last
 * known to be current.
 */
export class ToolCatalog {
  readonly #o: ToolCatalogOptions;
  #tools: McpTool[] = [];
  #known = false;
  #confirmedAtMs = 0;
  #reading: Promise<void> | undefined;
  #again = false;
  #refreshTimer: NodeJS.Timeout | undefined;
  #debounceTimer: NodeJS.Timeout | undefined;
  #listenTimer: NodeJS.Timeout | undefined;
  readonly #listenBackoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  #gen = 0;

  constructor(o: ToolCatalogOptions) {
    this.#o = o;
  }

  /** The catalog as the server last listed it (kept while the server is away). */
  get tools(): readonly McpTool[] {
    return this.#tools;
  }

  /** True once the catalog was read (an empty catalog too). */
  get known(): boolean {
    return this.#known;
  }

  /** When the catalog was last known to be current: read, or the server answered while it held (0: never). */
  get confirmedAtMs(): number {
    return this.#confirmedAtMs;
  }

  tool(name: string): McpTool | undefined {
    return this.#tools.find((t) => t.name === name);
  }

  /** The server answered while this catalog was current. */
  confirm(atMs = Date.now()): void {
    if (this.#known) this.#confirmedAtMs = Math.max(this.#confirmedAtMs, atMs);
  }

  /** Reads the catalog now; a read in progress is followed by one more. */
  refresh(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      do {
        this.#again = false;
        await this.#readOnce();
      } while (this.#again && this.#o.host.live);
    })().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  /** A list_changed notification arrived: read again once they stop coming. */
  changed(gen: number): void {
    if (this.#o.host.live?.gen !== gen) return;
    clearTimeout(this.#debounceTimer);
    this.#debounceTimer = setTimeout(() => void this.refresh(), this.#o.debounceMs);
  }

  /** The session is up (its catalog read): keep the catalog current from now on. */
  start(session: Session): void {
    this.#gen = session.gen;
    this.#scheduleRefresh(session.gen);
    this.#watchListen(session, session.client.autoOpenedSubscription);
  }

  /** The session is gone: the catalog stays as it was, its timers stop. */
  stop(): void {
    this.#gen = 0;
    for (const t of [this.#refreshTimer, this.#debounceTimer, this.#listenTimer]) clearTimeout(t);
  }

  async #readOnce(): Promise<void> {
    const { host } = this.#o;
    const session = host.live;
    if (!session) return;
    if (!session.negotiated.capabilities.tools) {
      // A server without tools (only resources or prompts) has an empty catalog, not a broken one.
      this.#set([]);
      host.changed();
      return;
    }
    const deadline = Date.now() + this.#o.listTimeoutMs;
    let release: (() => void) | undefined;
    try {
      release = await this.#o.gate.acquire({ deadlineMs: deadline });
      // The SDK walks every page (up to MAX_TOOL_PAGES) and keeps the list, which it reads to
      // mirror a 2026-07-28 tool's x-mcp-header arguments into request headers.
      const { tools } = await session.client.listTools(undefined, { cacheMode: 'refresh', timeout: Math.max(1, deadline - Date.now()) });
      if (host.live !== session) return;
      host.seen();
      host.issue(undefined);
      this.#set(dedupe(tools));
    } catch (err) {
      if (host.live !== session) return;
      const d = host.diagnose(err);
      if (d.cause === 'rejected' || d.cause === 'timeout' || d.cause === 'rate_limited' || d.cause === 'unknown') {
        host.issue({ reason: `listing the tools fails: ${d.reason}`, remedy: d.remedy || "Look at the server's logs." });
        this.#o.log.warn({ reason: d.reason }, 'tools/list failed');
      } else {
        host.lost(session.gen, err, d);
        return;
      }
    } finally {
      release?.();
    }
    host.changed();
  }

  #set(tools: McpTool[]): void {
    this.#known = true;
    this.#confirmedAtMs = Date.now();
    if (sameTools(this.#tools, tools)) return;
    this.#tools = tools;
    this.#o.log.info({ tools: tools.map((t) => t.name) }, 'tool catalog changed');
    this.#o.onTools(tools);
  }

  #scheduleRefresh(gen: number): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => {
      if (this.#o.host.live?.gen !== gen) return;
      void this.refresh().finally(() => {
        if (this.#o.host.live?.gen === gen) this.#scheduleRefresh(gen);
      });
    }, this.#o.refreshMs);
  }

  /**
   * A 2026-07-28 server sends list_changed only on an open `subscriptions/listen` stream. When it
   * ends (the server restarted, a proxy cut it), the session may be gone — a ping tells — and
   * if it is not, the stream is opened again and the catalog read, since a change may be lost.
   */
  #watchListen(session: Session, sub: McpSubscription | undefined): void {
    if (!sub) return;
    void sub.closed.then((how) => {
      if (how === 'local' || this.#gen !== session.gen || this.#o.host.live !== session) return;
      this.#o.log.debug({ how }, 'the list_changed stream ended; opening it again');
      this.#o.host.checkSoon(session.gen);
      this.#relisten(session);
    });
  }

  #relisten(session: Session): void {
    clearTimeout(this.#listenTimer);
    this.#listenTimer = setTimeout(async () => {
      if (this.#gen !== session.gen || this.#o.host.live !== session) return;
      try {
        const sub = await session.client.listen({ toolsListChanged: true }, { timeout: this.#o.listTimeoutMs });
        this.#listenBackoff.reset();
        this.#watchListen(session, sub);
        void this.refresh();
      } catch (err) {
        this.#o.log.debug({ err }, 'the list_changed stream could not be opened again; retrying');
        this.#relisten(session);
      }
    }, this.#listenBackoff.next());
  }
}

/** A server listing one name twice would make calls ambiguous: the first one wins. */
function dedupe(tools: McpTool[]): McpTool[] {
  const byName = new Map<string, McpTool>();
  for (const t of tools) if (!byName.has(t.name)) byName.set(t.name, t);
  return [...byName.values()];
}

export function sameTools(a: readonly McpTool[], b: readonly McpTool[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}
