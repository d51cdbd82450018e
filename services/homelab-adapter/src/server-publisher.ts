import { Lease, StatePublisher, type Bus } from '@molten/bus';
import type { Logger } from '@molten/kit';
import type { McpConnection } from '@molten/mcp-client';
import { DOMAIN, describeServer, type ServerIdentity } from './server-descriptor.js';

export interface ServerPublisherOptions {
  bus: Bus;
  conn: McpConnection;
  who: ServerIdentity;
  log: Logger;
  leaseTtlMs: number;
  /** Republish this often even when nothing changed (latency, last seen). */
  refreshMs: number;
  /** Called when this replica becomes or stops being the publisher. */
  onLeaderChange?: (leader: boolean) => void;
}

/**
 * Publishes one server's state (kind "server") from one replica at a time: the holder of the
 * server's lease. Every replica keeps its own connection (for tool calls and its heartbeat), but
 * only the leader's view goes to the state bucket, so replicas do not overwrite each other.
 * Changes are published at once; publishes never overlap, and a change during one is published
 * right after it.
 */
export class ServerPublisher {
  readonly #o: ServerPublisherOptions;
  readonly #publisher: StatePublisher;
  readonly #lease: Lease;
  #unsubscribe: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #publishing: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(o: ServerPublisherOptions) {
    this.#o = o;
    this.#publisher = new StatePublisher(o.bus, DOMAIN, o.who.name);
    this.#lease = new Lease(o.bus.kv.leases, {
      domain: DOMAIN,
      scope: o.who.name,
      what: 'publish',
      holder: o.who.reporter,
      ttlMs: o.leaseTtlMs,
      log: o.log,
      onChange: (leader) => {
        if (!this.#stopped) o.log.info({ server: o.who.name, leader }, leader ? 'publishing this server' : 'another replica publishes this server');
        if (leader) this.publishNow();
        o.onLeaderChange?.(leader);
      },
    });
  }

  get leader(): boolean {
    return this.#lease.leader;
  }

  start(): void {
    const changed = () => this.publishNow();
    this.#unsubscribe = [this.#o.conn.on('status', changed), this.#o.conn.on('tools', changed)];
    this.#timer = setInterval(changed, this.#o.refreshMs);
    this.#lease.start();
  }

  /** Publishes the current state if this replica is the leader (coalescing with one in flight). */
  publishNow(): void {
    if (this.#stopped || !this.#lease.leader) return;
    if (this.#publishing) {
      this.#again = true;
      return;
    }
    this.#publishing = (async () => {
      do {
        this.#again = false;
        try {
          await this.#publisher.put('server', this.#o.who.id, describeServer(this.#o.conn, this.#o.who));
        } catch (err) {
          // The next change or refresh publishes again.
          this.#o.log.warn({ err, server: this.#o.who.name }, 'server state not published');
        }
      } while (this.#again && !this.#stopped && this.#lease.leader);
    })().finally(() => {
      this.#publishing = undefined;
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const u of this.#unsubscribe) u();
    clearInterval(this.#timer);
    await this.#publishing;
    await this.#lease.stop();
  }
}
