import type { Command, CommandStatus } from '$lib/api/types';
import { ACTION_INFO } from '$lib/infra/action-rules';
import { typeLabel } from '$lib/infra/guest-status';
import { toolTarget } from '@molten/contracts/tool-call-words';

export interface CommandSummary {
  /** "Hard stop", "Tool call", "Agent run". */
  what: string;
  /** "web-01 (VM 101)", "docker_ps on homelab-mcp", "homelab-ops". */
  subject: string;
  /** Where: node or server or gateway. */
  where?: string;
}

/** A command in words, for the Activity panel and the command page. */
export function describeCommand(c: Command, guestName?: (cluster: string, vmid: number) => string | undefined): CommandSummary {
  const t = c.target;
  if (t?.kind === 'guest') {
    const info = ACTION_INFO[t.action as keyof typeof ACTION_INFO];
    const name = guestName?.(t.cluster, t.vmid);
    return {
      what: info?.label ?? t.action,
      subject: name ? `${name} (${typeLabel(t.type)} ${t.vmid})` : `${typeLabel(t.type) || 'guest'} ${t.vmid}`.trim(),
      where: t.node ? `${t.node} · ${t.cluster}` : t.cluster,
    };
  }
  if (t?.kind === 'tool') {
    const target = toolTarget(t.arguments);
    return { what: 'Tool call', subject: target ? `${t.tool} · ${target}` : t.tool, where: t.serverId };
  }
  if (t?.kind === 'agent') return { what: 'Agent run', subject: t.agentId, where: t.gateway };
  return { what: c.action, subject: c.scope };
}

export const STATUS_TEXT: Record<CommandStatus, string> = {
  requested: 'Queued',
  accepted: 'Accepted',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  timed_out: 'Timed out',
  uncertain: 'Uncertain',
  awaiting_approval: 'Awaiting approval',
  denied: 'Denied',
  expired: 'Expired',
};

export const STATUS_TONE: Record<CommandStatus, 'ok' | 'danger' | 'warn' | 'info'> = {
  requested: 'info',
  accepted: 'info',
  running: 'info',
  succeeded: 'ok',
  failed: 'danger',
  timed_out: 'danger',
  uncertain: 'warn',
  awaiting_approval: 'warn',
  denied: 'danger',
  expired: 'danger',
};

export function isOpen(c: Command): boolean {
  return c.status === 'requested' || c.status === 'awaiting_approval' || c.status === 'accepted' || c.status === 'running';
}

/** How long it took, or has taken so far. */
export function commandElapsedMs(c: Command, now: number): number | undefined {
  if (c.durationMs !== undefined) return c.durationMs;
  const start = c.createdAt ? Date.parse(c.createdAt) : NaN;
  if (!Number.isFinite(start)) return undefined;
  return isOpen(c) ? now - start : c.updatedAt ? Date.parse(c.updatedAt) - start : undefined;
}
