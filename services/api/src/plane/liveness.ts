import { ServerStatus, serverStatusName, type UpstreamServer } from '@molten/contracts';
import type * as Rest from '@molten/contracts/rest';
import type { AdapterRegistry, ServerReport } from '../state/adapters.js';
import { adapterName, iso, serverJson, type Freshness } from '../state/json.js';
import type { StateView } from '../state/state-view.js';

/**
 * A server record as it stands now: what its descriptor says while an alive adapter replica
 * reports it, and otherwise never better than "down" or "not_reported", always stale.
 */
export interface ServerLiveness {
  status: Rest.ServerStatus;
  statusReason: string;
  remedy: string;
  reachable: boolean;
  authenticated: boolean;
  usable: boolean;
  /** The last good read of the upstream (ms; 0 when never). */
  lastSeenMs: number;
  /** When the status shown began (ms; 0 when unknown). */
  statusSinceMs: number;
  stale: boolean;
  /** An alive adapter replica's heartbeat lists the server. */
  reported: boolean;
}

export interface LivenessOptions {
  heartbeatMs: number;
  demo: boolean;
  /** The api's own connection to the bus, for the health report. */
  bus: { connected(): boolean; server(): string };
  /**
   * How long a server whose reporter stopped reads "down" (its adapter may come back) before it
   * reads "not_reported" (no adapter lists it: it is no longer configured). Default: a minute.
   */
  notReportedAfterMs?: number;
}

/** Upstream statuses in which the adapter knows its data cannot be current. */
const LOST = new Set<ServerStatus>([ServerStatus.SERVER_STATUS_DOWN, ServerStatus.SERVER_STATUS_AUTH_FAILED, ServerStatus.SERVER_STATUS_CONNECTING]);


/**
 * Freshness and the health report: how current each scope's data and each server's status are,
 * judged from the state the api holds and the adapters' heartbeats. Every status shown anywhere
 * (REST, SSE, gRPC, the health report) comes from here, so they cannot disagree.
 */
export class Liveness {
  readonly startedAtMs = Date.now();
  readonly #notReportedAfterMs: number;
  /** How long after start every alive adapter has beaten at least once. */
  readonly #firstBeatsMs: number;

  constructor(
    private readonly state: StateView,
    readonly adapters: AdapterRegistry,
    readonly o: LivenessOptions,
  ) {
    this.#notReportedAfterMs = o.notReportedAfterMs ?? Math.max(60_000, 10 * o.heartbeatMs);
    this.#firstBeatsMs = 3 * Math.max(o.heartbeatMs, 500) + 250;
  }

  get demo(): boolean {
    return this.o.demo;
  }

