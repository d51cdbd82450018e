import {
  KIND_TYPES,
  isStateKind,
  type GuestType,
  type MessageOf,
  type StateAddress,
  type StateKind,
} from '@molten/contracts';

/** The kinds whose resources make a Proxmox cluster known (clusters()). */
const CLUSTER_KINDS: ReadonlySet<string> = new Set<StateKind>(['cluster', 'node', 'qemu', 'lxc']);

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
  /** How many resources of CLUSTER_KINDS each Proxmox cluster has: clusters() without a pass over every guest. */
  readonly #clusterSizes = new Map<string, number>();

  apply(address: StateAddress, value: unknown, removed: boolean, receivedAtMs = Date.now()): StateChange | undefined {
    if (!isStateKind(address.kind)) return undefined;
    const key = `${address.domain}.${address.scope}.${address.id}`;
    let map = this.#byKind.get(address.kind);
    if (!map) this.#byKind.set(address.kind, (map = new Map()));
    const sized = address.domain === 'proxmox' && CLUSTER_KINDS.has(address.kind);
    if (removed) {
      if (!map.delete(key)) return undefined;
      if (sized) this.#resize(address.scope, -1);
      return { op: 'del', address };
    }
    const entry = { address: address as StateEntry['address'], value: value as StateEntry['value'], receivedAtMs };
    if (sized && !map.has(key)) this.#resize(address.scope, +1);
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
    return [...this.#clusterSizes.keys()].sort();
  }

  #resize(scope: string, by: 1 | -1): void {
    const n = (this.#clusterSizes.get(scope) ?? 0) + by;
    if (n > 0) this.#clusterSizes.set(scope, n);
    else this.#clusterSizes.delete(scope);
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
