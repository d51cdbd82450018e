import type { UpstreamHealth, UpstreamServer } from '@molten/contracts';
import type { BusSettings, Logger } from '@molten/kit';
import { CommandWorker, type CommandHandler } from './command-worker.js';
import { connectBus, type Bus } from './connect.js';
import { startHeartbeat } from './heartbeat.js';
import { Lease } from './lease.js';
import { StatePublisher } from './state.js';

/** What a replica does for one scope of its domain: a cluster, an MCP server, a gateway. */
export interface AdapterScope {
  scope: string;
  /** What the scope's lease is for ("poll", "publish"): only its holder publishes the scope's state. */
  lease: string;
  /** Runs the scope's commands (`molten.cmd.<domain>.<scope>.>`); every replica takes a share. */
  handler?: CommandHandler;
  /**
   * This replica's view of the scope's upstreams, for every heartbeat: one per server the scope
   * publishes (the api reads a server no live heartbeat lists as not reported).
   */
  health(leader: boolean): UpstreamHealth | UpstreamHealth[];
  /**
   * The scope's upstream servers (kind `server`, what /api/servers lists), published by the
   * lease holder when it takes the lease, on every `changed()` and every `descriptorRefreshMs`.
   * A server that drops out of the list is removed. `last(id)` is the server's last published
   * record (this replica's, or its predecessor's from the snapshot), for what a replica that has
   * not read its upstream yet should keep showing.
   */
  descriptors?(last: (id: string) => UpstreamServer | undefined): UpstreamServer[];
  /** Republish the descriptors this often even when nothing changed (default: only on a change). */
  descriptorRefreshMs?: number;
  /**
   * Called with true when this replica takes the lease (start the leader's work: polling), and
   * with false when it no longer holds it, lost or released at stop (stop that work). The calls
   * of a scope never overlap.
   */
  onLeader?(leader: boolean): void | Promise<void>;
}

/** What an adapter's setup gets: the connected bus and the scope-level services of the runtime. */
export interface AdapterContext {
  bus: Bus;
  instance: string;
  log: Logger;
  /** The scope's state publisher (one per scope; reset on every lease change). */
  publisher(scope: string): StatePublisher;
  /**
   * A scope's upstream health or descriptors changed: the heartbeat goes out at once, and the
   * lease holder republishes the descriptors.
   */
  changed(scope: string): void;
  /** Sends the heartbeat now (after a good read, so the api's last-read time follows the poll). */
  beat(): void;
  /** Whether this replica holds the scope's lease. */
  leader(scope: string): boolean;
}

export interface AdapterParts {
  scopes: AdapterScope[];
  /** Closes what the adapter opened upstream: after commands, leases and heartbeats stopped, before the bus drains. */
  close?(): Promise<unknown> | void;
  /** What the "running" log line says about the adapter (its upstream, its settings). */
  about?: Record<string, unknown>;
}

export interface AdapterOptions {
  /** The service's name: its NATS connection is "<service>-<instance>". */
  service: string;
  domain: string;
  version: string;
  settings: BusSettings;
  log: Logger;
  /** Builds the adapter on the connected bus and says what it serves. */
  setup(ctx: AdapterContext): AdapterParts | Promise<AdapterParts>;
  /** How soon an uncertain command is looked at again (default 5 s; tests turn it down). */
  reconcileEveryMs?: number;
}

export interface AdapterRuntime extends AdapterContext {
  /** The scope's command worker (undefined for a scope without a handler). */
  worker(scope: string): CommandWorker | undefined;
  /**
   * Stops in order, once: commands in flight get COMMAND_STOP_MS and the rest go back to another
   * replica; then the leader's work ends and the leases are released; then heartbeats, the
   * adapter's close(), and the bus drains.
   */
  stop(): Promise<void>;
}

/** How long commands in flight may still finish at stop before they are handed to another replica. */
export const COMMAND_STOP_MS = 8_000;
/**
 * A whole stop's bound: commands get 8 s (+2 s to hand the rest back), then leases, heartbeats
 * and the drain. More than onShutdown's default 10 s a step, within the 30 s deploy/ allows.
 */
export const ADAPTER_STOP_MS = 25_000;

interface ScopeRun {
  spec: AdapterScope;
  publisher: StatePublisher;
  lease: Lease;
  worker: CommandWorker | undefined;
  leader: boolean;
  /** The onLeader calls, one after another. */
  transitions: Promise<void>;
  publishing: Promise<void> | undefined;
  publishAgain: boolean;
  refresh: NodeJS.Timeout | undefined;
}

/**
 * Runs one adapter replica: connects with the shared bus settings, then for every scope the
 * adapter's setup returns holds a lease (the holder publishes), takes commands from the scope's
 * shared consumer, and reports the upstream's health in one heartbeat; the lease holder
 * republishes the descriptors when their health changes and when it takes the lease.
 */
export async function runAdapter(o: AdapterOptions): Promise<AdapterRuntime> {
  const bus = await connectBus({
    servers: o.settings.natsUrl,
    name: `${o.service}-${o.settings.instance}`,
    log: o.log,
    provision: { leaseTtlMs: o.settings.leaseTtlMs, replicas: o.settings.streamReplicas ?? 1 },
  });
  const runtime = new Runtime(bus, o);
  try {
    await runtime.start();
  } catch (err) {
    await runtime.stop();
    throw err;
  }
  return runtime;
}