  /**
   * A server's status now. Reported by an alive replica: its descriptor (status, reason and
   * since-time set together by the adapter, so they agree), stale when its last good read is
   * older than three poll intervals. Not reported: "down" from the last heartbeat that listed it
   * (its reporter stopped), then "not_reported" once that is older than the bound, or at once
   * when an adapter of its kind runs without listing it (one that started since, or any, when
   * this api never saw it listed).
   */
  server(s: UpstreamServer, now = Date.now()): ServerLiveness {
    const r = this.adapters.server(s.id, now);
    const lastSeenMs = Math.max(r?.lastOkMs ?? 0, s.lastSeenMs);
    if (r && r.replicas.length > 0) {
      const knownLost = LOST.has(s.status);
      return {
        status: serverStatusName(s.status),
        statusReason: s.statusReason,
        remedy: s.remedy,
        reachable: s.reachable,
        authenticated: s.authenticated,
        usable: s.usable,
        lastSeenMs,
        statusSinceMs: s.statusSinceMs,
        stale: lastSeenMs === 0 || knownLost || now - lastSeenMs > this.adapters.staleAfterMs(r, this.o.heartbeatMs),
        reported: true,
      };
    }
    const adapter = adapterName(s.domain);
    const lastListedMs = this.adapters.lastListed(s.id);
    const gone = { reachable: false, authenticated: false, usable: false, lastSeenMs, stale: true, reported: false };
    const lastReport = s.statusReason ? `last report: ${s.statusReason}` : 'no report yet';
    if (!lastListedMs && now - this.startedAtMs <= this.#firstBeatsMs) {
      // The api has just started: the adapters' first heartbeats are on their way.
      return { ...gone, status: 'unknown', statusReason: `waiting for the ${adapter}'s heartbeat (${lastReport})`, remedy: '', statusSinceMs: 0 };
    }
    if (!this.adapters.hasAdapter(s.domain, undefined, now)) {
      return {
        ...gone,
        status: 'down',
        statusReason: `no ${adapter} is running (${lastReport})`,
        remedy: `Start the ${adapter} service and check that it can reach NATS.`,
        statusSinceMs: lastListedMs,
      };
    }
    const listedAgo = lastListedMs ? now - lastListedMs : Infinity;
    // A replica of its kind (re)started since it was last listed, and does not list it: it is not configured there any more.
    const restartedWithout = !!lastListedMs && this.adapters.startedSince(s.domain, lastListedMs, now);
    if (listedAgo <= this.#notReportedAfterMs && !restartedWithout) {
      return {
        ...gone,
        status: 'down',
        statusReason: `the ${adapter} replica that reported it stopped ${Math.round(listedAgo / 1000)} s ago (${lastReport})`,
        remedy: `Restart the ${adapter} that serves "${s.scope}", or check that it can reach NATS.`,
        statusSinceMs: lastListedMs,
      };
    }
    return {
      ...gone,
      status: 'not_reported',
      statusReason: `no running ${adapter} reports it: it is no longer configured, or the ${adapter} that served "${s.scope}" is not running (${lastReport})`,
      remedy: `If it should still be watched, configure it again and restart the ${adapter}; otherwise nothing needs doing.`,
      statusSinceMs: lastListedMs,
    };
  }

  /** A server as REST and SSE show it. */
  serverJson(s: UpstreamServer, includeTools = true, now = Date.now()) {
    return serverJson(s, { ...this.server(s, now), includeTools });
  }

  /**
   * The upstream a scope's data comes from: the server its adapter's heartbeat lists first for
   * it (a cluster can also list ProxmoxMCP-Plus beside the Proxmox API), else the scope's only
   * server, preferring one that is not ProxmoxMCP-Plus.
   */
  scopeServer(domain: string, scope: string, now = Date.now()): UpstreamServer | undefined {
    const serverId = this.adapters.scope(domain, scope, now)?.serverId;
    const servers = this.state.list('server', { domain, scope }).map((e) => e.value as UpstreamServer);
    return servers.find((s) => s.id === serverId) ?? servers.find((s) => s.kind !== 'proxmox-mcp') ?? servers[0];
  }

  /** How fresh a scope's data is: its server's last good read, and whether that is too old. */
  freshness(domain: string, scope: string, now = Date.now()): Freshness {
    const server = this.scopeServer(domain, scope, now);
    if (server) {
      const v = this.server(server, now);
      return { lastSeenMs: v.lastSeenMs, stale: v.stale };
    }
    // No descriptor yet: the heartbeats alone.
    const h = this.adapters.scope(domain, scope, now);
    const lastSeenMs = h?.lastOkMs ?? 0;
    const alive = !!h && h.replicas.length > 0;
    const stale = !alive || lastSeenMs === 0 || LOST.has(h.status) || now - lastSeenMs > this.adapters.staleAfterMs(h, this.o.heartbeatMs);
    return { lastSeenMs, stale };
  }

