import type { ClusterModel, Guest } from './cluster-model.js';
import type { PveRelease } from './version.js';

/**
 * GET /cluster/ha/status/current as pve-ha-manager's `API2/HA/Status.pm` builds it: a `quorum`
 * entry, then (once the HA stack manages anything) the `master`, on newer releases a `fencing`
 * entry, one `lrm:<node>` line per node, and one `service:<sid>` per HA resource (`vm:101`,
 * `ct:100`) with the CRM's state (`crm_state`), the configured request (`request_state`), the
 * verbose `state` (`PVE::HA::Tools::get_verbose_service_state`) and the resource settings.
 */
type Json = Record<string, unknown>;

/** Perl's scalar `localtime`: `Thu May 21 10:00:00 2026` (UTC here). */
function perlTime(unix: number): string {
  const d = new Date(unix * 1000);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${day} ${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

export const haSid = (g: Pick<Guest, 'type' | 'vmid'>) => `${g.type === 'qemu' ? 'vm' : 'ct'}:${g.vmid}`;

/** The CRM's state for a resource, and whether the guest runs, from the simulated request. */
function serviceState(g: Guest): { crm: string; request: string } {
  const ha = g.ha!;
  if (ha.state === 'error') return { crm: 'error', request: 'started' };
  if (ha.state === 'stopped' && g.running) return { crm: 'request_stop', request: 'stopped' };
  return { crm: ha.state, request: ha.state };
}

/** `get_verbose_service_state`. */
function verbose(crm: string, request: string, running: boolean): string {
  if (crm === 'stopped' && request === 'started') return 'starting';
  if (crm === 'started') return request === 'stopped' || request === 'disabled' ? 'stopping' : running ? 'started' : 'starting';
  return crm;
}

export function haStatusCurrent(model: ClusterModel, release: PveRelease, now = Date.now()): Json[] {
  const local = model.localNode;
  const quorate = model.quorate();
  const res: Json[] = [
    { id: 'quorum', type: 'quorum', node: local, status: quorate ? 'OK' : `No quorum on node '${local}'!`, quorate: quorate ? 1 : 0 },
  ];
  const managed = [...model.guests()].filter((g) => g.ha).sort((a, b) => (haSid(a) < haSid(b) ? -1 : 1));
  if (managed.length === 0) return res;

  const ts = Math.floor(now / 1000) - 3;
  const online = [...model.nodes()].filter((n) => n.online).map((n) => n.name).sort();
  const master = online[0] ?? local;
  res.push({ id: 'master', type: 'master', node: master, status: `${master} (active, ${perlTime(ts)})`, timestamp: ts });
  if (release.haFencingStatus) {
    res.push({ id: 'fencing', type: 'fencing', node: master, status: 'armed (CRM watchdog active)', 'armed-state': 'armed' });
  }
  for (const node of [...model.nodes()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const active = managed.some((g) => g.node === node.name);
    // An LRM that stopped reporting (node down) shows its last timestamp as old.
    const stamp = node.online ? ts : Math.floor((node.offlineSince ?? now) / 1000);
    const state = !node.online ? 'old timestamp - dead?' : active ? 'active' : 'idle';
    const wd = release.haFencingStatus ? (node.online && active ? 'watchdog active, ' : 'watchdog standby, ') : '';
    res.push({ id: `lrm:${node.name}`, type: 'lrm', node: node.name, status: `${node.name} (${state}, ${wd}${perlTime(stamp)})`, timestamp: stamp });
  }
  for (const g of managed) {
    const sid = haSid(g);
    const { crm, request } = serviceState(g);
    const state = verbose(crm, request, g.running);
    const e: Json = {
      id: `service:${sid}`,
      type: 'service',
      sid,
      node: g.node,
      crm_state: crm,
      state,
      status: `${sid} (${g.node}, ${state})`,
      request_state: request,
      max_restart: 1,
      max_relocate: 1,
    };
    if (release.pve9Metrics) e.failback = 1;
    res.push(e);
  }
  return res;
}
