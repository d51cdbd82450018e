import type { Health, Server } from '$lib/api/types';

export interface Problem {
  id: string;
  tone: 'danger' | 'warn';
  title: string;
  detail?: string;
  remedy?: string;
  /** Since when (ms). */
  since?: number | null;
  href?: string;
}

const STATUS_WORDS: Record<string, string> = {
  down: 'is unreachable',
  auth_failed: 'refuses Molten’s credentials',
  degraded: 'is degraded',
  connecting: 'is connecting',
};

const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : null);

/**
 * What is wrong upstream, from the api's health beat and the servers' descriptors: which
 * upstream, since when, and what to check. Proxmox clusters first (they hold the page).
 */
export function upstreamProblems(health: Health | null, servers: readonly Server[]): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const c of health?.clusters ?? []) {
    // The cluster's own server, as the api names it: ProxmoxMCP-Plus beside it has its own since-time.
    const inCluster = servers.filter((s) => s.domain === 'proxmox' && s.scope === c.id);
    const server = inCluster.find((s) => s.id === c.upstream?.serverId) ?? inCluster.find((s) => s.kind !== 'proxmox-mcp') ?? inCluster[0];
    if (server) seen.add(server.id);
    // When the state began, as the api says it; else the last good read (within a poll of it).
    const since = ms(c.upstream?.since) ?? ms(server?.statusSince) ?? ms(c.lastSeen);
    const label = `Proxmox cluster “${c.id}”`;
    if (c.adapter === 'missing') {
      out.push({
        id: `cluster:${c.id}:adapter`,
        tone: 'danger',
        title: `${label}: no proxmox-adapter is running`,
        detail: 'Values on screen are the last ones reported and are not being refreshed.',
        remedy: 'Start services/proxmox-adapter (npm start runs every adapter) and check that it reaches the same NATS server as the api.',
        since: ms(c.upstream?.since) ?? ms(c.lastSeen),
      });
      continue;
    }
    const status = c.upstream?.status;
    if (status === 'down' || status === 'auth_failed' || status === 'degraded') {
      out.push({
        id: `cluster:${c.id}:${status}`,
        tone: status === 'degraded' ? 'warn' : 'danger',
        title: `${label} ${STATUS_WORDS[status]}`,
        detail: c.upstream?.reason || undefined,
        remedy: c.upstream?.remedy || server?.remedy,
        since,
        href: '/servers',
      });
    } else if (c.stale) {
      out.push({
        id: `cluster:${c.id}:stale`,
        tone: 'warn',
        title: `${label}: data is stale`,
        detail: c.upstream?.reason || 'The cluster has not been read successfully for several poll intervals.',
        since: ms(c.lastSeen),
      });
    }
  }
  for (const s of servers) {
    if (seen.has(s.id) || s.domain === 'proxmox' && (health?.clusters ?? []).some((c) => c.id === s.scope)) continue;
    if (s.status !== 'down' && s.status !== 'auth_failed') continue;
    out.push({
      id: `server:${s.id}:${s.status}`,
      tone: s.status === 'auth_failed' ? 'danger' : 'warn',
      title: `${s.name} ${STATUS_WORDS[s.status]}`,
      detail: s.statusReason || undefined,
      remedy: s.remedy,
      since: ms(s.statusSince),
      href: s.kind === 'gateway' ? '/agents' : '/servers',
    });
  }
  return out;
}