  /**
   * Why a scope cannot take commands right now (undefined when it can, as far as we know). With no
   * alive adapter for the scope the reason is `no_adapter`, except during the api's first
   * heartbeats after its start, when an adapter may simply not have beaten yet: then the command
   * is accepted, and the deadline names the missing adapter if none takes it.
   */
  unavailable(domain: string, scope: string, now = Date.now()): { message: string; remedy: string; reason?: 'no_adapter' } | undefined {
    const h = this.adapters.scope(domain, scope, now);
    if (!h || h.replicas.length === 0) {
      if (now - this.startedAtMs <= this.#firstBeatsMs) return undefined;
      const adapter = adapterName(domain);
      return {
        message: `no ${adapter} is running for ${domain} "${scope}": nothing would take the command`,
        remedy: `Start services/${adapter} for "${scope}" (npm start runs every adapter) and check that it is connected to the same NATS server as the api.`,
        reason: 'no_adapter',
      };
    }
    const server = this.scopeServer(domain, scope, now);
    const status = server ? this.server(server, now).status : serverStatusName(h.status);
    if (status !== 'down' && status !== 'auth_failed') return undefined;
    return {
      message: `${server?.name ?? `${domain} upstream "${scope}"`} is ${status.replace('_', ' ')}: ${server?.statusReason || 'no details'}`,
      remedy: server?.remedy ?? '',
    };
  }

  /**
   * Why a server's tools cannot be called right now: down, refusing Molten, not reported, or not
   * heard from for three intervals. A call would fail or wait for its deadline; the caller is told
   * at once, with what to fix.
   */
  uncallable(s: UpstreamServer, now = Date.now()): { message: string; remedy: string } | undefined {
    const v = this.server(s, now);
    if (v.status === 'down' || v.status === 'auth_failed' || v.status === 'not_reported') {
      const status = v.status === 'not_reported' ? 'not reported by any adapter' : v.status.replace('_', ' ');
      return { message: `${s.name} is ${status}: ${v.statusReason || 'no details'}`, remedy: v.remedy };
    }
    if (v.stale) {
      const age = v.lastSeenMs ? `${Math.round((now - v.lastSeenMs) / 1000)} s` : 'ever';
      return {
        message: `${s.name} has not answered for ${age}${v.status === 'connecting' ? ' (still connecting)' : ''}; its tools cannot be called until it does`,
        remedy: v.remedy || `Check that ${s.endpoint || s.name} is running and reachable from the ${adapterName(s.domain)}.`,
      };
    }
    return undefined;
  }

  health(now = Date.now()): Rest.Health {
    const clusters = this.state.clusters().map((id) => {
      const f = this.freshness('proxmox', id, now);
      const h = this.adapters.scope('proxmox', id, now);
      const server = this.scopeServer('proxmox', id, now);
      const v = server ? this.server(server, now) : undefined;
      return {
        id,
        stale: f.stale,
        lastSeen: iso(f.lastSeenMs),
        ageSeconds: f.lastSeenMs ? Math.round((now - f.lastSeenMs) / 100) / 10 : null,
        pollMs: h?.pollMs ?? null,
        adapter: h?.replicas.length ? 'running' : 'missing',
        replicas: h?.replicas.length ?? 0,
        upstream:
          server && v
            ? { serverId: server.id, status: v.status, reason: v.statusReason, ...(v.remedy ? { remedy: v.remedy } : {}), since: iso(v.statusSinceMs) }
            : null,
      } satisfies Rest.ClusterHealth;
    });
    const adapters = this.adapters.all(now).map((a) => ({
      domain: a.hb.domain,
      instance: a.hb.instance,
      version: a.hb.version,
      alive: a.alive,
      lastHeartbeat: new Date(a.receivedAtMs).toISOString(),
      upstreams: a.hb.upstreams.map((u) => ({ serverId: u.serverId, scope: u.scope, status: serverStatusName(u.status), leader: u.leader })),
    }) satisfies Rest.AdapterHealth);
    const problems = clusters.filter((c) => c.stale || c.upstream?.status !== 'connected');
    const connected = this.o.bus.connected();
    return {
      status: connected ? (problems.length ? 'degraded' : 'ok') : 'down',
      demo: this.o.demo,
      uptimeSeconds: Math.round((now - this.startedAtMs) / 1000),
      bus: { connected, server: this.o.bus.server() },
      clusters,
      adapters,
      // Each server's liveness, so a page that shows servers learns of a stopped reporter (which
      // changes no descriptor) at the next health event.
      servers: this.state.list('server').map((e) => {
        const s = e.value as UpstreamServer;
        const v = this.server(s, now);
        return {
          id: s.id,
          kind: s.kind,
          status: v.status,
          statusReason: v.statusReason,
          ...(v.remedy ? { remedy: v.remedy } : {}),
          reachable: v.reachable,
          authenticated: v.authenticated,
          usable: v.usable,
          lastSeen: iso(v.lastSeenMs),
          statusSince: iso(v.statusSinceMs),
          stale: v.stale,
        } satisfies Rest.ServerLiveness;
      }),
    };
  }
}

export type { ServerReport };
