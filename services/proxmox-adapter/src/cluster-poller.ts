import { GUEST_TYPES, type ClusterStatus, type Guest, type GuestType, type Node } from '@molten/contracts';
import type { CommandHandler, StatePublisher } from '@molten/bus';
import type { Logger } from '@molten/kit';
import type { ClusterDriver, ClusterRead, GuestRef } from './driver.js';
import { PollPace } from './poll-pace.js';
import { UpstreamError } from './upstream-error.js';
import type { UpstreamHealthTracker } from './upstream-health.js';
import { clusterChanged, guestChanged, nodeChanged, storageChanged } from './state-diff.js';

export interface ClusterPollerOptions {
  cluster: string;
  driver: ClusterDriver;
  /** The cluster scope's publisher: it knows what was published, and what the snapshot holds. */
  publisher: StatePublisher;
  health: UpstreamHealthTracker;
  log: Logger;
  /** The interval while all is well (PVE_POLL_MS); see PollPace for when it reads faster or slower. */
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

const guestId = (g: Guest) => String(g.vmid);

/**
 * Reads the cluster once per interval (one /cluster/resources request, whatever the number of
 * guests), publishes only what changed, removes what disappeared, and keeps the upstream's
 * health. Runs on the replica that holds the poll lease. The interval adapts (PollPace):
 * shorter while a command runs on the cluster, longer while the upstream fails or answers
 * slowly; the health it reports carries the interval in force, so staleness is judged on it.
 */
export class ClusterPoller {
  readonly #o: Required<ClusterPollerOptions>;
  readonly #details = new Map<string, Partial<Node>>();
  readonly pace: PollPace;
  #running = false;
  #loop: Promise<void> | undefined;
  #lastStatusAt = 0;
  #lastDetailsAt = 0;
  /** The last failed read's code and message, until a read succeeds (logged once per reason in a row). */
  #failedWith = '';
  /** When the running poll (or the last one) started, and the pending wait for the next. */
  #pollStartedAt = 0;
  #wait: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  /** Count of completed polls (for tests and metrics). */
  polls = 0;

  constructor(o: ClusterPollerOptions) {
    this.#o = { statusEveryMs: 10_000, detailsEveryMs: 600_000, ...o };
    this.pace = new PollPace(o.pollMs);
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#reschedule();
    await this.#loop;
  }

  /**
   * A command started on this cluster: reads come faster until the function returned is
   * called (when it ended). The wait for the next read shortens at once.
   */
  commandStarted(): () => void {
    const ended = this.pace.commandStarted();
    this.#reschedule();
    return ended;
  }

  /** Where a guest is: from the last poll, else from the snapshot (undefined when unknown). */
  async locate(vmid: number): Promise<GuestRef | undefined> {
    const { publisher } = this.#o;
    const id = String(vmid);
    for (const type of GUEST_TYPES) {
      const g = publisher.get(type, id);
      if (g) return { vmid, node: g.node, type };
    }
    for (const type of GUEST_TYPES) {
      const g = await publisher.read(type, id);
      if (g) return { vmid, node: g.node, type };
    }
    return undefined;
  }

  /** Publishes a guest read outside the poll (right after a command's task ended). */
  async publishGuest(g: Guest): Promise<void> {
    const type = g.type === 'lxc' ? 'lxc' : 'qemu';
    const prev = this.#o.publisher.get(type, guestId(g));
    await this.#o.publisher.put(type, guestId(g), { ...g, pool: g.pool ?? prev?.pool, hastate: g.hastate ?? prev?.hastate });
  }

  async #run(): Promise<void> {
    while (this.#running) {
      this.#pollStartedAt = performance.now();
      await this.pollOnce();
      if (!this.#running) break;
      await new Promise<void>((resolve) => {
        this.#wait = { timer: setTimeout(resolve, this.#waitMs()), resolve };
      });
      this.#wait = undefined;
    }
  }

  /** Until the next read: the pace's interval from when the last read started. */
  #waitMs(): number {
    return Math.max(0, this.#pollStartedAt + this.pace.intervalMs() - performance.now());
  }

  /** The interval changed (or the poller stops): the pending wait ends at the new time. */
  #reschedule(): void {
    const w = this.#wait;
    if (!w) return;
    clearTimeout(w.timer);
    const ms = this.#running ? this.#waitMs() : 0;
    if (ms <= 0) w.resolve();
    else w.timer = setTimeout(w.resolve, ms);
  }

