import type { Health, Server } from '$lib/api/types';
import type { StreamStatus } from './event-stream.svelte';

export interface LiveIndicator {
  /** ok: everything on screen is current; warn: it is not, or not all of it. */
  tone: 'ok' | 'warn';
  label: string;
  /** What is (not) live, in words (the tooltip). */
  detail: string;
  /** The sources whose data is not current. */
  stale: string[];
}

const STREAM_LABEL: Record<StreamStatus, string> = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', 'signed-out': 'Signed out' };

/**
 * The top bar's "Live": the stream from the api is up AND what it brings is current. A cluster
 * whose adapter froze or whose upstream stopped answering, or a server not heard from, makes it
 * say so: the stream alone being up is not "live" data. A server no adapter reports any more
 * (no longer configured) is left to its own card: it is not data anyone is waiting for.
 */
export function liveIndicator(status: StreamStatus, health: Health | null, servers: readonly Server[]): LiveIndicator {
  if (status !== 'live') return { tone: 'warn', label: STREAM_LABEL[status], detail: 'Not receiving live updates', stale: [] };
  const stale: string[] = [];
  const counted = new Set<string>();
  for (const c of health?.clusters ?? []) {
    if (c.upstream?.serverId) counted.add(c.upstream.serverId);
    if (!c.stale) continue;
    const why = c.adapter === 'missing' ? 'no proxmox-adapter is running' : c.upstream?.reason || 'not read recently';
    stale.push(`Proxmox cluster “${c.id}” (${why})`);
  }
  for (const s of servers) {
    if (!s.stale || s.status === 'not_reported' || counted.has(s.id)) continue;
    stale.push(`${s.name} (${s.status === 'connected' || s.status === 'degraded' ? 'not heard from recently' : s.status.replace('_', ' ')})`);
  }
  if (stale.length === 0) return { tone: 'ok', label: 'Live', detail: 'Receiving live updates; everything shown is current', stale };
  return {
    tone: 'warn',
    label: `Live · ${stale.length} stale`,
    detail: `Receiving live updates, but not everything shown is current: ${stale.join('; ')}`,
    stale,
  };
}
