import {
  CommandNotPublishedError,
  CommandStore,
  decodeBus,
  followEvents,
  lastEventSeq,
  readSnapshot,
  submitCommand,
  type Bus,
  type BusEvent,
  type SubmitInput,
} from '@molten/bus';
import {
  BUCKETS,
  CommandRecord,
  CommandStatus,
  KIND_TYPES,
  ServerStatus,
  decodeMessage,
  isStateKind,
  parseStateSubject,
  serverStatusName,
  subjects,
  type CommandProgress,
  type CommandTransition,
  type Heartbeat,
  type UpstreamServer,
} from '@molten/contracts';
import type { Logger } from '@molten/kit';
import { AdapterRegistry } from './state/adapters.js';
import { CommandsView } from './commands-view.js';
import { EventHub } from './sse/event-hub.js';
import { adapterName, commandJson, guestJson, nodeJson, serverJson, storageJson, type Freshness } from './state/json.js';
import { StateView, type StateChange } from './state/state-view.js';

export interface ControlPlaneOptions {
  log: Logger;
  defaultCluster: string;
  heartbeatMs: number;
  acceptTimeoutMs: number;
  timeoutMs: number;
  demo: boolean;
  /** How often open commands are checked against their deadlines (default 500 ms). */
  sweepEveryMs?: number;
}

/**
 * The api's runtime: the state it follows on the bus, the adapters' heartbeats, recent commands,
 * and the SSE hub; and the one place commands are submitted from (REST and gRPC alike).
 */
export class ControlPlane {
  readonly state = new StateView();
  readonly adapters = new AdapterRegistry();
  readonly commands = new CommandsView();
  readonly hub = new EventHub();
  readonly store: CommandStore;
  readonly startedAtMs = Date.now();
  /** Listeners for every applied event (the gRPC WatchEvents stream). */
  readonly #listeners = new Set<(e: BusEvent) => void>();
  #follower: { stop(): Promise<void> } | undefined;
  #timers: NodeJS.Timeout[] = [];
  #hbSub: { unsubscribe(): void } | undefined;
  /** When each open command's record was last re-read by the sweep. */
  readonly #rechecked = new Map<string, number>();

  constructor(
    readonly bus: Bus,
    readonly o: ControlPlaneOptions,
  ) {
    this.store = new CommandStore(bus, 'api');
  }

  async start(): Promise<void> {
    const { log } = this.o;
    const seq = await lastEventSeq(this.bus);
    const [state, commands] = await Promise.all([readSnapshot(this.bus.js, BUCKETS.state), readSnapshot(this.bus.js, BUCKETS.commands, 'cmd.>')]);
    for (const e of state) {
      const address = parseStateSubject(e.key);
      if (!address || !isStateKind(address.kind)) continue;
      try {
        const value = decodeMessage(KIND_TYPES[address.kind], e.value);
        this.state.apply(address, value, false, e.created.getTime());
        if (address.kind === 'server') {
          const s = value as UpstreamServer;
          this.adapters.seedLastOk(s.id, s.lastSeenMs);
        }
      } catch (err) {
        log.warn({ key: e.key, err }, 'skipping an unreadable state entry');
      }
    }
    const records = commands
      .map((e) => {
        try {
          return CommandRecord.decode(e.value);
        } catch {
          return undefined;
        }
      })
      .filter((r): r is CommandRecord => !!r?.command)
      .sort((a, b) => (a.command!.id < b.command!.id ? -1 : 1))
      .slice(-2_000);
    for (const r of records) this.commands.put(r);
    this.hub.setSeq(seq);
    log.info({ resources: this.state.count(), commands: records.length, seq }, 'state hydrated from the snapshot');

    this.#follower = followEvents(this.bus, { afterSeq: seq, log }, (e) => this.#onEvent(e));
    const sub = this.bus.nc.subscribe(subjects.all.heartbeats, {
      callback: (err, msg) => {
        if (err) return;
        try {
          this.adapters.apply(decodeBus(msg, ['molten.v1.Heartbeat']).value as Heartbeat);
        } catch (e) {
          log.warn({ subject: msg.subject, reason: (e as Error).message }, 'ignoring a malformed heartbeat');
        }
      },
    });
    this.#hbSub = sub;
    this.#timers.push(setInterval(() => void this.#sweep(), this.o.sweepEveryMs ?? 500));
    this.#timers.push(setInterval(() => this.hub.ephemeral('health', this.health()), this.o.heartbeatMs));
    this.#timers.push(setInterval(() => this.hub.ephemeral('ping', { at: new Date().toISOString() }), 15_000));
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#hbSub?.unsubscribe();
    await this.#follower?.stop();
    this.hub.closeAll();
  }

