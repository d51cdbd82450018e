import type { Capability, Guest, PowerActionName, Role } from '$lib/api/types';
import { guestState, typeName, type GuestState } from './guest-status';

/** The actions a person runs on a guest from the dashboard: the power actions, and pause/resume of a VM. */
export type GuestActionName = PowerActionName | 'suspend' | 'resume';

/**
 * Which power actions a guest offers, and why not when it offers none. Pure, so the rules are
 * tested apart from any component: the api does not refuse a locked guest (Proxmox is the
 * authority), so the dashboard must not offer what cannot work.
 */
export interface ActionOption {
  action: GuestActionName;
  label: string;
  /** What it does, in one line (shown in the menu and the dialog). */
  description: string;
  available: boolean;
  /** Why it is unavailable. */
  reason?: string;
  /** Cuts power: the dialog asks more carefully. */
  hard: boolean;
}

export interface GuestActionMenu {
  options: ActionOption[];
  /** Why there is nothing to do (locked, template, state unknown); shown as the tooltip. */
  blocked?: string;
  /** A hint beside the options (e.g. a paused VM can only be hard-stopped here). */
  note?: string;
}

export interface ActionContext {
  role: Role | null | undefined;
  /** The cluster server's capabilities from /api/servers (absent: assume all available). */
  capabilities?: readonly Capability[];
  /** The action already in flight for this guest. */
  pending?: GuestActionName;
  /** The cluster's upstream, when it is known to be down or refusing Molten's credentials. */
  upstreamProblem?: string;
}

export const ACTION_INFO: Record<GuestActionName, { label: string; verb: string; progress: string; description: string; hard: boolean }> = {
  start: { label: 'Start', verb: 'start', progress: 'starting…', description: 'Boots the guest.', hard: false },
  shutdown: {
    label: 'Shut down',
    verb: 'shut down',
    progress: 'shutting down…',
    description: 'Asks the guest OS to shut down cleanly (ACPI); it may take a while or be ignored.',
    hard: false,
  },
  reboot: { label: 'Reboot', verb: 'reboot', progress: 'rebooting…', description: 'Asks the guest OS to restart cleanly.', hard: false },
  stop: {
    label: 'Hard stop',
    verb: 'hard stop',
    progress: 'stopping…',
    description: 'Cuts the power at once, like pulling the plug: unsaved data in the guest is lost.',
    hard: true,
  },
  suspend: {
    label: 'Pause',
    verb: 'pause',
    progress: 'pausing…',
    description: 'Freezes the VM where it is; its memory stays on the host and Resume continues it.',
    hard: false,
  },
  resume: { label: 'Resume', verb: 'resume', progress: 'resuming…', description: 'Continues the VM from where it was paused or hibernated.', hard: false },
};

function option(action: GuestActionName, ctx: ActionContext): ActionOption {
  const info = ACTION_INFO[action];
  const cap = ctx.capabilities?.find((c) => c.action === `vm-${action}`);
  let reason: string | undefined;
  if (ctx.pending) reason = `${ACTION_INFO[ctx.pending].label} is already in progress`;
  else if (ctx.upstreamProblem) reason = ctx.upstreamProblem;
  else if (cap && !cap.available) reason = `${info.label} is unavailable: ${cap.reason || 'the upstream does not support it'}${cap.privilege && !cap.reason?.includes(cap.privilege) ? ` (needs ${cap.privilege})` : ''}`;
  return { action, label: info.label, description: info.description, available: !reason, ...(reason ? { reason } : {}), hard: info.hard };
}

/** The actions for a guest; null when the person may not act at all (a viewer sees no buttons). */
export function guestActions(g: Guest, ctx: ActionContext, o: { pause?: boolean } = {}): GuestActionMenu | null {
  if (ctx.role !== 'operator') return null;
  // Hibernated: stopped with its RAM on a storage, under the `suspended` lock; Resume brings it back.
  if (g.type === 'qemu' && g.status === 'stopped' && g.lock === 'suspended') {
    return { options: [option('resume', ctx)], note: 'This VM is hibernated: Resume restores it from its saved memory.' };
  }
  if (g.template) return { options: [], blocked: `${g.name || g.vmid} is a template: templates cannot be started or stopped` };
  if (g.lock) return { options: [], blocked: `Locked (${g.lock}): Proxmox refuses power actions until the ${g.lock} lock is released` };
  const state = guestState(g);
  switch (state) {
    case 'stopped':
      return { options: [option('start', ctx)] };
    case 'running':
      return { options: (o.pause && g.type === 'qemu' ? (['shutdown', 'reboot', 'suspend', 'stop'] as const) : (['shutdown', 'reboot', 'stop'] as const)).map((a) => option(a, ctx)) };
    case 'paused':
      return {
        options: g.type === 'qemu' ? [option('resume', ctx), option('stop', ctx)] : [option('stop', ctx)],
        note: `This ${typeName(g.type)} is paused: Resume continues it; it cannot shut down cleanly until it is resumed.`,
      };
    default:
      return { options: [], blocked: `The state of ${g.name || g.vmid} is unknown (${g.status}${g.qmpstatus ? `/${g.qmpstatus}` : ''}); wait for the next update` };
  }
}

/** The guest state an action leads to, to know when the real state has caught up. */
export function expectedOutcome(action: GuestActionName): GuestState {
  if (action === 'suspend') return 'paused';
  return action === 'start' || action === 'reboot' || action === 'resume' ? 'running' : 'stopped';
}
