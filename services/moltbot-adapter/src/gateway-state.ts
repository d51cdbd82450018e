import type { StatePublisher } from '@molten/bus';
import { ServerStatus, type Agent, type AgentSession, type Capability, type Gateway, type StateKind, type UpstreamHealth, type UpstreamServer } from '@molten/contracts';
import type { Logger } from '@molten/kit';
import type { z } from 'zod';
import type { ConnectionPhase } from './diagnosis.js';
import { GatewayRequestError, type GatewayClient } from './gateway-client.js';
import { SCOPES, agentEvent, agentOfSession, agentsList, chatEvent, cronList, issuesOf, jsonObject, presenceEvent, sessionsList } from './protocol.js';

export const DOMAIN = 'moltbot';

/** sessions.list reads a transcript per session for titles and previews: keep it bounded. */
const SESSION_LIMIT = 200;

export interface GatewayStateOptions {
  /** The gateway scope's publisher (the runtime's). */
  publisher: StatePublisher;
  /** Tells the runtime the connection's health changed: heartbeat now, the leader republishes the server. */
  changed(): void;
  client: GatewayClient;
  gatewayId: string;
  instance: string;
  refreshMs: number;
  demo: boolean;
  log: Logger;
  /** Debounce of event-triggered refreshes (500 ms). */
  eventRefreshDelayMs?: number;
}

const PHASE_STATUS: Record<ConnectionPhase, ServerStatus> = {
  connected: ServerStatus.SERVER_STATUS_CONNECTED,
  connecting: ServerStatus.SERVER_STATUS_CONNECTING,
  down: ServerStatus.SERVER_STATUS_DOWN,
  protocol_mismatch: ServerStatus.SERVER_STATUS_DOWN,
  auth_failed: ServerStatus.SERVER_STATUS_AUTH_FAILED,
};

/**
 * Publishes what the gateway is (kind `gateway`), its agents (`agent`) and sessions (`session`)
 * on domain moltbot, scope = gateway id, and describes the connection (`server`, what
 * /api/servers lists, published by the runtime). Reads happen on connect, on the gateway's own
 * events, and every refreshMs; only the replica holding the scope's lease publishes, so N
 * replicas do not write N copies.
 */
export class GatewayState {
  readonly serverId: string;
  readonly #o: GatewayStateOptions;
  readonly #client: GatewayClient;
  readonly #publisher: StatePublisher;
  readonly #log: Logger;
  #leader = false;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #offs: Array<() => void> = [];
  /** Publishes run one after another, so a later state never lands before an earlier one. */
  #queue: Promise<void> = Promise.resolve();
  #refreshing: Promise<void> | undefined;
  #refreshAgain = false;

  #health: Record<string, unknown> | undefined;
  #cronJson = '';
  #presenceCount = 0;
  #readFailures = new Map<string, string>();
  #latencyMs = 0;
  #lastOkMs = 0;
  #status: ServerStatus = ServerStatus.SERVER_STATUS_UNSPECIFIED;
  #statusSinceMs = Date.now();

