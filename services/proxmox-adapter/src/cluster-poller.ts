import { KIND_TYPES, decodeMessage, type ClusterStatus, type Guest, type Node, type Storage } from '@molten/contracts';
import { BUCKETS } from '@molten/contracts';
import { readSnapshot, type Bus, type StatePublisher } from '@molten/bus';
import { sleep, type Logger } from '@molten/kit';
import type { ClusterDriver, GuestRef } from './driver.js';
import { UpstreamError } from './upstream-error.js';
import type { UpstreamHealthTracker } from './upstream-health.js';
import { clusterChanged, guestChanged, nodeChanged, storageChanged } from './state-diff.js';

export interface ClusterPollerOptions {
  cluster: string;
  driver: ClusterDriver;
  bus: Bus;
  publisher: StatePublisher;
  health: UpstreamHealthTracker;
  log: Logger;
  pollMs: number;
  /** How often cluster status (quorum, membership) is read (default 10 s). */
  statusEveryMs?: number;
  /**
   * How often node details (pve-manager version, CPU model, load average) are re-read
   * (default 10 min; a node is also read when first seen or back online). Kept slow so a poll
   * stays one request whatever the cluster's size.
   */
  detailsEveryMs?: number;
  demo: boolean;
}

const guestKey = (g: { type: string; vmid: number }) => `${g.type}/${g.vmid}`;

/**
 * Reads the cluster once per interval (one /cluster/resources request, whatever the number of
 * guests), publishes only what changed, removes what disappeared, and keeps the upstream's
 * health. Runs on the replica that holds the poll lease.
 */
export class ClusterPoller {
  readonly #o: Required<ClusterPollerOptions>;
  readonly #guests = new Map<string, Guest>();
  readonly #nodes = new Map<string, Node>();
  readonly #storage = new Map<string, Storage>();
  #cluster: ClusterStatus | undefined;
  readonly #details = new Map<string, Partial<Node>>();
  /** Keys missing from the last read, for drivers whose reads can be partial. */
  #missing = new Set<string>();
  #running = false;
  #loop: Promise<void> | undefined;
  #lastStatusAt = 0;
  #lastDetailsAt = 0;
  #wake: (() => void) | undefined;
  /** Count of completed polls (for tests and metrics). */
  polls = 0;

  constructor(o: ClusterPollerOptions) {
    this.#o = { statusEveryMs: 10_000, detailsEveryMs: 600_000, ...o };
  }

  get running(): boolean {
    return this.#running;
  }