class Runtime implements AdapterRuntime {
  readonly instance: string;
  readonly log: Logger;
  readonly #o: AdapterOptions;
  readonly #publishers = new Map<string, StatePublisher>();
  readonly #scopes = new Map<string, ScopeRun>();
  #heartbeat: ReturnType<typeof startHeartbeat> | undefined;
  #close: AdapterParts['close'];
  #stopping = false;
  #stopped: Promise<void> | undefined;

  constructor(
    readonly bus: Bus,
    o: AdapterOptions,
  ) {
    this.#o = o;
    this.instance = o.settings.instance;
    this.log = o.log;
  }

  publisher(scope: string): StatePublisher {
    let p = this.#publishers.get(scope);
    if (!p) this.#publishers.set(scope, (p = new StatePublisher(this.bus, this.#o.domain, scope)));
    return p;
  }

  changed(scope: string): void {
    this.#heartbeat?.beat();
    const s = this.#scopes.get(scope);
    if (s) this.#publishDescriptors(s);
  }

  beat(): void {
    this.#heartbeat?.beat();
  }

  leader(scope: string): boolean {
    return this.#scopes.get(scope)?.leader ?? false;
  }

  worker(scope: string): CommandWorker | undefined {
    return this.#scopes.get(scope)?.worker;
  }

  async start(): Promise<void> {
    const { domain, settings, log } = this.#o;
    const parts = await this.#o.setup(this);
    this.#close = parts.close;
    for (const spec of parts.scopes) {
      const s: ScopeRun = {
        spec,
        publisher: this.publisher(spec.scope),
        worker: undefined,
        leader: false,
        transitions: Promise.resolve(),
        publishing: undefined,
        publishAgain: false,
        refresh: undefined,
        lease: new Lease(this.bus.kv.leases, {
          domain,
          scope: spec.scope,
          what: spec.lease,
          holder: settings.instance,
          ttlMs: settings.leaseTtlMs,
          log,
          onChange: (leader) => this.#leaderChanged(s, leader),
        }),
      };
      if (spec.handler) {
        s.worker = new CommandWorker(this.bus, {
          domain,
          scope: spec.scope,
          instance: settings.instance,
          handler: spec.handler,
          log: log.child({ scope: spec.scope }),
          concurrency: settings.commandConcurrency,
          ackWaitMs: settings.commandAckWaitMs,
          ...(this.#o.reconcileEveryMs ? { reconcileEveryMs: this.#o.reconcileEveryMs } : {}),
        });
      }
      this.#scopes.set(spec.scope, s);
    }
    const scopes = [...this.#scopes.values()];
    this.#heartbeat = startHeartbeat(this.bus, {
      domain,
      instance: settings.instance,
      version: this.#o.version,
      intervalMs: settings.heartbeatMs,
      upstreams: () => scopes.flatMap((s) => s.spec.health(s.leader)),
    });
    for (const s of scopes) {
      s.lease.start();
      if (s.spec.descriptorRefreshMs) s.refresh = setInterval(() => this.#publishDescriptors(s), s.spec.descriptorRefreshMs);
    }
    for (const s of scopes) await s.worker?.start();
    log.info({ ...parts.about, instance: settings.instance, scopes: scopes.map((s) => s.spec.scope) }, `${this.#o.service} running`);
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    const scopes = [...this.#scopes.values()];
    const step = async (name: string, run: () => unknown) => {
      try {
        await run();
      } catch (err) {
        this.log.warn({ step: name, err }, 'stop step failed');
      }
    };
    await step('commands', () => Promise.all(scopes.map((s) => s.worker?.stop(COMMAND_STOP_MS))));
    // The leader's work ends before its lease goes, so nothing is published by a replica that
    // no longer holds it; then the lease is deleted and another replica takes over at once.
    await step('leases', () =>
      Promise.all(
        scopes.map(async (s) => {
          clearInterval(s.refresh);
          if (s.leader) this.#transition(s, false);
          await s.transitions;
          await s.publishing;
          await s.lease.stop();
        }),
      ),
    );
    this.#heartbeat?.stop();
    await step('upstream', () => this.#close?.());
    await step('bus', () => this.bus.close());
  }

  #leaderChanged(s: ScopeRun, leader: boolean): void {
    // At stop the runtime ends the leader's work itself: releasing the lease is no hand-over.
    if (this.#stopping) return;
    this.#transition(s, leader);
    this.#heartbeat?.beat();
    if (leader) this.#publishDescriptors(s);
  }

  #transition(s: ScopeRun, leader: boolean): void {
    s.leader = leader;
    // What this replica published before may have been overwritten by another since.
    s.publisher.reset();
    s.transitions = s.transitions.then(async () => {
      try {
        await s.spec.onLeader?.(leader);
      } catch (err) {
        this.log.error({ err, scope: s.spec.scope, leader }, leader ? 'the leader work did not start' : 'the leader work did not stop cleanly');
      }
    });
  }

  /** Publishes the scope's descriptors if this replica holds the lease; one publish at a time, a change during one published right after. */
  #publishDescriptors(s: ScopeRun): void {
    if (!s.spec.descriptors || !s.leader || this.#stopping) return;
    if (s.publishing) {
      s.publishAgain = true;
      return;
    }
    s.publishing = (async () => {
      do {
        s.publishAgain = false;
        try {
          await s.publisher.sync('server', () => s.spec.descriptors!((id) => s.publisher.get('server', id)), { id: (d) => d.id });
        } catch (err) {
          this.log.warn({ err, scope: s.spec.scope }, 'server state not published; the next change or refresh publishes it');
        }
      } while (s.publishAgain && s.leader && !this.#stopping);
    })().finally(() => {
      s.publishing = undefined;
    });
  }
}
