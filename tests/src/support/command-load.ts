import type { PveSimulator } from '@molten/simulators/pve';
import { waitFor } from '@molten/testkit';
import { guestPicker } from '../stack.js';

/** One power command: a running guest is stopped, a stopped one started (one command per guest). */
export interface PowerTarget {
  vmid: number;
  action: 'start' | 'stop';
}

/** What the api answered to one submission. */
export interface Submission {
  target: PowerTarget;
  /** When it was sent (ms since epoch). */
  sentAt: number;
  /** The HTTP status, or 0 when the request itself failed. */
  status: number;
  /** The command's id (a 202). */
  id?: string;
  /** The error's text otherwise. */
  error?: string;
}

/** A command as GET /api/commands answers it (the fields these checks read). */
export interface CommandJson {
  id: string;
  status: string;
  message: string;
  target: { vmid: number };
  createdAt: string;
  transitions: { status: string; by: string; at: string; message: string }[];
}

type Json = (path: string, init?: RequestInit) => Promise<{ status: number; body: any }>;

const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'denied', 'expired']);

/**
 * Guests one power command each can act on (guestPicker's: none locked, templated or
 * HA-managed, each handed out once): running ones to stop and stopped ones to start, alternating.
 */
export function powerTargets(sim: PveSimulator, count: number): PowerTarget[] {
  const guests = sim.guests();
  const picker = guestPicker();
  const out: PowerTarget[] = [];
  const take = (want: (g: (typeof guests)[number]) => boolean) => {
    try {
      return picker.take(guests, want).vmid;
    } catch {
      return undefined;
    }
  };
  for (let turn = 0, dry = 0; out.length < count && dry < 2; turn++) {
    const stop = turn % 2 === 0;
    const vmid = stop ? take((g) => g.status === 'running' && g.qmpstatus !== 'paused') : take((g) => g.status === 'stopped');
    if (vmid === undefined) dry++;
    else {
      dry = 0;
      out.push({ vmid, action: stop ? 'stop' : 'start' });
    }
  }
  if (out.length < count) throw new Error(`the simulator has ${out.length} guests a power command can act on; the load needs ${count}`);
  return out;
}

/**
 * Submits one command per target at a steady rate, on schedule whatever the answers take (a
 * request the api holds during a bus outage does not slow the ones after it). `onSent(n)` runs
 * after the n-th request went out, for faults injected part-way.
 */
export async function submitAtRate(
  json: Json,
  targets: PowerTarget[],
  perSecond: number,
  onSent?: (n: number) => void,
): Promise<Submission[]> {
  const start = Date.now();
  const pending: Promise<Submission>[] = [];
  for (let i = 0; i < targets.length; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const target = targets[i]!;
    const sentAt = Date.now();
    pending.push(
      json(`/api/vms/${target.vmid}/${target.action}`, { method: 'POST' }).then(
        (r): Submission => (r.status === 202 ? { target, sentAt, status: 202, id: r.body.data.id } : { target, sentAt, status: r.status, error: JSON.stringify(r.body?.error ?? r.body) }),
        (err: Error): Submission => ({ target, sentAt, status: 0, error: err.message }),
      ),
    );
    onSent?.(i + 1);
  }
  return Promise.all(pending);
}

export interface LoadOutcome {
  /** Every submission, and the final record of each one the api took (202). */
  submissions: Submission[];
  commands: CommandJson[];
  succeeded: number;
  /** Taken (202) but not succeeded: timed out, failed. */
  lost: CommandJson[];
  /**
   * Of those, the ones that ended failed as never sent, with no POST: the replica recorded that it
   * was about to call Proxmox and the call never got there (the replica died in between, or the
   * request met a connection Proxmox had just closed). By design the survivor does not send it
   * again blindly: after looking for its task for 30 s it says so.
   */
  neverSent: CommandJson[];
  /** Guests Proxmox got more than one POST for. */
  doubled: { vmid: number; posts: number }[];
  /** Succeeded commands Proxmox got no POST for. */
  unposted: number[];
  /** Commands with more than one final transition. */
  endedTwice: string[];
  /** Not taken (a 503 and the like): each must have left Proxmox alone. */
  refused: Submission[];
  /** Refused commands that reached Proxmox anyway (the api said "not queued" and was wrong). */
  refusedButRun: number[];
}

