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
