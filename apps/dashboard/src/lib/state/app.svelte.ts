import type { GuestActionName } from '$lib/infra/action-rules';
import { createContext, untrack } from 'svelte';
import { createApi, type Api } from '$lib/api/client';
import type { Command, Session } from '$lib/api/types';
import { Agents } from './agents.svelte';
import { Approvals } from './approvals.svelte';
import { Clock } from './clock.svelte';
import { Commands } from './commands.svelte';
import { EventStream, type StreamSink } from './event-stream.svelte';
import { GuestActions } from './guest-actions.svelte';
import { HealthState } from './health.svelte';
import { Infrastructure } from './infrastructure.svelte';
import type { Scheduler } from './scheduler';
import { Servers } from './servers.svelte';
import { readSession } from './session';
import { Toasts } from './toasts.svelte';

export interface AppOptions {
  session: Session;
  api?: Api;
  schedule?: Scheduler;
  onSignedOut?: () => void;
  EventSource?: new (url: string, init?: EventSourceInit) => EventSource;
}

/**
 * Everything the signed-in dashboard holds, wired together: one live stream feeding small
 * stores, one per concern. Components read these; they do not fetch on their own.
 */
export class AppState {
  readonly api: Api;
  readonly session: Session;
  readonly clock = new Clock();
  readonly toasts = new Toasts();
  readonly infra: Infrastructure;
  readonly commands = new Commands();
  readonly servers = new Servers();
  readonly agents = new Agents();
  readonly health = new HealthState();
  readonly approvals: Approvals;
  readonly actions: GuestActions;
  readonly stream: EventStream;

  constructor(o: AppOptions) {
    this.api = o.api ?? createApi();
    this.session = o.session;
    this.infra = new Infrastructure({ schedule: o.schedule });
    this.approvals = new Approvals(this.api);
    this.actions = new GuestActions({
      submit: async (cluster, vmid, action, idempotencyKey, reason) => {
        const res = await this.api.post<{ data: Command }>(`/api/vms/${vmid}/${action}?cluster=${encodeURIComponent(cluster)}`, reason ? { reason } : {}, { idempotencyKey });
        this.commands.put(res.data);
        return res.data;
      },
      command: (id) => this.commands.get(id),
      toast: (t) => this.toasts.push(t),
    });
    this.commands.subscribe((c) => this.actions.onCommand(c));
    this.infra.observeGuests((cluster, g) => this.actions.onGuest(cluster, g));

    const sink: StreamSink = {
      snapshot: (s) => {
        this.infra.applySnapshot(s);
        this.servers.replaceAll(s.servers);
        this.agents.replaceAll(s);
        this.commands.replaceAll(s.commands);
        this.approvals.replaceAll(s.approvals ?? []);
      },
      approval: (a) => this.approvals.put(a),
      resumed: () => void this.approvals.refresh(),
      delta: (event, d) => {
        if (event === 'server') this.servers.apply(d);
        else if (event === 'gateway' || event === 'agent' || event === 'session') this.agents.apply(event, d);
        else this.infra.queue(event, d);
      },
      command: (c) => this.commands.put(c),
      progress: (p) => this.commands.addProgress(p),
      health: (h) => {
        this.health.set(h);
        this.servers.applyHealth(h);
      },
    };
    this.stream = new EventStream({
      sink,
      EventSource: o.EventSource,
      checkSession: async () => {
        try {
          return (await readSession(this.api)) ? 'ok' : 'signed-out';
        } catch {
          return 'unreachable';
        }
      },
      onSignedOut: o.onSignedOut,
      log: (m, d) => console.warn(`[molten] ${m}`, d ?? ''),
    });
  }

  get role() {
    return this.session.role;
  }

  get canAct(): boolean {
    return this.session.role === 'operator';
  }

  get live(): boolean {
    return this.stream.status === 'live';
  }

  /** Starts the live stream and the housekeeping timers; returns the cleanup (for $effect). */
  start(): () => void {
    return untrack(() => this.#start());
  }

  #start(): () => void {
    const stop = this.stream.start();
    const sweep = setInterval(() => this.actions.sweep(), 1000);
    return () => {
      clearInterval(sweep);
      stop();
    };
  }

  runGuestAction(cluster: string, vmid: number, action: GuestActionName, reason?: string): Promise<void> {
    const g = this.infra.cluster(cluster)?.guest(vmid);
    if (!g) return Promise.resolve();
    return this.actions.run(cluster, g, action, reason);
  }
}

export const [getApp, setApp] = createContext<AppState>();
