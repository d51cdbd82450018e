import type { Agent, AgentSession, ClusterStatus, CommandRecord, Gateway, Guest, Node, Storage, UpstreamServer } from '@molten/contracts';
import { notFound } from './errors.js';
import type { Liveness } from './plane/liveness.js';
import type { Projection } from './plane/projection.js';
import type * as Rest from '@molten/contracts/rest';
import type { CommandQuery, GuestFilter, Reads, Scoped } from './ports.js';
import { agentJson, gatewayJson, guestAsOf, iso, sessionJson } from './state/json.js';

export interface ReadsDeps {
  projection: Projection;
  liveness: Liveness;
  /** The cluster a request means when it names none. */
  defaultCluster(): string;
  /** A command this api has not seen, from the store. */
  command(id: string): Promise<CommandRecord | undefined>;
}


/**
 * The Proxmox cluster a request means: the one it names (which must be known: a 404 lists the
 * known ones), else the default. Reads and Commands share it, so REST and gRPC answer
 * "unknown cluster" the same way.
 */
export function clusterResolver(d: Pick<ReadsDeps, 'projection' | 'liveness' | 'defaultCluster'>) {
  return (requested: string | undefined): string => {
    if (!requested) return d.defaultCluster();
    const known = d.projection.state.clusters();
    if (!known.includes(requested) && !d.liveness.adapters.scope('proxmox', requested)) {
      throw notFound(`no cluster "${requested}" is known; known clusters: ${known.join(', ') || 'none yet'}`);
    }
    return requested;
  };
}

/** The Reads port over the projection and its liveness: written once for REST and gRPC. */
export function createReads(d: ReadsDeps): Reads {
  const { state } = d.projection;
  const { liveness } = d;

  const resolve = clusterResolver(d);
  const scoped = <T>(cluster: string, data: (now: number, f: { lastSeenMs: number; stale: boolean }) => T): Scoped<T> => {
    const now = Date.now();
    const f = liveness.freshness('proxmox', cluster, now);
    return { cluster, lastSeenMs: f.lastSeenMs, stale: f.stale, demo: liveness.demo, data: data(now, f) };
  };
  const findServer = (id: string): UpstreamServer => {
    const e = state.list('server').find((s) => (s.value as UpstreamServer).id === id);
    if (!e) throw notFound(`no server "${id}"; GET /api/servers lists them`);
    return e.value as UpstreamServer;
  };

  return {
    nodes(requested) {
      const cluster = resolve(requested);
      return scoped(cluster, () =>
        state
          .list('node', { domain: 'proxmox', scope: cluster })
          .map((e) => e.value as Node)
          .sort((a, b) => a.node.localeCompare(b.node)),
      );
    },

    guests(requested, q: GuestFilter = {}) {
      const cluster = resolve(requested);
      return scoped(cluster, (now, f) =>
        state
          .guests(cluster)
          .filter((e) => {
            const g = e.value as Guest;
            return (!q.node || g.node === q.node) && (!q.type || g.type === q.type) && (!q.status || g.status === q.status || g.qmpstatus === q.status) && (!q.tag || g.tags.includes(q.tag));
          })
          .map((e) => guestAsOf(e, f, now))
          .sort((a, b) => a.vmid - b.vmid),
      );
    },

    guest(vmid, requested) {
      const cluster = resolve(requested);
      const e = state.guest(cluster, vmid);
      if (!e) throw notFound(`guest ${vmid} is not in cluster "${cluster}"`);
      return scoped(cluster, (now, f) => guestAsOf(e, f, now));
    },

    storage(requested, node) {
      const cluster = resolve(requested);
      return scoped(cluster, () =>
        state
          .list('storage', { domain: 'proxmox', scope: cluster })
          .map((e) => e.value as Storage)
          .filter((s) => !node || s.node === node)
          .sort((a, b) => a.id.localeCompare(b.id)),
      );
    },

    clusterStatus(requested): Rest.ClusterSummary {
      const cluster = resolve(requested);
      const status = state.get('cluster', 'proxmox', cluster, cluster)?.value as ClusterStatus | undefined;
      const guests = state.guests(cluster).map((e) => e.value as Guest);
      const nodes = state.list('node', { domain: 'proxmox', scope: cluster }).map((e) => e.value as Node);
      const f = liveness.freshness('proxmox', cluster);
      const health = liveness.health().clusters.find((h) => h.id === cluster);
      if (!status && guests.length === 0 && nodes.length === 0 && !health) throw notFound(`no data for cluster "${cluster}" yet: is the proxmox-adapter running?`);
      return {
        cluster,
        name: status?.name ?? cluster,
        standalone: status?.standalone ?? false,
        quorate: status?.quorate ?? false,
        version: status?.version ?? 0,
        upstreamVersion: status?.upstreamVersion ?? '',
        demo: status?.demo ?? liveness.demo,
        nodes: status?.nodes ?? [],
        counts: {
          nodes: nodes.length,
          nodesOnline: nodes.filter((n) => n.status === 'online').length,
          guests: guests.length,
          running: guests.filter((g) => g.status === 'running').length,
          stopped: guests.filter((g) => g.status === 'stopped').length,
          paused: guests.filter((g) => g.qmpstatus === 'paused').length,
          locked: guests.filter((g) => g.lock).length,
        },
        upstream: health?.upstream ?? null,
        lastSeen: iso(f.lastSeenMs),
        stale: f.stale,
      };
    },

    servers({ tools = true } = {}) {
      const now = Date.now();
      return state
        .list('server')
        .map((e) => liveness.serverJson(e.value as UpstreamServer, tools, now))
        .sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
    },

    server(id) {
      return liveness.serverJson(findServer(id));
    },

    agents(): Rest.AgentsAnswer {
      const gateways = state.list('gateway', { domain: 'moltbot' }).map((e) => {
        const scope = e.address.scope;
        const descriptor = state.list('server', { domain: 'moltbot', scope })[0]?.value as UpstreamServer | undefined;
        const server = descriptor ? liveness.serverJson(descriptor, false) : undefined;
        // The live connection state comes with the server's health; the gateway record may lag.
        const connection = server ? connectionOf(server.status) : liveness.adapters.hasAdapter('moltbot', scope) ? undefined : 'down';
        return gatewayJson(e.value as Gateway, scope, liveness.freshness('moltbot', scope), { connection, reason: server?.statusReason });
      });
      const agents = state.list('agent', { domain: 'moltbot' }).map((e) => agentJson(e.value as Agent, e.address.scope));
      const sessions = state
        .list('session', { domain: 'moltbot' })
        .map((e) => sessionJson(e.value as AgentSession, e.address.scope))
        .sort((a, b) => (b.updatedAt ?? '').localeCompare(a.updatedAt ?? ''));
      return { gateways, agents, sessions };
    },

    commands(q: CommandQuery = {}) {
      return d.projection.commands.recent(q);
    },

    async command(id) {
      const record = await d.command(id);
      return record ? { record, progress: d.projection.commands.progress(id) } : undefined;
    },

    health() {
      return liveness.health();
    },
  };
}

function connectionOf(status: string): string {
  return status === 'degraded' ? 'connected' : status;
}
