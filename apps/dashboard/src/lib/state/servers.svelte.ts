import type { Delta, Health, Server, ServerLiveness } from '$lib/api/types';

const order = (a: Server, b: Server) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name);

/** Every upstream connection of every adapter (the MCP Overview), live from `server` events. */
export class Servers {
  list = $state.raw<readonly Server[]>([]);
  readonly #byId = new Map<string, Server>();

  get(id: string): Server | undefined {
    return this.list.find((s) => s.id === id);
  }

  replaceAll(servers: readonly Server[]): void {
    this.#byId.clear();
    for (const s of servers) this.#byId.set(s.id, s);
    this.#publish();
  }

  apply(d: Delta): void {
    if (d.op === 'put') this.#byId.set((d.value as Server).id, d.value as Server);
    else if (!this.#byId.delete(d.id)) return;
    this.#publish();
  }

  /**
   * Takes each server's liveness from a health event: a reporter that stopped, or a server no
   * adapter lists any more, changes no descriptor, so no `server` event says so.
   */
  applyHealth(h: Health): void {
    let changed = false;
    for (const live of h.servers ?? []) {
      const s = this.#byId.get(live.id);
      if (!s || !differs(s, live)) continue;
      this.#byId.set(live.id, { ...s, ...live, kind: s.kind, remedy: live.remedy });
      changed = true;
    }
    if (changed) this.#publish();
  }

  /**
   * The server that acts on a Proxmox cluster: the one reporting power capabilities, preferring
   * the direct Proxmox VE API (when both it and ProxmoxMCP-Plus are configured, actions use it).
   */
  forCluster(cluster: string): Server | undefined {
    const candidates = this.list.filter((s) => s.domain === 'proxmox' && s.scope === cluster);
    const acts = (s: Server) => s.capabilities.some((c) => c.action.startsWith('vm-'));
    return candidates.find((s) => s.kind === 'proxmox-ve' && acts(s)) ?? candidates.find(acts) ?? candidates[0];
  }

  /** The server entry of an agent gateway (its freshness and status). */
  forGateway(scope: string): Server | undefined {
    return this.list.find((s) => s.kind === 'gateway' && s.scope === scope) ?? this.list.find((s) => s.domain === 'moltbot' && s.scope === scope);
  }

  #publish(): void {
    this.list = [...this.#byId.values()].sort(order);
  }
}

const LIVENESS_KEYS = ['status', 'statusReason', 'remedy', 'reachable', 'authenticated', 'usable', 'lastSeen', 'statusSince', 'stale'] as const;

function differs(s: Server, live: ServerLiveness): boolean {
  return LIVENESS_KEYS.some((k) => (k === 'remedy' || live[k] !== undefined) && s[k] !== live[k]);
}