  constructor(o: GatewayStateOptions) {
    this.#o = o;
    this.#client = o.client;
    this.#log = o.log;
    this.#publisher = o.publisher;
    this.serverId = `gateway-${o.gatewayId}`;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#offs = [
      this.#client.onState((s) => {
        if (s.phase === 'connected') this.#refreshSoon(0);
        this.#publishConnection();
      }),
      this.#client.onEvent((event, payload) => this.#onEvent(event, payload)),
      this.#client.onGap(() => this.#refreshSoon(0)),
    ];
    this.#timer = setInterval(() => void this.refresh(), this.#o.refreshMs);
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const off of this.#offs) off();
    this.#offs = [];
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    await this.#refreshing?.catch(() => {});
    await this.#queue;
  }

  get leader(): boolean {
    return this.#leader;
  }

  /** Called by the runtime when this replica takes or gives up the lease: only the holder publishes. */
  setLeader(leader: boolean): void {
    if (this.#leader === leader) return;
    this.#leader = leader;
    if (leader && this.#running) {
      this.#enqueue(() => this.#publishGateway());
      void this.refresh();
    }
  }

  /** Reads everything from the gateway and publishes what changed. */
  refresh(): Promise<void> {
    if (!this.#running || !this.#leader || !this.#client.connected) return Promise.resolve();
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#refreshAgain = false;
        try {
          await this.#readAll();
        } catch (err) {
          this.#log.warn({ err }, 'reading the gateway state failed; will try again');
        }
      } while (this.#refreshAgain && this.#running && this.#leader && this.#client.connected);
    })().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  // ------------------------------------------------------------------ what others read

  get canRunAgents(): boolean {
    const scopes = this.#client.scopes;
    return this.#client.connected && this.#client.methods.includes('agent') && (scopes.includes(SCOPES.write) || scopes.includes(SCOPES.admin));
  }

  /** This replica's view of the gateway, for its heartbeat. */
  health(): UpstreamHealth {
    const server = this.server();
    return {
      serverId: this.serverId,
      scope: this.#o.gatewayId,
      status: server.status,
      lastOkMs: this.#leader ? this.#lastOkMs : this.#client.connected ? this.#client.lastSeenMs : 0,
      pollMs: this.#o.refreshMs,
      latencyMs: this.#latencyMs,
      leader: this.#leader,
      capabilities: server.capabilities,
      privileges: this.#client.connected ? this.#client.scopes : [],
    };
  }

  server(): UpstreamServer {
    const c = this.#client;
    const st = c.state;
    const hello = c.hello;
    let status = PHASE_STATUS[st.phase];
    let reason = st.reason;
    let remedy = st.remedy;
    if (st.phase === 'connected') {
      if (!this.canRunAgents) {
        status = ServerStatus.SERVER_STATUS_DEGRADED;
        reason = c.methods.includes('agent')
          ? `the gateway granted ${c.scopes.join(', ') || 'no scopes'}; agent runs need operator.write`
          : 'the gateway does not offer the agent method';
        remedy = c.methods.includes('agent') ? "connect with the gateway's token (MOLTBOT_TOKEN) so the adapter gets operator.read and operator.write" : '';
      } else if (this.#readFailures.size > 0) {
        status = ServerStatus.SERVER_STATUS_DEGRADED;
        reason = [...this.#readFailures].map(([m, e]) => `${m}: ${e}`).join('; ');
        remedy = /missing scope/.test(reason) ? "the gateway withholds a scope the adapter asked for; connect with the gateway's token (MOLTBOT_TOKEN)" : '';
      }
    }
    if (status !== this.#status) {
      this.#status = status;
      this.#statusSinceMs = Date.now();
    }
    const product = hello ? (hello.protocol >= 4 ? 'OpenClaw gateway' : 'Moltbot gateway') : 'Agent gateway';
    return {
      id: this.serverId,
      name: `${product} (${this.#o.gatewayId})`,
      kind: 'gateway',
      domain: DOMAIN,
      scope: this.#o.gatewayId,
      endpoint: c.endpoint,
      transport: 'websocket',
      status,
      statusReason: reason,
      remedy,
      reachable: st.phase === 'connected' || st.phase === 'auth_failed' || st.phase === 'protocol_mismatch',
      authenticated: st.phase === 'connected',
      usable: this.canRunAgents,
      latencyMs: this.#latencyMs,
      lastSeenMs: c.lastSeenMs,
      statusSinceMs: this.#statusSinceMs,
      version: hello?.server.version ?? '',
      tools: [],
      capabilities: [this.#agentRunCapability()],
      demo: this.#o.demo,
      methods: c.methods,
      reporter: this.#o.instance,
    };
  }

  gateway(): Gateway {
    const c = this.#client;
    const hello = c.hello;
    return {
      id: this.#o.gatewayId,
      version: hello?.server.version ?? '',
      protocol: hello?.protocol ?? 0,
      uptimeMs: c.connected && hello ? (hello.snapshot?.uptimeMs ?? 0) + (Date.now() - c.connectedAtMs) : 0,
      connection: c.state.phase,
      reason: c.state.reason,
      presenceCount: this.#presenceCount,
      healthJson: this.#health ? JSON.stringify(this.#health) : '',
      cronJson: this.#cronJson,
      tickIntervalMs: hello?.policy.tickIntervalMs ?? 0,
    };
  }

  #agentRunCapability(): Capability {
    const c = this.#client;
    let reason = '';
    if (!c.connected) reason = `the gateway is ${c.state.phase.replace('_', ' ')}: ${c.state.reason}`;
    else if (!c.methods.includes('agent')) reason = 'the gateway does not offer the agent method';
    else if (!this.canRunAgents) reason = 'the gateway did not grant operator.write';
    return { action: 'agent-run', available: this.canRunAgents, reason, privilege: SCOPES.write };
  }

  // ------------------------------------------------------------------ events and reads

  #onEvent(event: string, payload: unknown): void {
    switch (event) {
      case 'presence': {
        const p = presenceEvent.safeParse(payload);
        if (p.success) {
          this.#presenceCount = p.data.presence.length;
          this.#enqueue(() => this.#publishGateway());
        }
        return;
      }
      case 'health': {
        const h = jsonObject.safeParse(payload);
        if (h.success) {
          this.#health = h.data;
          this.#enqueue(() => this.#publishGateway());
        }
        return;
      }
      case 'agent': {
        // A run that ended changed its session.
        const a = agentEvent.safeParse(payload);
        const phase = a.success ? a.data.data?.phase : undefined;
        if (a.success && a.data.stream === 'lifecycle' && (phase === 'end' || phase === 'error')) this.#refreshSoon();
        return;
      }
      case 'chat': {
        const c = chatEvent.safeParse(payload);
        if (c.success && c.data.state !== 'delta') this.#refreshSoon();
        return;
      }
      case 'sessions.changed':
      case 'cron':
        this.#refreshSoon();
        return;
    }
  }

  #refreshSoon(delayMs = this.#o.eventRefreshDelayMs ?? 500): void {
    if (!this.#running) return;
    clearTimeout(this.#soon);
    this.#soon = setTimeout(() => void this.refresh(), delayMs);
  }

  async #readAll(): Promise<void> {
    const c = this.#client;
    const offered = new Set(c.methods);
    const failures = new Map<string, string>();
    let anyOk = false;
    const read = async <T>(method: string, params: Record<string, unknown>, schema: z.ZodType<T>): Promise<T | undefined> => {
      if (!offered.has(method)) return undefined;
      let raw: unknown;
      try {
        raw = await c.request(method, params);
      } catch (err) {
        if (!(err instanceof GatewayRequestError)) throw err; // the connection went: the whole read is void
        failures.set(method, err.error.message);
        return undefined;
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        failures.set(method, `answered in an unexpected shape (${issuesOf(parsed.error)})`);
        return undefined;
      }
      anyOk = true;
      return parsed.data;
    };

    const started = performance.now();
    const health = await read('health', {}, jsonObject);
    if (health) {
      this.#latencyMs = Math.round((performance.now() - started) * 10) / 10;
      this.#health = health;
    }
    let sessionsParams: Record<string, unknown> = { limit: SESSION_LIMIT, includeLastMessage: true, includeDerivedTitles: true };
    const readSessions = async () => {
      const first = await read('sessions.list', sessionsParams, sessionsList);
      if (first || !/unexpected property/.test(failures.get('sessions.list') ?? '')) return first;
      // An older gateway without title/preview options: ask for the plain list.
      failures.delete('sessions.list');
      sessionsParams = { limit: SESSION_LIMIT };
      return read('sessions.list', sessionsParams, sessionsList);
    };
    const [agents, sessions, cron, cronStatus] = await Promise.all([
      read('agents.list', {}, agentsList),
      readSessions(),
      read('cron.list', { includeDisabled: true }, cronList),
      read('cron.status', {}, jsonObject),
    ]);
    if (anyOk) this.#lastOkMs = Date.now();
    this.#readFailures = failures;
    if (failures.size) this.#log.warn({ failures: Object.fromEntries(failures) }, 'some gateway reads failed');
    if (cron || cronStatus) this.#cronJson = JSON.stringify({ status: cronStatus ?? null, jobs: cron?.jobs ?? [] });

    const defaults = sessions?.defaults;
    const defaultModel = defaults?.model ? (defaults.modelProvider ? `${defaults.modelProvider}/${defaults.model}` : defaults.model) : '';
    await this.#enqueue(async () => {
      await this.#publishGateway();
      if (agents) {
        const listed = agents.agents.map(
          (a): Agent => ({
            gateway: this.#o.gatewayId,
            id: a.id,
            name: a.identity?.name ?? a.name ?? a.id,
            description: a.identity?.theme ?? '',
            isDefault: a.id === agents.defaultId,
            model: a.model ?? defaultModel,
          }),
        );
        this.#logRemoved('agent', await this.#publisher.sync('agent', listed, { id: (a) => a.id }));
      }
      if (sessions) {
        const listed = sessions.sessions.map(
          (s): AgentSession => ({
            gateway: this.#o.gatewayId,
            key: s.key,
            agentId: agentOfSession(s.key),
            title: s.label ?? s.derivedTitle ?? s.displayName ?? '',
            updatedAtMs: s.updatedAt ?? 0,
            lastMessage: s.lastMessagePreview ?? '',
            channel: s.channel ?? '',
            tokens: Math.max(0, Math.round(s.totalTokens ?? 0)),
          }),
        );
        this.#logRemoved('session', await this.#publisher.sync('session', listed, { id: (x) => x.key }));
      }
      // Read failures and latency are part of the server's health.
      this.#o.changed();
    });
  }

  // ------------------------------------------------------------------ publishing

  #publishConnection(): void {
    this.#o.changed();
    if (!this.#leader || !this.#running) return;
    this.#enqueue(() => this.#publishGateway());
  }

  async #publishGateway(): Promise<void> {
    await this.#publisher.sync('gateway', [this.gateway()], { id: (g) => g.id });
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(async () => {
      if (!this.#leader) return;
      try {
        await fn();
      } catch (err) {
        // The bus is away: what was not published is published on the next refresh.
        this.#log.warn({ err }, 'could not publish gateway state');
      }
    });
    this.#queue = next;
    return next;
  }

  #logRemoved(kind: StateKind, { removed }: { removed: string[] }): void {
    for (const id of removed) this.#log.info({ kind, id }, 'removed: the gateway no longer lists it');
  }
}
