import type { BusEvent } from '@molten/bus';
import type { Agent, AgentSession, ClusterStatus, Gateway, UpstreamServer } from '@molten/contracts';
import type * as Rest from '@molten/contracts/rest';
import type { Events, EventsClient } from '../ports.js';
import { EventHub, frame, frameParts, type EventHubOptions } from '../sse/event-hub.js';
import { JsonList } from '../sse/json-parts.js';
import { SnapshotShare } from '../sse/snapshot-share.js';
import { commandJson, guestAsOf, guestJson, nodeJson, storageJson } from '../state/json.js';
import type { StateChange } from '../state/state-view.js';
import type { Liveness } from './liveness.js';
import type { Applied, Projection } from './projection.js';

export interface EventFeedOptions {
  /** The cluster the dashboard opens on. */
  defaultCluster: () => string;
  hub?: EventHubOptions;
  /** The least time between two health events (default 250 ms). */
  healthSpacingMs?: number;
}

/**
 * The SSE shaping: each applied event as the JSON the dashboard reads, the snapshot a new
 * client starts from, and the live-only health events. Frames are serialised once and fanned
 * out by the hub.
 */
export class EventFeed implements Events {
  readonly hub: EventHub;
  /** Pending and recently decided approvals for the snapshot (set by main.ts when approvals run). */
  approvals: () => Rest.Approval[] = () => [];
  #healthTimer: NodeJS.Timeout | undefined;
  #lastHealthAt = 0;
  readonly #snapshots: SnapshotShare;

  constructor(
    private readonly projection: Projection,
    private readonly liveness: Liveness,
    private readonly o: EventFeedOptions,
  ) {
    this.hub = new EventHub(o.hub);
    this.#snapshots = new SnapshotShare(this.hub);
  }

