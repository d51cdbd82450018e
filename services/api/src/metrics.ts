import type { Hono } from 'hono';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CommandStatus, commandStatusName, isTerminal, ServerStatus, type CommandTransition } from '@molten/contracts';
import type { Bus, BusEvent } from '@molten/bus';
import type { AppEnv } from './app-env.js';
import type { TokenRegistry } from './auth/tokens.js';
import { errorBody } from './errors.js';
import type { EventHub } from './sse/event-hub.js';
import type { AdapterRegistry } from './state/adapters.js';
import type { CommandsView } from './state/commands-view.js';

/** What the metrics read from the running api. */
export interface MetricsSources {
  hub: Pick<EventHub, 'published' | 'clientCount' | 'lastSeq'>;
  adapters: AdapterRegistry;
  commands: Pick<CommandsView, 'get'>;
  busConnected(): boolean;
  onEvent(listener: (e: BusEvent) => void): () => void;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const COMMAND_SECONDS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900];

/**
 * The api's Prometheus metrics, in a registry of its own (two apis in one test process do not
 * collide): HTTP and gRPC requests, commands by outcome and duration, events and SSE clients,
 * upstream latency as the adapters' heartbeats report it, and the NATS connection.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly #http: Counter<'method' | 'route' | 'status'>;
  readonly #httpSeconds: Histogram<'method' | 'route'>;
  readonly #grpc: Counter<'method' | 'code'>;
  readonly #grpcSeconds: Histogram<'method'>;
  readonly #commands: Counter<'domain' | 'action' | 'outcome'>;
  readonly #commandSeconds: Histogram<'domain' | 'action' | 'outcome'>;
  readonly #transitions: Counter<'status'>;
  readonly #busEvents: Counter<'family'>;
  readonly #reconnects: Counter;
  readonly #disconnects: Counter;
  #detach: (() => void) | undefined;
  #statusLoop: { stop?: () => void } | undefined;

  constructor(
    private readonly sources: MetricsSources,
    o: { grpcWatchers?: () => number } = {},
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#http = new Counter({ name: 'molten_http_requests_total', help: 'HTTP requests answered, by method, matched route and status', labelNames: ['method', 'route', 'status'], registers });
    this.#httpSeconds = new Histogram({ name: 'molten_http_request_duration_seconds', help: 'HTTP request handling time (SSE streams: until the response starts)', labelNames: ['method', 'route'], buckets: SECONDS, registers });
    this.#grpc = new Counter({ name: 'molten_grpc_calls_total', help: 'gRPC calls finished, by method and status code', labelNames: ['method', 'code'], registers });
    this.#grpcSeconds = new Histogram({ name: 'molten_grpc_call_duration_seconds', help: 'gRPC unary call handling time', labelNames: ['method'], buckets: SECONDS, registers });
    this.#commands = new Counter({ name: 'molten_commands_total', help: 'Commands that reached a final status, by domain, action and outcome (succeeded, failed, timed_out)', labelNames: ['domain', 'action', 'outcome'], registers });
    this.#commandSeconds = new Histogram({ name: 'molten_command_duration_seconds', help: 'Time from a command being requested to its final status', labelNames: ['domain', 'action', 'outcome'], buckets: COMMAND_SECONDS, registers });
    this.#transitions = new Counter({ name: 'molten_command_transitions_total', help: 'Command lifecycle transitions seen on the bus, by status (uncertain included)', labelNames: ['status'], registers });
    this.#busEvents = new Counter({ name: 'molten_bus_events_total', help: 'Events applied from the MOLTEN_EVENTS stream, by subject family', labelNames: ['family'], registers });
    this.#reconnects = new Counter({ name: 'molten_nats_reconnects_total', help: 'Times the NATS connection was re-established', registers });
    this.#disconnects = new Counter({ name: 'molten_nats_disconnects_total', help: 'Times the NATS connection was lost', registers });

    let lastPublished = 0;
    const hub = sources.hub;
    new Counter({
      name: 'molten_events_published_total',
      help: 'Events written to SSE clients (each counted once, whatever the number of clients)',
      registers,
      collect() {
        this.inc(hub.published - lastPublished);
        lastPublished = hub.published;
      },
    });
    new Gauge({ name: 'molten_sse_clients', help: 'Open SSE connections (GET /api/events)', registers, collect() { this.set(hub.clientCount); } });
    new Gauge({ name: 'molten_grpc_watchers', help: 'Open gRPC WatchEvents streams', registers, collect() { this.set(o.grpcWatchers?.() ?? 0); } });
    new Gauge({ name: 'molten_events_seq', help: 'Last MOLTEN_EVENTS sequence the api has applied', registers, collect() { this.set(hub.lastSeq); } });
    new Gauge({ name: 'molten_nats_connected', help: '1 while the api is connected to NATS', registers, collect() { this.set(sources.busConnected() ? 1 : 0); } });
    new Gauge({
      name: 'molten_upstream_latency_seconds',
      help: "An upstream's last request latency, as each adapter replica's heartbeat reports it",
      labelNames: ['domain', 'scope', 'server', 'instance'],
      registers,
      collect() {
        this.reset();
        for (const hb of sources.adapters.alive()) {
          for (const u of hb.upstreams) this.set({ domain: hb.domain, scope: u.scope, server: u.serverId, instance: hb.instance }, u.latencyMs / 1000);
        }
      },
    });
    new Gauge({
      name: 'molten_upstream_up',
      help: '1 when the upstream answers and accepts Molten (connected or degraded), 0 otherwise; per scope, from the heartbeats',
      labelNames: ['domain', 'scope', 'server'],
      registers,
      collect() {
        this.reset();
        for (const hb of sources.adapters.alive()) {
          for (const u of hb.upstreams) {
            const h = sources.adapters.server(u.serverId);
            const up = h?.status === ServerStatus.SERVER_STATUS_CONNECTED || h?.status === ServerStatus.SERVER_STATUS_DEGRADED;
            this.set({ domain: hb.domain, scope: u.scope, server: u.serverId }, up ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: 'molten_upstream_last_ok_age_seconds',
      help: 'Seconds since any replica last read the upstream successfully',
      labelNames: ['domain', 'scope'],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const hb of sources.adapters.alive()) {
          for (const u of hb.upstreams) {
            const h = sources.adapters.scope(hb.domain, u.scope, now);
            if (h?.lastOkMs) this.set({ domain: hb.domain, scope: u.scope }, (now - h.lastOkMs) / 1000);
          }
        }
      },
    });
    new Gauge({
      name: 'molten_adapter_replicas',
      help: 'Adapter replicas alive (heartbeating), by domain',
      labelNames: ['domain'],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const hb of sources.adapters.alive()) counts.set(hb.domain, (counts.get(hb.domain) ?? 0) + 1);
        for (const [domain, n] of counts) this.set({ domain }, n);
      },
    });
  }

  /** Starts counting bus events, command outcomes and NATS reconnects. */
  start(bus: Bus): void {
    this.#detach = this.sources.onEvent((e) => {
      this.#busEvents.inc({ family: e.subject.split('.')[1] ?? 'unknown' });
      if (e.type !== 'molten.v1.CommandTransition') return;
      const t = e.value as CommandTransition;
      this.#transitions.inc({ status: commandStatusName(t.status) });
      if (!isTerminal(t.status)) return;
      const c = this.sources.commands.get(t.commandId)?.command;
      const labels = { domain: c?.domain ?? 'unknown', action: c?.action ?? 'unknown', outcome: commandStatusName(t.status) };
      this.#commands.inc(labels);
      if (c && t.status !== CommandStatus.COMMAND_STATUS_UNSPECIFIED) this.#commandSeconds.observe(labels, Math.max(0, t.atMs - c.createdAtMs) / 1000);
    });
    const statuses = bus.nc.status();
    this.#statusLoop = statuses as unknown as { stop?: () => void };
    void (async () => {
      for await (const s of statuses) {
        if (s.type === 'reconnect') this.#reconnects.inc();
        else if (s.type === 'disconnect') this.#disconnects.inc();
      }
    })().catch(() => {});
  }

  stop(): void {
    this.#detach?.();
    this.#statusLoop?.stop?.();
  }

  httpResponse(r: { method: string; route: string; status: number; ms: number }): void {
    this.#http.inc({ method: r.method, route: r.route, status: String(r.status) });
    this.#httpSeconds.observe({ method: r.method, route: r.route }, r.ms / 1000);
  }

  grpcCall(r: { method: string; code: number; ms: number }): void {
    this.#grpc.inc({ method: r.method, code: GRPC_CODE_NAMES[r.code] ?? String(r.code) });
    if (r.method !== 'WatchEvents') this.#grpcSeconds.observe({ method: r.method }, r.ms / 1000);
  }

  /**
   * GET /metrics in the Prometheus text format. It needs a token (viewer is enough), like every
   * read: configure Prometheus with `authorization: { credentials_file: … }`.
   */
  routes(tokens: TokenRegistry) {
    return (app: Hono<AppEnv>) => {
      app.get('/metrics', async (c) => {
        const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
        if (!m || !tokens.verify(m[1]!)) {
          c.header('WWW-Authenticate', 'Bearer realm="molten"');
          return c.json(errorBody('unauthorized', 'send "Authorization: Bearer <token>" (a viewer token is enough) to read metrics'), 401);
        }
        c.header('content-type', this.registry.contentType);
        return c.body(await this.registry.metrics());
      });
    };
  }
}

const GRPC_CODE_NAMES: Record<number, string> = {
  0: 'OK', 1: 'CANCELLED', 2: 'UNKNOWN', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 6: 'ALREADY_EXISTS', 7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED', 9: 'FAILED_PRECONDITION', 10: 'ABORTED', 11: 'OUT_OF_RANGE', 12: 'UNIMPLEMENTED', 13: 'INTERNAL', 14: 'UNAVAILABLE',
  15: 'DATA_LOSS', 16: 'UNAUTHENTICATED',
};
