import type { ClusterHealth, Health } from '$lib/api/types';

export interface Freshness {
  /** The last good read of the upstream (ms), or null when never. */
  lastSeen: number | null;
  /** True when the values on screen may not be current. */
  stale: boolean;
  /** Why they may not be current, in words. */
  why?: string;
}

/** The api's `health` events: each cluster's freshness and upstream status, adapters, servers. */
export class HealthState {
  current = $state.raw<Health | null>(null);

  set(h: Health): void {
    this.current = h;
  }

  cluster(id: string): ClusterHealth | undefined {
    return this.current?.clusters.find((c) => c.id === id);
  }

  /**
   * How fresh a cluster's data is right now. Ages keep growing between health events, and
   * without a live stream nothing can be vouched for.
   */
  freshness(id: string, o: { live: boolean; now: number; fallbackLastSeen?: string | null }): Freshness {
    const h = this.cluster(id);
    const iso = h?.lastSeen ?? o.fallbackLastSeen ?? null;
    const lastSeen = iso ? Date.parse(iso) : null;
    const limit = 3 * Math.max(h?.pollMs ?? 2000, 2000);
    if (!o.live) return { lastSeen, stale: true, why: 'not connected to the Molten api' };
    if (h?.adapter === 'missing') return { lastSeen, stale: true, why: 'no proxmox-adapter is running' };
    if (h?.stale) return { lastSeen, stale: true, why: h.upstream?.reason || 'the cluster has not answered recently' };
    if (lastSeen === null) return { lastSeen, stale: true, why: 'no data from the cluster yet' };
    if (o.now - lastSeen > limit + 2000) return { lastSeen, stale: true, why: 'the cluster has not answered recently' };
    return { lastSeen, stale: false };
  }
}