  /** Publishes what an event changed (or only moves the sequence on, when nothing shows). */
  publish(e: BusEvent, a: Applied): void {
    switch (a.kind) {
      case 'state':
        if (!a.change) return this.hub.setSeq(e.seq);
        return this.hub.publish(e.seq, sseName(a.change.op === 'put' ? a.change.entry.address.kind : a.change.address.kind), this.#changeJson(a.change));
      case 'command':
        return this.hub.publish(e.seq, 'command', commandJson(a.record));
      case 'progress': {
        const p = a.progress;
        return this.hub.publish(e.seq, 'progress', { commandId: p.commandId, seq: p.seq, at: new Date(p.atMs).toISOString(), stream: p.stream, text: p.text } satisfies Rest.ProgressEvent);
      }
      default:
        return this.hub.setSeq(e.seq);
    }
  }

  /** A command record learnt outside the events stream (read back from the store): live only. */
  command(record: Parameters<typeof commandJson>[0]): void {
    this.hub.ephemeral('command', commandJson(record));
  }

  /** An approval changed (asked, approved, denied, expired): live; the snapshot carries the rest. */
  approval(a: Rest.Approval): void {
    this.hub.ephemeral('approval', a);
  }

  /** A health event now. */
  health(): void {
    clearTimeout(this.#healthTimer);
    this.#healthTimer = undefined;
    this.#lastHealthAt = Date.now();
    if (this.hub.clientCount > 0) this.hub.ephemeral('health', this.liveness.health(), { stateless: true });
  }

  /**
   * A health event soon: a heartbeat brought news (a poll's last good read, a status). Spaced
   * so a burst of heartbeats makes one event, and close enough that an age on screen follows
   * the poll rather than a timer.
   */
  healthSoon(): void {
    if (this.#healthTimer) return;
    const spacing = this.o.healthSpacingMs ?? 250;
    this.#healthTimer = setTimeout(() => this.health(), Math.max(20, spacing - (Date.now() - this.#lastHealthAt)));
  }

  /** Everything the dashboard shows, at one events-stream sequence (the SSE snapshot, without the caller's role). */
  snapshot(now = Date.now()): Omit<Rest.Snapshot, 'role'> {
    return this.#snapshot(now, (items, toJson) => items.map(toJson) as never);
  }

  /**
   * The snapshot with each cluster's guests as a JsonList (their JSON made and written in
   * chunks, see frameParts), or as the array; everything else as snapshot() has it.
   */
  #snapshot(now: number, list: <T>(items: readonly T[], toJson: (item: T) => unknown) => Rest.SnapshotCluster['guests']): Omit<Rest.Snapshot, 'role'> {
    const { state, commands } = this.projection;
    const clusters = state.clusters().map((id) => {
      const f = this.liveness.freshness('proxmox', id, now);
      return {
        id,
        status: (state.get('cluster', 'proxmox', id, id)?.value as ClusterStatus | undefined) ?? null,
        nodes: state.list('node', { domain: 'proxmox', scope: id }).map((e) => nodeJson(e.value, f)),
        guests: list(state.guests(id), (e) => guestJson(guestAsOf(e, f, now), f)),
        storage: state.list('storage', { domain: 'proxmox', scope: id }).map((e) => storageJson(e.value, f)),
      } satisfies Rest.SnapshotCluster;
    });
    return {
      seq: this.hub.lastSeq,
      at: new Date(now).toISOString(),
      defaultCluster: this.o.defaultCluster(),
      demo: this.liveness.demo,
      clusters,
      servers: state.list('server').map((e) => this.liveness.serverJson(e.value as UpstreamServer, true, now)),
      gateways: state.list('gateway').map((e) => ({ scope: e.address.scope, ...(e.value as Gateway) })),
      agents: state.list('agent').map((e) => ({ scope: e.address.scope, ...(e.value as Agent) })),
      sessions: state.list('session').map((e) => ({ scope: e.address.scope, ...(e.value as AgentSession) })),
      approvals: this.approvals(),
      commands: commands.recent({ limit: 100 }).map(commandJson),
    };
  }

  connect(client: EventsClient, o: { lastEventId?: number; role: string }): () => void {
    // Everything queued so far goes out first, so the opening frames are not followed by older ones.
    this.hub.flush();
    const missed = o.lastEventId !== undefined && Number.isFinite(o.lastEventId) ? this.hub.since(o.lastEventId) : undefined;
    client.write('retry: 2000\n\n');
    if (missed) client.write(frame('resume', { from: o.lastEventId!, events: missed.length } satisfies Rest.Resume) + missed.join(''));
    else {
      // In parts: at 15,000 guests the whole text and its guests' JSON objects were the api's peak.
      const lists = <T>(items: readonly T[], toJson: (item: T) => unknown) => new JsonList(items, toJson) as never;
      client.write(this.#snapshots.parts(o.role, () => frameParts('snapshot', { ...this.#snapshot(Date.now(), lists), role: o.role }, this.hub.lastSeq)));
    }
    client.write(frame('health', this.liveness.health()));
    return this.hub.add(client);
  }

  close(): void {
    clearTimeout(this.#healthTimer);
    this.hub.closeAll();
  }

  #changeJson(change: StateChange): Rest.Delta {
    if (change.op === 'del') {
      const a = change.address;
      // StateView.apply() lets only state kinds through.
      return { op: 'del', domain: a.domain, scope: a.scope, kind: a.kind as Rest.StateKind, id: a.id };
    }
    const { address: a } = change.entry;
    const now = Date.now();
    const f = this.liveness.freshness(a.domain, a.scope, now);
    let value: unknown;
    switch (a.kind) {
      case 'qemu':
      case 'lxc':
        value = guestJson(guestAsOf(change.entry as never, f, now), f);
        break;
      case 'node':
        value = nodeJson(change.entry.value as never, f);
        break;
      case 'storage':
        value = storageJson(change.entry.value as never, f);
        break;
      case 'server':
        value = this.liveness.serverJson(change.entry.value as UpstreamServer, true, now);
        break;
      default:
        value = change.entry.value;
    }
    return { op: 'put', domain: a.domain, scope: a.scope, kind: a.kind, id: a.id, value };
  }
}

function sseName(kind: string): string {
  return kind === 'qemu' || kind === 'lxc' ? 'guest' : kind;
}