  async pollOnce(): Promise<void> {
    const { driver, health, log } = this.#o;
    const now = Date.now();
    let status: ClusterStatus | undefined;
    let read: ClusterRead;
    let latency: number;
    try {
      if (now - this.#lastStatusAt >= this.#o.statusEveryMs || !health.version) status = await this.#readStatus();
      if (driver.readNodeDetails && now - this.#lastDetailsAt >= this.#o.detailsEveryMs) {
        this.#lastDetailsAt = now;
        void this.#readDetails();
      }
      const readAt = performance.now();
      read = await driver.readResources({ stillPublished: (g) => this.#o.publisher.get(g.type === 'lxc' ? 'lxc' : 'qemu', guestId(g)) === g });
      // The upstream's answer time for the poll's one request (not the slower status reads, nor
      // the driver's parsing when it tells them apart).
      latency = read.answerMs ?? performance.now() - readAt;
    } catch (err) {
      const e = err instanceof UpstreamError ? err : new UpstreamError({ code: 'upstream', message: String((err as Error)?.message ?? err) });
      // Once per reason in a row: a Proxmox that refuses connections is read every interval.
      const reason = `${e.code} ${e.message}`;
      if (reason !== this.#failedWith) {
        if (e.code === 'upstream' && !(err instanceof UpstreamError)) log.error({ err }, 'poll failed');
        else log.warn({ code: e.code, reason: e.message }, 'poll failed');
      } else log.debug({ code: e.code }, 'poll failed again');
      this.#failedWith = reason;
      this.pace.fail(e.code === 'unreachable' ? 'unreachable' : 'error');
      health.id.pollMs = this.pace.intervalMs();
      health.fail(e);
      return;
    }
    try {
      if (status) {
        await this.#o.publisher.sync('cluster', [status], { id: (c) => c.cluster, changed: clusterChanged });
        this.#lastStatusAt = now;
      }
      await this.#apply(read);
    } catch (err) {
      // The bus, not the upstream: the next poll compares with the snapshot and publishes again.
      log.warn({ err }, 'cluster state not published; the next poll publishes it');
    }
    const offline = read.nodes.filter((n) => n.status !== 'online').map((n) => n.node);
    this.pace.ok(latency);
    this.#failedWith = '';
    // The heartbeat that follows this read carries the interval in force: the api and the
    // dashboard judge staleness on it (a slowed-down poll is not stale data).
    health.id.pollMs = this.pace.intervalMs();
    health.ok(latency, offline.length ? `${offline.length === 1 ? 'node' : 'nodes'} ${offline.join(', ')} offline` : '');
    this.polls++;
  }

  async #readStatus(): Promise<ClusterStatus> {
    const { driver, health } = this.#o;
    if (!health.version) health.version = await driver.version();
    const s = await driver.readClusterStatus();
    for (const n of s.nodes) {
      const d = this.#details.get(n.name) ?? {};
      this.#details.set(n.name, { ...d, ip: n.ip || d.ip, nodeid: n.nodeid || d.nodeid });
    }
    return { cluster: this.#o.cluster, ...s, upstreamVersion: health.version, demo: this.#o.demo };
  }

  async #readDetails(only?: string[]): Promise<void> {
    if (!this.#o.driver.readNodeDetails) return;
    const online = only ?? [...this.#o.publisher.values('node')].filter((n) => n.status === 'online').map((n) => n.node);
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

  async #apply({ guests, nodes, storage }: ClusterRead): Promise<void> {
    const { publisher, driver } = this.#o;
    const byType: Record<GuestType, Guest[]> = { qemu: [], lxc: [] };
    for (const g of guests) byType[g.type === 'lxc' ? 'lxc' : 'qemu'].push(g);
    const fresh = nodes.filter((n) => n.status === 'online' && (publisher.get('node', n.node)?.status !== 'online' || !this.#details.get(n.node)?.pveversion));
    if (fresh.length && Date.now() - this.#lastDetailsAt < this.#o.detailsEveryMs) void this.#readDetails(fresh.map((n) => n.node));
    // A guest missing from one partial read waits for the next read to agree before it is removed.
    const removeAfterMisses = driver.completeReads ? 1 : 2;
    await Promise.all([
      ...GUEST_TYPES.map((type) => publisher.sync(type, byType[type], { id: guestId, changed: guestChanged, removeAfterMisses })),
      publisher.sync('node', nodes.map((raw) => ({ ...raw, ...this.#details.get(raw.node), cluster: raw.cluster, node: raw.node, status: raw.status })), { id: (n) => n.node, changed: nodeChanged }),
      publisher.sync('storage', storage, { id: (s) => s.id, changed: storageChanged }),
    ]);
  }
}

/** A cluster's command handler that tells the poller while each command runs (it then reads faster). */
export function readFasterDuring(poller: ClusterPoller, handler: CommandHandler): CommandHandler {
  const during = async <T>(run: () => Promise<T>): Promise<T> => {
    const ended = poller.commandStarted();
    try {
      return await run();
    } finally {
      ended();
    }
  };
  return {
    acceptsWithCall: (command) => handler.acceptsWithCall?.(command) ?? false,
    execute: (ctx) => during(() => handler.execute(ctx)),
    resume: (ctx) => during(() => handler.resume(ctx)),
  };
}
