import { CommandStore, decodeBus, followEvents, submitCommand, type Bus, type BusEvent, type SubmitInput } from '@molten/bus';
import { subjects, type CommandRecord, type Heartbeat } from '@molten/contracts';
import type { Logger } from '@molten/kit';
import { AdapterRegistry } from '../state/adapters.js';
import { CommandDeadlines } from './deadlines.js';
import { EventFeed } from './event-feed.js';
import { Liveness } from './liveness.js';
import { Projection } from './projection.js';

export interface ControlPlaneOptions {
  log: Logger;
  defaultCluster: string;
  heartbeatMs: number;
  demo: boolean;
  /** How often open commands are checked against their deadlines (default 500 ms). */
  sweepEveryMs?: number;
}

/**
 * The api's runtime, put together from parts that each do one job: the projection (what the
 * bus knows), liveness (how current it is, the health report), command deadlines, and the SSE
 * feed. It follows the bus for them; the edges reach it only through the ports (reads.ts,
 * commands/command-service.ts, the feed as `Events`).
 */
export class ControlPlane {
  readonly projection = new Projection();
  readonly adapters = new AdapterRegistry();
  readonly liveness: Liveness;
  readonly feed: EventFeed;
  readonly store: CommandStore;
  readonly #deadlines: CommandDeadlines;
  /** Listeners for every applied event (the gRPC WatchEvents stream, metrics). */
  readonly #listeners = new Set<(e: BusEvent) => void>();
  #follower: { stop(): Promise<void> } | undefined;
  #timers: NodeJS.Timeout[] = [];
  #hbSub: { unsubscribe(): void } | undefined;

  constructor(
    readonly bus: Bus,
    readonly o: ControlPlaneOptions,
  ) {
    this.store = new CommandStore(bus, 'api', o.log);
    this.liveness = new Liveness(this.projection.state, this.adapters, {
      heartbeatMs: o.heartbeatMs,
      demo: o.demo,
      bus: { connected: () => bus.connected(), server: () => bus.nc.getServer() },
    });
    this.feed = new EventFeed(this.projection, this.liveness, { defaultCluster: () => this.defaultCluster() });
    this.#deadlines = new CommandDeadlines({
      store: this.store,
      commands: this.projection.commands,
      adapters: this.adapters,
      log: o.log,
      onRefreshed: (r) => this.feed.command(r),
    });
  }

  /** The last-known state of every resource (tests and examples wait on it). */
  get state() {
    return this.projection.state;
  }

  async start(): Promise<void> {
    const { log } = this.o;
    const seq = await this.projection.hydrate(this.bus, log);
    this.feed.hub.setSeq(seq);
    this.#follower = followEvents(this.bus, { afterSeq: seq, log }, (e) => this.#onEvent(e));
    this.#hbSub = this.bus.nc.subscribe(subjects.all.heartbeats, {
      callback: (err, msg) => {
        if (err) return;
        try {
          this.adapters.apply(decodeBus(msg, ['molten.v1.Heartbeat']).value as Heartbeat);
          this.feed.healthSoon();
        } catch (e) {
          log.warn({ subject: msg.subject, reason: (e as Error).message }, 'ignoring a malformed heartbeat');
        }
      },
    });
    this.#timers.push(setInterval(() => void this.#deadlines.sweep(), this.o.sweepEveryMs ?? 500));
    // Also without heartbeats (every adapter gone): ages on screen keep growing, stale turns on.
    this.#timers.push(setInterval(() => this.feed.health(), this.o.heartbeatMs));
    this.#timers.push(setInterval(() => this.feed.hub.ephemeral('ping', { at: new Date().toISOString() }, { stateless: true }), 15_000));
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#hbSub?.unsubscribe();
    await this.#follower?.stop();
    this.feed.close();
  }

  onEvent(listener: (e: BusEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The cluster a request means when it names none: the configured default, else the only one. */
  defaultCluster(): string {
    // Asked on every action: the configured cluster's own entry answers without listing every guest.
    const d = this.o.defaultCluster;
    if (this.projection.state.get('cluster', 'proxmox', d, d)) return d;
    const known = this.projection.state.clusters();
    if (known.includes(this.o.defaultCluster) || known.length !== 1) return this.o.defaultCluster;
    return known[0]!;
  }

  /** Stores and publishes a command (REST and gRPC alike submit through the Commands port, which calls this). */
  async submit(input: SubmitInput): Promise<{ record: CommandRecord; duplicate: boolean }> {
    const { commands } = this.projection;
    const result = await submitCommand(this.bus, this.store, input, { onStored: (r) => commands.put(r) });
    commands.put(result.record);
    return result;
  }

  /** A command record: the one this api follows, else the store's. */
  async command(id: string): Promise<CommandRecord | undefined> {
    const { commands } = this.projection;
    const known = commands.get(id);
    if (known) return known;
    const stored = await this.store.get(id);
    if (stored) commands.put(stored.record);
    return stored?.record;
  }

  #onEvent(e: BusEvent): void {
    const applied = this.projection.apply(e);
    this.feed.publish(e, applied);
    if (applied.kind === 'unknown-command') {
      // Submitted elsewhere (another api replica, an adapter): read it and show it.
      void this.store
        .get(applied.commandId)
        .then((s) => {
          if (!s) return;
          this.projection.commands.put(s.record);
          this.feed.command(s.record);
        })
        .catch((err: unknown) => this.o.log.warn({ commandId: applied.commandId.slice(0, 64), err }, 'could not read the record of a command seen on the bus'));
    }
    for (const l of this.#listeners) l(e);
  }
}
