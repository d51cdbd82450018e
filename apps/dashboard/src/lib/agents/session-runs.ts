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

/**
 * A finished run's answer in words, from its result: the texts of the gateway's payloads
 * (`result.payloads[].text`), else a text result, else the gateway's summary ("completed").
 */
export function runAnswer(c: Command): string {
  const r = c.result as { summary?: unknown; result?: unknown } | null | undefined;
  if (!r || typeof r !== 'object') return '';
  const payloads = (r.result as { payloads?: unknown } | null)?.payloads;
  if (Array.isArray(payloads)) {
    const text = payloads
      .map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : ''))
      .filter(Boolean)
      .join('\n\n');
    if (text) return text;
  }
  if (typeof r.result === 'string' && r.result) return r.result;
  return typeof r.summary === 'string' ? r.summary : '';
}

/** The session page's address. */
export const sessionHref = (s: SessionRef) => `/agents/sessions/${encodeURIComponent(s.scope)}/${encodeURIComponent(s.key)}`;