/**
 * Waits until every command the api took has ended (none left requested, accepted or running),
 * then counts what matters: each succeeded exactly once, with exactly one POST to Proxmox.
 */
export async function awaitLoadOutcome(json: Json, sim: PveSimulator, submissions: Submission[], timeoutMs: number): Promise<LoadOutcome> {
  const ids = new Set(submissions.flatMap((s) => (s.id ? [s.id] : [])));
  const commands = await waitFor(
    async () => {
      const r = await json(`/api/commands?limit=500&domain=proxmox`);
      const mine = (r.body.data as CommandJson[]).filter((c) => ids.has(c.id));
      const open = mine.filter((c) => !TERMINAL.has(c.status));
      return mine.length === ids.size && open.length === 0 ? mine : undefined;
    },
    { timeoutMs, intervalMs: 250, message: `all ${ids.size} commands end` },
  );
  const posts = (vmid: number, action: string) => sim.countRequests({ method: 'POST', vmid, action });
  const byId = new Map(submissions.flatMap((s) => (s.id ? [[s.id, s] as const] : [])));
  const doubled: LoadOutcome['doubled'] = [];
  const unposted: number[] = [];
  for (const c of commands) {
    const t = byId.get(c.id)!.target;
    const n = posts(t.vmid, t.action);
    if (n > 1) doubled.push({ vmid: t.vmid, posts: n });
    if (n === 0 && c.status === 'succeeded') unposted.push(t.vmid);
  }
  const refused = submissions.filter((s) => !s.id);
  return {
    submissions,
    commands,
    succeeded: commands.filter((c) => c.status === 'succeeded').length,
    lost: commands.filter((c) => c.status !== 'succeeded'),
    neverSent: commands.filter((c) => c.status === 'failed' && /never reached Proxmox/.test(c.message) && posts(byId.get(c.id)!.target.vmid, byId.get(c.id)!.target.action) === 0),
    doubled,
    unposted,
    endedTwice: commands.filter((c) => c.transitions.filter((t) => TERMINAL.has(t.status)).length !== 1).map((c) => c.id),
    refused,
    refusedButRun: refused.filter((s) => posts(s.target.vmid, s.target.action) > 0).map((s) => s.target.vmid),
  };
}

/** The figures a failover test prints: one line, the same shape in every test. */
export function outcomeLine(o: LoadOutcome): string {
  const lostWhy = new Map<string, number>();
  for (const c of o.lost) lostWhy.set(`${c.status}: ${c.message.slice(0, 80)}`, (lostWhy.get(`${c.status}: ${c.message.slice(0, 80)}`) ?? 0) + 1);
  return (
    `commands ${o.submissions.length}, taken ${o.commands.length}, succeeded ${o.succeeded}, lost ${o.lost.length}${o.neverSent.length ? ` (${o.neverSent.length} of them never sent)` : ''}, doubled ${o.doubled.length}, ` +
    `refused ${o.refused.length}${o.refused.length ? ` (${[...new Set(o.refused.map((s) => `${s.status} ${s.error?.slice(0, 80)}`))].join('; ')})` : ''}` +
    (lostWhy.size ? `; lost as ${[...lostWhy].map(([k, n]) => `${n}× ${k}`).join('; ')}` : '')
  );
}

/** Milliseconds from a command's creation to its acceptance (undefined when it was never accepted). */
export function acceptDelayMs(c: CommandJson): number | undefined {
  const accepted = c.transitions.find((t) => t.status === 'accepted');
  return accepted ? Date.parse(accepted.at) - Date.parse(c.createdAt) : undefined;
}