  /** Loads what was last published for this cluster, so a new leader publishes only changes. */
  async hydrate(): Promise<void> {
    const prefix = `proxmox.${this.#o.cluster}`;
    const entries = await readSnapshot(this.#o.bus.js, BUCKETS.state, `${prefix}.>`);
    for (const e of entries) {
      const kind = e.key.split('.')[2] as keyof typeof KIND_TYPES;
      try {
        if (kind === 'qemu' || kind === 'lxc') {
          const g = decodeMessage('molten.v1.Guest', e.value);
          this.#guests.set(guestKey(g), g);
        } else if (kind === 'node') {
          const n = decodeMessage('molten.v1.Node', e.value);
          this.#nodes.set(n.node, n);
        } else if (kind === 'storage') {
          const s = decodeMessage('molten.v1.Storage', e.value);
          this.#storage.set(s.id, s);
        } else if (kind === 'cluster') {
          this.#cluster = decodeMessage('molten.v1.ClusterStatus', e.value);
        }
      } catch (err) {
        this.#o.log.warn({ key: e.key, err }, 'ignoring an unreadable snapshot entry');
      }
    }
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
  }

  /** Where a guest is, from the last poll (undefined when unknown). */
  locate(vmid: number): GuestRef | undefined {
    for (const type of ['qemu', 'lxc'] as const) {
      const g = this.#guests.get(`${type}/${vmid}`);
      if (g) return { vmid, node: g.node, type };
    }
    return undefined;
  }

  /** Publishes a guest read outside the poll (right after a command's task ended). */
  async publishGuest(g: Guest): Promise<void> {
    const prev = this.#guests.get(guestKey(g));
    const merged: Guest = { ...g, pool: g.pool ?? prev?.pool, hastate: g.hastate ?? prev?.hastate };
    this.#guests.set(guestKey(merged), merged);
    await this.#o.publisher.put(merged.type as 'qemu' | 'lxc', String(merged.vmid), merged);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const started = Date.now();
      await this.pollOnce();
      const wait = Math.max(0, this.#o.pollMs - (Date.now() - started));
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        void sleep(wait).then(resolve);
      });
    }
  }

  async pollOnce(): Promise<void> {
    const { driver, health, log } = this.#o;
    try {
      const now = Date.now();
      if (now - this.#lastStatusAt >= this.#o.statusEveryMs || !health.version) {
        await this.#readStatus();
        this.#lastStatusAt = now;
      }
      if (driver.readNodeDetails && now - this.#lastDetailsAt >= this.#o.detailsEveryMs) {
        this.#lastDetailsAt = now;
        void this.#readDetails();
      }
      const readAt = performance.now();
      const read = await driver.readResources();
      // The upstream's answer time for the poll's one request (not the slower status reads).
      const latency = performance.now() - readAt;
      await this.#apply(read.guests, read.nodes, read.storage);
      const offline = read.nodes.filter((n) => n.status !== 'online').map((n) => n.node);
      health.ok(latency, offline.length ? `${offline.length === 1 ? 'node' : 'nodes'} ${offline.join(', ')} offline` : '');
      this.polls++;
    } catch (err) {
      const e = err instanceof UpstreamError ? err : new UpstreamError({ code: 'upstream', message: String((err as Error)?.message ?? err) });
      if (e.code === 'upstream' && !(err instanceof UpstreamError)) log.error({ err }, 'poll failed');
      else log.warn({ code: e.code, reason: e.message }, 'poll failed');
      health.fail(e);
    }
  }

  async #readStatus(): Promise<void> {
    const { driver, health } = this.#o;
    if (!health.version) health.version = await driver.version();
    const s = await driver.readClusterStatus();
    const next: ClusterStatus = { cluster: this.#o.cluster, ...s, upstreamVersion: health.version, demo: this.#o.demo };
    if (clusterChanged(this.#cluster, next)) {
      this.#cluster = next;
      await this.#o.publisher.put('cluster', this.#o.cluster, next);
    }
    for (const n of s.nodes) {
      const d = this.#details.get(n.name) ?? {};
      this.#details.set(n.name, { ...d, ip: n.ip || d.ip, nodeid: n.nodeid || d.nodeid });
    }
  }

  async #readDetails(only?: string[]): Promise<void> {
    if (!this.#o.driver.readNodeDetails) return;
    const online = only ?? [...this.#nodes.values()].filter((n) => n.status === 'online').map((n) => n.node);
    for (let i = 0; i < online.length; i += 4) {
      await Promise.all(
        online.slice(i, i + 4).map(async (node) => {
          try {
            const d = await this.#o.driver.readNodeDetails!(node);
            this.#details.set(node, { ...this.#details.get(node), ...d });
          } catch (err) {
            this.#o.log.debug({ node, err }, 'node details not read');
          }
        }),
      );
    }
  }

  async #apply(guests: Guest[], nodes: Node[], storage: Storage[]): Promise<void> {
    const { publisher } = this.#o;
    const writes: (() => Promise<void>)[] = [];
    const seenGuests = new Set<string>();
    for (const g of guests) {
      const key = guestKey(g);
      seenGuests.add(key);
      if (guestChanged(this.#guests.get(key), g)) {
        this.#guests.set(key, g);
        writes.push(() => publisher.put(g.type as 'qemu' | 'lxc', String(g.vmid), g));
      }
    }
    const missing = new Set<string>();
    for (const [key, g] of this.#guests) {
      if (seenGuests.has(key)) continue;
      if (!this.#o.driver.completeReads && !this.#missing.has(key)) {
        missing.add(key); // gone from one partial read: wait for the next one to agree
        continue;
      }
      this.#guests.delete(key);
      writes.push(() => publisher.remove(g.type as 'qemu' | 'lxc', String(g.vmid)));
    }
    this.#missing = missing;
    const seenNodes = new Set<string>();
    const fresh = nodes.filter((n) => n.status === 'online' && (this.#nodes.get(n.node)?.status !== 'online' || !this.#details.get(n.node)?.pveversion));
    if (fresh.length && Date.now() - this.#lastDetailsAt < this.#o.detailsEveryMs) void this.#readDetails(fresh.map((n) => n.node));
    for (const raw of nodes) {
      const n: Node = { ...raw, ...this.#details.get(raw.node), cluster: raw.cluster, node: raw.node, status: raw.status };
      seenNodes.add(n.node);
      if (nodeChanged(this.#nodes.get(n.node), n)) {
        this.#nodes.set(n.node, n);
        writes.push(() => publisher.put('node', n.node, n));
      }
    }
    for (const name of [...this.#nodes.keys()]) {
      if (!seenNodes.has(name)) {
        this.#nodes.delete(name);
        writes.push(() => publisher.remove('node', name));
      }
    }
    const seenStorage = new Set<string>();
    for (const s of storage) {
      seenStorage.add(s.id);
      if (storageChanged(this.#storage.get(s.id), s)) {
        this.#storage.set(s.id, s);
        writes.push(() => publisher.put('storage', s.id, s));
      }
    }
    for (const id of [...this.#storage.keys()]) {
      if (!seenStorage.has(id)) {
        this.#storage.delete(id);
        writes.push(() => publisher.remove('storage', id));
      }
    }
    // A first poll of a big cluster changes everything: publish in bounded batches.
    for (let i = 0; i < writes.length; i += 256) await Promise.all(writes.slice(i, i + 256).map((w) => w()));
  }
}