  onEvent(listener: (e: BusEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The cluster a request means: ?cluster=, else the configured default, else the only one. */
  cluster(requested?: string): string {
    if (requested) return requested;
    const known = this.state.clusters();
    if (known.includes(this.o.defaultCluster) || known.length !== 1) return this.o.defaultCluster;
    return known[0]!;
  }

  knowsCluster(cluster: string): boolean {
    return this.state.clusters().includes(cluster) || this.adapters.scope('proxmox', cluster) !== undefined;
  }

  freshness(domain: string, scope: string, now = Date.now()): Freshness {
    const h = this.adapters.scope(domain, scope, now);
    const server = this.scopeServer(domain, scope, h?.serverId);
    const lastSeenMs = Math.max(h?.lastOkMs ?? 0, server?.lastSeenMs ?? 0);
    // An adapter that knows its upstream is gone says so at once: no need to wait for the age.
    const knownLost = h !== undefined && h.replicas.length > 0 && LOST.has(h.status);
    const stale = lastSeenMs === 0 || knownLost || now - lastSeenMs > this.adapters.staleAfterMs(h, this.o.heartbeatMs);
    return { lastSeenMs, stale };
  }

  /** Why a cluster cannot take commands right now (undefined when it can, as far as we know). */
  unavailable(domain: string, scope: string): { message: string; remedy: string } | undefined {
    const h = this.adapters.scope(domain, scope);
    if (!h || h.replicas.length === 0) return undefined; // no adapter: the command times out, naming it
    if (h.status === ServerStatus.SERVER_STATUS_DOWN || h.status === ServerStatus.SERVER_STATUS_AUTH_FAILED) {
      const server = this.scopeServer(domain, scope, h.serverId);
      return {
        message: `${server?.name ?? `${domain} upstream "${scope}"`} is ${serverStatusName(h.status).replace('_', ' ')}: ${server?.statusReason ?? 'no details'}`,
        remedy: server?.remedy ?? '',
      };
    }
    return undefined;
  }

  /**
   * The upstream a scope's data comes from: the server its adapter's heartbeat names (a cluster
   * can also list ProxmoxMCP-Plus beside the Proxmox API), else the scope's only server.
   */
  scopeServer(domain: string, scope: string, serverId?: string): UpstreamServer | undefined {
    const servers = this.state.list('server', { domain, scope }).map((e) => e.value as UpstreamServer);
    return servers.find((s) => s.id === serverId) ?? servers.find((s) => s.kind !== 'proxmox-mcp') ?? servers[0];
  }

  async submit(input: SubmitInput): Promise<{ record: CommandRecord; duplicate: boolean }> {
    const result = await submitCommand(this.bus, this.store, input, { onStored: (r) => this.commands.put(r) });
    this.commands.put(result.record);
    return result;
  }

  async command(id: string): Promise<CommandRecord | undefined> {
    const known = this.commands.get(id);
    if (known) return known;
    const stored = await this.store.get(id);
    if (stored) this.commands.put(stored.record);
    return stored?.record;
  }

  health(now = Date.now()) {
    const clusters = this.state.clusters().map((id) => {
      const f = this.freshness('proxmox', id, now);
      const h = this.adapters.scope('proxmox', id, now);
      const server = this.scopeServer('proxmox', id, h?.serverId);
      return {
        id,
        stale: f.stale,
        lastSeen: f.lastSeenMs ? new Date(f.lastSeenMs).toISOString() : null,
        ageSeconds: f.lastSeenMs ? Math.round((now - f.lastSeenMs) / 100) / 10 : null,
        pollMs: h?.pollMs ?? null,
        adapter: h?.replicas.length ? 'running' : 'missing',
        replicas: h?.replicas.length ?? 0,
        upstream: server
          ? {
              status: h?.replicas.length ? serverStatusName(h.status || server.status) : 'down',
              reason: h?.replicas.length ? server.statusReason : `no ${adapterName('proxmox')} is running`,
              ...(server.remedy ? { remedy: server.remedy } : {}),
            }
          : null,
      };
    });
    const adapters = this.adapters.all(now).map((a) => ({
      domain: a.hb.domain,
      instance: a.hb.instance,
      version: a.hb.version,
      alive: a.alive,
      lastHeartbeat: new Date(a.receivedAtMs).toISOString(),
      upstreams: a.hb.upstreams.map((u) => ({ serverId: u.serverId, scope: u.scope, status: serverStatusName(u.status), leader: u.leader })),
    }));
    const problems = clusters.filter((c) => c.stale || c.upstream?.status !== 'connected');
    return {
      status: this.bus.connected() ? (problems.length ? 'degraded' : 'ok') : 'down',
      demo: this.o.demo,
      uptimeSeconds: Math.round((now - this.startedAtMs) / 1000),
      bus: { connected: this.bus.connected(), server: this.bus.nc.getServer() },
      clusters,
      adapters,
      servers: this.state.list('server').map((e) => {
        const s = e.value as UpstreamServer;
        const alive = this.adapters.hasAdapter(s.domain, s.scope, now);
        return { id: s.id, kind: s.kind, status: alive ? serverStatusName(s.status) : 'down', ...(s.remedy && alive ? { remedy: s.remedy } : {}) };
      }),
    };
  }

  serverJson(s: UpstreamServer, includeTools = true) {
    const f = this.freshness(s.domain, s.scope);
    return serverJson(s, { lastSeenMs: Math.max(f.lastSeenMs, s.lastSeenMs), stale: f.stale, adapterAlive: this.adapters.hasAdapter(s.domain, s.scope), includeTools });
  }

  #onEvent(e: BusEvent): void {
    if (e.address) {
      const change = this.state.apply(e.address, e.value, e.removed, Date.now());
      if (change) this.hub.publish(e.seq, change.op === 'put' ? sseName(change.entry.address.kind) : sseName(e.address.kind), this.#changeJson(change));
      else this.hub.setSeq(e.seq);
    } else if (e.type === 'molten.v1.CommandTransition') {
      const t = e.value as CommandTransition;
      const record = this.commands.apply(t);
      if (record) this.hub.publish(e.seq, 'command', commandJson(record));
      else {
        this.hub.setSeq(e.seq);
        // Submitted elsewhere (another api replica, an adapter): read it and show it.
        void this.store.get(t.commandId).then((s) => {
          if (!s) return;
          this.commands.put(s.record);
          this.hub.ephemeral('command', commandJson(s.record));
        });
      }
    } else if (e.type === 'molten.v1.CommandProgress') {
      const p = e.value as CommandProgress;
      this.commands.addProgress(p);
      this.hub.publish(e.seq, 'progress', { commandId: p.commandId, seq: p.seq, at: new Date(p.atMs).toISOString(), stream: p.stream, text: p.text });
    } else {
      this.hub.setSeq(e.seq);
    }
    for (const l of this.#listeners) l(e);
  }

  #changeJson(change: StateChange) {
    if (change.op === 'del') {
      const a = change.address;
      return { op: 'del', domain: a.domain, scope: a.scope, kind: a.kind, id: a.id };
    }
    const { address: a } = change.entry;
    const f = this.freshness(a.domain, a.scope);
    let value: unknown;
    switch (a.kind) {
      case 'qemu':
      case 'lxc':
        value = guestJson(change.entry as never, f);
        break;
      case 'node':
        value = nodeJson(change.entry as never, f);
        break;
      case 'storage':
        value = storageJson(change.entry as never, f);
        break;
      case 'server':
        value = this.serverJson(change.entry.value as UpstreamServer);
        break;
      default:
        value = change.entry.value;
    }
    return { op: 'put', domain: a.domain, scope: a.scope, kind: a.kind, id: a.id, value };
  }

  async #sweep(now = Date.now()): Promise<void> {
    for (const r of this.commands.open()) {
      const c = r.command!;
      try {
        if (r.status === CommandStatus.COMMAND_STATUS_REQUESTED && now > c.acceptByMs) {
          const adapter = adapterName(c.domain);
          const waited = Math.round((c.acceptByMs - c.createdAtMs) / 1000);
          const updated = await this.store.transition(c.id, CommandStatus.COMMAND_STATUS_TIMED_OUT, {
            message: `no ${adapter} took the command for "${c.scope}" within ${waited} s`,
            error: {
              code: 'no_adapter',
              message: `no ${adapter} is serving ${c.domain} "${c.scope}"`,
              upstreamStatus: '',
              remedy: `Start services/${adapter} for "${c.scope}" (npm start runs every adapter) and check that it is connected to the same NATS server as the api.`,
              privilege: '',
              fields: {},
            },
          });
          if (!updated) await this.#refresh(c.id);
        } else if (now - r.updatedAtMs > RECHECK_AFTER_MS && now - (this.#rechecked.get(c.id) ?? 0) > RECHECK_AFTER_MS) {
          // Transition events are plain publishes: one lost in a NATS outage must not leave a
          // command looking stuck. Re-read a quiet open command's record now and then.
          this.#rechecked.set(c.id, now);
          const stored = await this.store.get(c.id);
          if (stored && stored.record.transitions.length > r.transitions.length) {
            this.commands.put(stored.record);
            this.hub.ephemeral('command', commandJson(stored.record));
          }
        }
        if (r.status !== CommandStatus.COMMAND_STATUS_REQUESTED && now > c.deadlineMs + 60_000 && !this.adapters.hasAdapter(c.domain, undefined, now)) {
          await this.store.transition(c.id, CommandStatus.COMMAND_STATUS_TIMED_OUT, {
            message: `the ${adapterName(c.domain)} that ran the command is gone and the deadline has passed`,
            error: { code: 'deadline', message: 'no adapter finished the command before its deadline', upstreamStatus: '', remedy: '', privilege: '', fields: {} },
          });
        }
      } catch (err) {
        this.o.log.warn({ err, commandId: c.id }, 'deadline sweep failed');
      }
    }
  }

  async #refresh(id: string): Promise<void> {
    const s = await this.store.get(id);
    if (s) this.commands.put(s.record);
  }
}

/** An open command with no news for this long gets its record re-read. */
const RECHECK_AFTER_MS = 5_000;

const LOST = new Set<ServerStatus>([ServerStatus.SERVER_STATUS_DOWN, ServerStatus.SERVER_STATUS_AUTH_FAILED, ServerStatus.SERVER_STATUS_CONNECTING]);

function sseName(kind: string): string {
  return kind === 'qemu' || kind === 'lxc' ? 'guest' : kind;
}

export { commandJson };
