import { ServerStatus, serverStatusName, type Capability, type Heartbeat } from '@molten/contracts';

export interface ScopeHealth {
  domain: string;
  scope: string;
  serverId: string;
  status: ServerStatus;
  /** Last good read of the upstream by any replica (ms; 0 when never). */
  lastOkMs: number;
  pollMs: number;
  latencyMs: number;
  capabilities: Capability[];
  /** Replicas alive for this scope, and which one polls. */
  replicas: string[];
  leader?: string;
}

interface Beat {
  hb: Heartbeat;
  receivedAtMs: number;
}

/**
 * Adapter replicas as their heartbeats describe them. A replica is gone after three missed
 * beats; a scope is stale when no replica read its upstream successfully for three poll
 * intervals (or three heartbeats, when that is longer).
 */
export class AdapterRegistry {
  readonly #beats = new Map<string, Beat>();
  /** Last good reads remembered from the snapshot (server descriptors) until beats arrive. */
  readonly #seeded = new Map<string, number>();

  apply(hb: Heartbeat, now = Date.now()): void {
    this.#beats.set(`${hb.domain}/${hb.instance}`, { hb, receivedAtMs: now });
  }

  seedLastOk(serverId: string, lastOkMs: number): void {
    this.#seeded.set(serverId, Math.max(lastOkMs, this.#seeded.get(serverId) ?? 0));
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

  scope(domain: string, scope: string, now = Date.now()): ScopeHealth | undefined {
    let out: ScopeHealth | undefined;
    for (const b of this.#beats.values()) {
      if (b.hb.domain !== domain) continue;
      const alive = this.#isAlive(b, now);
      for (const u of b.hb.upstreams) {
        if (u.scope !== scope) continue;
        out ??= {
          domain,
          scope,
          serverId: u.serverId,
          status: ServerStatus.SERVER_STATUS_UNSPECIFIED,
          lastOkMs: this.#seeded.get(u.serverId) ?? 0,
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

  /** The age limit past which a scope's data counts as stale. */
  staleAfterMs(h: ScopeHealth | undefined, heartbeatMs: number): number {
    return 3 * Math.max(h?.pollMs || 0, heartbeatMs);
  }

  #isAlive(b: Beat, now: number): boolean {
    return now - b.receivedAtMs <= 3 * Math.max(b.hb.intervalMs, 500) + 250;
  }
}

export function statusName(s: ServerStatus) {
  return serverStatusName(s);
}
