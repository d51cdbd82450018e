import type { Command } from '$lib/api/types';

/** A gateway's session, as the session page needs it. */
export interface SessionRef {
  /** The gateway (the moltbot scope). */
  scope: string;
  key: string;
}

/** The session a run went to: its sessionKey, or (none given) its agent's main session. */
export function runSessionKey(target: { agentId: string; sessionKey?: string }): string {
  return target.sessionKey || `agent:${target.agentId}:main`;
}

/** The agent runs Molten started in a session, newest first. */
export function runsInSession(commands: readonly Command[], s: SessionRef): Command[] {
  return commands
    .filter((c) => c.action === 'agent-run' && c.target?.kind === 'agent' && (c.target.gateway || c.scope) === s.scope && runSessionKey(c.target) === s.key)
    .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
}

/** A finished run's answer in words: the gateway's summary, else a text result. */
export function runAnswer(c: Command): string {
  const r = c.result as { summary?: unknown; result?: unknown } | null | undefined;
  if (r && typeof r === 'object') {
    if (typeof r.summary === 'string' && r.summary) return r.summary;
    if (typeof r.result === 'string') return r.result;
  }
  return '';
}

/** The session page's address. */
export const sessionHref = (s: SessionRef) => `/agents/sessions/${encodeURIComponent(s.scope)}/${encodeURIComponent(s.key)}`;
