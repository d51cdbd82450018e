import { ServerStatus, type Capability, type Heartbeat, type UpstreamHealth } from '@molten/contracts';

/** One upstream server as the adapters' heartbeats report it. */
export interface ServerReport {
  domain: string;
  scope: string;
  serverId: string;
  /** The polling replica's view (another alive replica's until it reports); unspecified when none is alive. */
  status: ServerStatus;
  /** Last good read of the upstream by any replica, alive or not (ms; 0 when never). */
  lastOkMs: number;
  pollMs: number;
  latencyMs: number;
  capabilities: Capability[];
  /** Alive replicas whose heartbeat lists this server, and which one polls. */
  replicas: string[];
  leader?: string;
}

/** The health of a scope: the report of the scope's own server (the first one its adapter lists). */
export type ScopeHealth = ServerReport;

interface Beat {
  hb: Heartbeat;
  receivedAtMs: number;
  /** When this api first heard this run of the replica (a restart, even under the same name, starts anew). */
  firstSeenMs: number;
}

/** A replica whose beats stopped this long ago is forgotten (its servers then read "not reported"). */
const FORGET_AFTER_MS = 24 * 3600_000;

/**
 * Adapter replicas as their heartbeats describe them. A replica is gone after three missed
 * beats; a server is reported while an alive replica's heartbeat lists it.
 */
export class AdapterRegistry {
  readonly #beats = new Map<string, Beat>();
  /** When a heartbeat last listed each server: kept when the replica's next beats no longer do. */
  readonly #listed = new Map<string, number>();

  apply(hb: Heartbeat, now = Date.now()): void {
    const key = `${hb.domain}/${hb.instance}`;
    const prev = this.#beats.get(key);
    const firstSeenMs = prev && prev.hb.startedAtMs === hb.startedAtMs ? prev.firstSeenMs : now;
    this.#beats.set(key, { hb, receivedAtMs: now, firstSeenMs });
    for (const u of hb.upstreams) this.#listed.set(u.serverId, now);
    for (const [key, b] of this.#beats) if (now - b.receivedAtMs > FORGET_AFTER_MS) this.#beats.delete(key);
    for (const [id, at] of this.#listed) if (now - at > FORGET_AFTER_MS) this.#listed.delete(id);
  }

  alive(now = Date.now()): Heartbeat[] {
    return [...this.#beats.values()].filter((b) => this.#isAlive(b, now)).map((b) => b.hb);
  }

  all(now = Date.now()) {
    return [...this.#beats.values()].map((b) => ({ ...b, alive: this.#isAlive(b, now) }));
  }

  hasAdapter(domain: string, scope?: string, now = Date.now()): boolean {
    return this.alive(now).some((hb) => hb.domain === domain && (!scope || hb.upstreams.some((u) => u.scope === scope)));
  }

  /** When a heartbeat last listed the server (the api's clock; 0 when this api never saw one). */
  lastListed(serverId: string): number {
    return this.#listed.get(serverId) ?? 0;
  }

  /** An alive replica of the domain that this api first heard after `t` (started, or restarted, since). */
  startedSince(domain: string, t: number, now = Date.now()): boolean {
    return [...this.#beats.values()].some((b) => b.hb.domain === domain && b.firstSeenMs > t && this.#isAlive(b, now));
  }

  /** What the heartbeats say of one server; undefined when no heartbeat this api received lists it. */
  server(serverId: string, now = Date.now()): ServerReport | undefined {
    return this.#merge((u) => u.serverId === serverId, now);
  }

  /**
   * A scope's health: the report of the server its adapter lists first for it (a Proxmox cluster
   * read through the Proxmox VE API can list ProxmoxMCP-Plus beside it, as a server of its own).
   */
  scope(domain: string, scope: string, now = Date.now()): ScopeHealth | undefined {
    const beats = [...this.#beats.values()].filter((b) => b.hb.domain === domain);
    const order = (b: Beat) => (this.#isAlive(b, now) ? 0 : 2) + (b.hb.upstreams.some((u) => u.scope === scope && u.leader) ? 0 : 1);
    beats.sort((a, b) => order(a) - order(b) || b.receivedAtMs - a.receivedAtMs);
    const first = beats.flatMap((b) => b.hb.upstreams).find((u) => u.scope === scope);
    return first ? this.#merge((u) => u.serverId === first.serverId && u.scope === scope, now, domain) : undefined;
  }

  /** The age limit past which a server's data counts as stale. */
  staleAfterMs(h: ServerReport | undefined, heartbeatMs: number): number {
    return 3 * Math.max(h?.pollMs || 0, heartbeatMs);
  }

  #merge(match: (u: UpstreamHealth) => boolean, now: number, domain?: string): ServerReport | undefined {
    let out: ServerReport | undefined;
    for (const b of this.#beats.values()) {
      if (domain && b.hb.domain !== domain) continue;
      const alive = this.#isAlive(b, now);
      for (const u of b.hb.upstreams) {
        if (!match(u)) continue;
        out ??= {
          domain: b.hb.domain,
          scope: u.scope,
          serverId: u.serverId,
          status: ServerStatus.SERVER_STATUS_UNSPECIFIED,
          lastOkMs: 0,
          pollMs: u.pollMs,
          latencyMs: u.latencyMs,
          capabilities: u.capabilities,
          replicas: [],
        };
        out.lastOkMs = Math.max(out.lastOkMs, u.lastOkMs);
        if (!alive) continue;
        out.replicas.push(b.hb.instance);
        // The polling replica knows the upstream best; others fill in until it reports.
        if (u.leader || out.status === ServerStatus.SERVER_STATUS_UNSPECIFIED) {
          out.status = u.status;
          out.pollMs = u.pollMs || out.pollMs;
          out.latencyMs = u.latencyMs;
          out.capabilities = u.capabilities;
          if (u.leader) out.leader = b.hb.instance;
        }
      }
    }
    return out;
  }

  #isAlive(b: Beat, now: number): boolean {
    return now - b.receivedAtMs <= 3 * Math.max(b.hb.intervalMs, 500) + 250;
  }
}
