import type { Delta, Server } from '$lib/api/types';

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
