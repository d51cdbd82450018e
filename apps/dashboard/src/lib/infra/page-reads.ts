/**
 * The api reads of a guest's page, as paths. The page's load starts them (see
 * state/preload.ts) and its panels ask for the same paths, so the two must be built here alone.
 */

/** The timeframes of Proxmox's history a guest has (a node's add `decade` on PVE 9, not offered here). */
export const TIMEFRAMES = ['hour', 'day', 'week', 'month', 'year'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];
export const isTimeframe = (v: string | null | undefined): v is Timeframe => (TIMEFRAMES as readonly string[]).includes(v ?? '');

/** `?timeframe=` of the page's address, hour when absent or unknown. */
export const timeframeOf = (url: URL): Timeframe => {
  const asked = url.searchParams.get('timeframe');
  return isTimeframe(asked) ? asked : 'hour';
};

const base = (vmid: number) => `/api/vms/${vmid}`;
const inCluster = (cluster: string) => `?cluster=${encodeURIComponent(cluster)}`;

/** A guest's history for a timeframe. */
export const guestRrdPath = (cluster: string, vmid: number, timeframe: Timeframe) => `${base(vmid)}/rrd${inCluster(cluster)}&timeframe=${timeframe}`;

/** The guest page's other panels. */
export const guestPanelPaths = (cluster: string, vmid: number) => {
  const b = base(vmid);
  const q = inCluster(cluster);
  return { config: `${b}/config${q}`, addresses: `${b}/addresses${q}`, snapshots: `${b}/snapshots${q}`, tasks: `${b}/tasks${q}&limit=20` };
};

/** A node's history for a timeframe. */
export const nodeRrdPath = (cluster: string, node: string, timeframe: Timeframe) =>
  `/api/nodes/${encodeURIComponent(node)}/rrd${inCluster(cluster)}&timeframe=${timeframe}`;

/** A guest page's reads, history first: the page waits for it longest. None for a vmid that is not a number. */
export function guestPageReads(cluster: string, vmid: string, url: URL): string[] {
  const n = Number(vmid);
  if (!Number.isInteger(n)) return [];
  return [guestRrdPath(cluster, n, timeframeOf(url)), ...Object.values(guestPanelPaths(cluster, n))];
}

/** A node page's reads. */
export const nodePageReads = (cluster: string, node: string): string[] => [nodeRrdPath(cluster, node, 'hour')];

/** The route ids of the pages above (src/routes/(app)/…). */
export const GUEST_ROUTE = '/(app)/guests/[cluster]/[vmid]';
export const NODE_ROUTE = '/(app)/nodes/[cluster]/[node]';

/** The reads of the page a navigation goes to, known from its address alone (before its code loads). */
export function readsOf(to: { route: { id: string | null }; params: Record<string, string> | null; url: URL }): string[] {
  const p = to.params ?? {};
  if (to.route.id === GUEST_ROUTE && p.cluster && p.vmid) return guestPageReads(p.cluster, p.vmid, to.url);
  if (to.route.id === NODE_ROUTE && p.cluster && p.node) return nodePageReads(p.cluster, p.node);
  return [];
}
