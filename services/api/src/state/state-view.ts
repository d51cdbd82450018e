import {
  KIND_TYPES,
  isStateKind,
  type GuestType,
  type MessageOf,
  type StateAddress,
  type StateKind,
} from '@molten/contracts';

type KindMessage<K extends StateKind> = MessageOf<(typeof KIND_TYPES)[K]>;

export interface StateEntry<K extends StateKind = StateKind> {
  address: StateAddress & { kind: K };
  value: KindMessage<K>;
  /** When the api received this value (ms): uptime is extrapolated from it. */
  receivedAtMs: number;
}

export type StateChange = { op: 'put'; entry: StateEntry } | { op: 'del'; address: StateAddress };

/**
 * The api's view of the last-known state of every resource, built from the KV snapshot at start
 * and kept current by the events stream. Indexed by kind, then by the state key.
 */
export class StateView {
  readonly #byKind = new Map<StateKind, Map<string, StateEntry>>();

  apply(address: StateAddress, value: unknown, removed: boolean, receivedAtMs = Date.now()): StateChange | undefined {
    if (!isStateKind(address.kind)) return undefined;
    const key = `${address.domain}.${address.scope}.${address.id}`;
    let map = this.#byKind.get(address.kind);
    if (!map) this.#byKind.set(address.kind, (map = new Map()));
    if (removed) {
      if (!map.delete(key)) return undefined;
      return { op: 'del', address };
    }
    const entry = { address: address as StateEntry['address'], value: value as StateEntry['value'], receivedAtMs };
    map.set(key, entry);
    return { op: 'put', entry };
  }

  list<K extends StateKind>(kind: K, filter?: { domain?: string; scope?: string }): StateEntry<K>[] {
    const map = this.#byKind.get(kind);
    if (!map) return [];
    const out: StateEntry<K>[] = [];
    for (const e of map.values()) {
      if (filter?.domain && e.address.domain !== filter.domain) continue;
      if (filter?.scope && e.address.scope !== filter.scope) continue;
      out.push(e as unknown as StateEntry<K>);
    }
    return out;
  }

  get<K extends StateKind>(kind: K, domain: string, scope: string, id: string): StateEntry<K> | undefined {
    return this.#byKind.get(kind)?.get(`${domain}.${scope}.${id}`) as StateEntry<K> | undefined;
  }

  /** Proxmox clusters known from any of their resources. */
  clusters(): string[] {
    const scopes = new Set<string>();
    for (const kind of ['cluster', 'node', 'qemu', 'lxc'] as const) {
      for (const e of this.#byKind.get(kind)?.values() ?? []) if (e.address.domain === 'proxmox') scopes.add(e.address.scope);
    }
    return [...scopes].sort();
  }

  guests(cluster: string): StateEntry<GuestType>[] {
    return [...this.list('qemu', { domain: 'proxmox', scope: cluster }), ...this.list('lxc', { domain: 'proxmox', scope: cluster })] as StateEntry<GuestType>[];
  }

  guest(cluster: string, vmid: number): StateEntry<GuestType> | undefined {
    return (this.get('qemu', 'proxmox', cluster, String(vmid)) ?? this.get('lxc', 'proxmox', cluster, String(vmid))) as
      | StateEntry<GuestType>
      | undefined;
  }

  count(): number {
    let n = 0;
    for (const m of this.#byKind.values()) n += m.size;
    return n;
  }
}
