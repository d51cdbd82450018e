import type { Agent, AgentSession, Delta, Gateway, Snapshot } from '$lib/api/types';

export type ScopedGateway = Gateway & { scope: string };
export type ScopedAgent = Agent & { scope: string };
export type ScopedSession = AgentSession & { scope: string };

/** Agent gateways, their agents and recent sessions, live from the snapshot and deltas. */
export class Agents {
  gateways = $state.raw<readonly ScopedGateway[]>([]);
  agents = $state.raw<readonly ScopedAgent[]>([]);
  /** Most recently active first. */
  sessions = $state.raw<readonly ScopedSession[]>([]);

  readonly #gateways = new Map<string, ScopedGateway>();
  readonly #agents = new Map<string, ScopedAgent>();
  readonly #sessions = new Map<string, ScopedSession>();

  replaceAll(s: Pick<Snapshot, 'gateways' | 'agents' | 'sessions'>): void {
    this.#gateways.clear();
    this.#agents.clear();
    this.#sessions.clear();
    for (const g of s.gateways) this.#gateways.set(g.scope, g);
    for (const a of s.agents) this.#agents.set(`${a.scope}/${a.id}`, a);
    for (const x of s.sessions) this.#sessions.set(`${x.scope}/${x.key}`, x);
    this.#publish('gateway');
    this.#publish('agent');
    this.#publish('session');
  }

  apply(kind: 'gateway' | 'agent' | 'session', d: Delta): void {
    const map = (kind === 'gateway' ? this.#gateways : kind === 'agent' ? this.#agents : this.#sessions) as Map<string, unknown>;
    if (d.op === 'put') {
      const v = d.value as Record<string, unknown>;
      const id = kind === 'gateway' ? d.scope : `${d.scope}/${kind === 'agent' ? (v.id as string) || d.id : (v.key as string) || d.id}`;
      map.set(id, { ...v, scope: d.scope });
    } else if (!map.delete(kind === 'gateway' ? d.scope : `${d.scope}/${d.id}`)) return;
    this.#publish(kind);
  }

  #publish(kind: 'gateway' | 'agent' | 'session'): void {
    if (kind === 'gateway') this.gateways = [...this.#gateways.values()].sort((a, b) => a.scope.localeCompare(b.scope));
    else if (kind === 'agent') this.agents = [...this.#agents.values()].sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || a.name.localeCompare(b.name));
    else this.sessions = [...this.#sessions.values()].sort((a, b) => b.updatedAtMs - a.updatedAtMs);
  }
}
