import type { GuestActionName } from '$lib/infra/action-rules';
import { SvelteMap } from 'svelte/reactivity';
import { ApiError, newIdempotencyKey } from '$lib/api/client';
import type { Command, CommandStatus, Guest } from '$lib/api/types';
import { ACTION_INFO, expectedOutcome } from '$lib/infra/action-rules';
import { guestState, typeLabel } from '$lib/infra/guest-status';
import type { Toast } from './toasts.svelte';

export type PendingPhase = 'sending' | 'requested' | 'accepted' | 'running' | 'settling';

export interface PendingAction {
  cluster: string;
  vmid: number;
  action: GuestActionName;
  guestName: string;
  node: string;
  phase: PendingPhase;
  commandId?: string;
  startedAt: number;
  /** After success: until when the optimistic label waits for the real state to catch up. */
  settleUntil?: number;
}

export interface GuestActionsDeps {
  /** POST /api/vms/{vmid}/{action} (with the reason given, if any); answers the command. */
  submit(cluster: string, vmid: number, action: GuestActionName, idempotencyKey: string, reason?: string): Promise<Command>;
  /** The latest copy of a command the events stream already delivered (it can beat the POST's answer). */
  command(id: string): Command | undefined;
  toast(t: Omit<Toast, 'id'>): void;
  now?: () => number;
  newKey?: () => string;
  /** How long after success the optimistic label may wait for the guest's new state. */
  settleMs?: number;
}

const key = (cluster: string, vmid: number) => `${cluster}/${vmid}`;

const FAILED_TITLE: Partial<Record<CommandStatus, string>> = {
  failed: 'failed',
  timed_out: 'timed out',
  uncertain: 'has an uncertain outcome',
};

/**
 * Optimistic guest actions. A confirmed action shows at once on its row ("stopping…"), follows
 * the command's lifecycle from `command` events, and ends either when the real state has caught
 * up after success, or by rolling back — the row shows the real state again — with a toast
 * saying why, on failed / timed_out / uncertain or an error answer to the POST. Each guest
 * has its own entry, so several actions run at once.
 */
export class GuestActions {
  readonly pending = new SvelteMap<string, PendingAction>();
  readonly #byCommand = new Map<string, string>();
  readonly #d: Required<Pick<GuestActionsDeps, 'now' | 'newKey' | 'settleMs'>> & GuestActionsDeps;

  constructor(deps: GuestActionsDeps) {
    this.#d = { now: () => Date.now(), newKey: newIdempotencyKey, settleMs: 8000, ...deps };
  }

  get(cluster: string, vmid: number): PendingAction | undefined {
    return this.pending.get(key(cluster, vmid));
  }

  /** The label a row shows instead of its status while an action is in flight. */
  label(cluster: string, vmid: number): string | undefined {
    const p = this.get(cluster, vmid);
    return p ? ACTION_INFO[p.action].progress : undefined;
  }

  /** Runs an action the person confirmed. Resolves once the api has answered the POST. */
  async run(cluster: string, guest: Guest, action: GuestActionName, reason?: string): Promise<void> {
    const k = key(cluster, guest.vmid);
    if (this.pending.has(k)) return;
    this.pending.set(k, {
      cluster,
      vmid: guest.vmid,
      action,
      guestName: guest.name || `${typeLabel(guest.type)} ${guest.vmid}`,
      node: guest.node,
      phase: 'sending',
      startedAt: this.#d.now(),
    });
    let command: Command;
    try {
      command = await this.#d.submit(cluster, guest.vmid, action, this.#d.newKey(), reason);
    } catch (err) {
      const p = this.pending.get(k);
      this.pending.delete(k);
      if (p) this.#failToast(p, err);
      return;
    }
    const p = this.pending.get(k);
    if (!p) return;
    this.#byCommand.set(command.id, k);
    this.pending.set(k, { ...p, commandId: command.id });
    // The stream may have delivered this command's later transitions before the POST answered.
    const seen = this.#d.command(command.id);
    this.onCommand(seen && seen.transitions.length >= command.transitions.length ? seen : command);
  }

  /** Follows a command's lifecycle (wired to the command store). */
  onCommand(c: Command): void {
    const k = this.#byCommand.get(c.id);
    if (!k) return;
    const p = this.pending.get(k);
    if (!p) {
      this.#byCommand.delete(c.id);
      return;
    }
    switch (c.status) {
      case 'requested':
      case 'accepted':
      case 'running':
        if (p.phase !== c.status && p.phase !== 'settling') this.pending.set(k, { ...p, phase: c.status });
        break;
      case 'succeeded':
        this.#byCommand.delete(c.id);
        this.#d.toast({ tone: 'success', title: `${ACTION_INFO[p.action].label}: ${p.guestName}`, message: c.message || 'done', href: `/commands/${c.id}`, hrefLabel: 'Details' });
        this.pending.set(k, { ...p, phase: 'settling', settleUntil: this.#d.now() + this.#d.settleMs });
        break;
      case 'failed':
      case 'timed_out':
      case 'uncertain':
        this.#byCommand.delete(c.id);
        this.pending.delete(k);
        this.#commandToast(p, c);
        break;
    }
  }

  /**
   * A guest value arrived (wired to the infrastructure store): once it shows the state the
   * action leads to, the optimistic label gives way.
   */
  onGuest(cluster: string, g: Guest): void {
    const k = key(cluster, g.vmid);
    const p = this.pending.get(k);
    if (p?.phase === 'settling' && guestState(g) === expectedOutcome(p.action)) this.pending.delete(k);
  }

  /** Drops optimistic labels whose real state never came (called every second or so). */
  sweep(now = this.#d.now()): void {
    for (const [k, p] of this.pending) if (p.phase === 'settling' && (p.settleUntil ?? 0) < now) this.pending.delete(k);
  }

  #commandToast(p: PendingAction, c: Command): void {
    const e = c.error;
    const message = [e?.message || c.message || `the command ended ${c.status.replace('_', ' ')}`, e?.privilege ? `Missing privilege: ${e.privilege}.` : '']
      .filter(Boolean)
      .join(' ');
    this.#d.toast({
      tone: 'error',
      title: `${ACTION_INFO[p.action].label} of ${p.guestName} ${FAILED_TITLE[c.status] ?? c.status}`,
      message,
      ...(e?.remedy ? { remedy: e.remedy } : c.status === 'uncertain' ? { remedy: 'Molten keeps checking the real state; the row shows what Proxmox reports.' } : {}),
      href: `/commands/${c.id}`,
      hrefLabel: 'View command',
    });
  }

  #failToast(p: PendingAction, err: unknown): void {
    const e = err instanceof ApiError ? err : new ApiError(0, 'unknown', (err as Error)?.message ?? String(err));
    const commandId = typeof e.details.commandId === 'string' ? e.details.commandId : undefined;
    this.#d.toast({
      tone: 'error',
      title: `${ACTION_INFO[p.action].label} of ${p.guestName} was not sent`,
      message: e.message,
      ...(e.remedy ? { remedy: e.remedy } : e.details.retryAfterSeconds ? { remedy: `Try again in ${e.details.retryAfterSeconds} s.` } : {}),
      ...(commandId ? { href: `/commands/${commandId}`, hrefLabel: 'View the command in progress' } : {}),
    });
  }
}
