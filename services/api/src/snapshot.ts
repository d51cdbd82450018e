import type { ControlPlane } from './control-plane.js';
import { commandJson, guestJson, nodeJson, storageJson } from './state/json.js';

/** Everything the dashboard shows, at one events-stream sequence (the SSE snapshot). */
export function snapshot(plane: ControlPlane) {
  const now = Date.now();
  const clusters = plane.state.clusters().map((id) => {
    const f = plane.freshness('proxmox', id, now);
    return {
      id,
      status: plane.state.get('cluster', 'proxmox', id, id)?.value ?? null,
      nodes: plane.state.list('node', { domain: 'proxmox', scope: id }).map((e) => nodeJson(e, f)),
      guests: plane.state.guests(id).map((e) => guestJson(e, f, now)),
      storage: plane.state.list('storage', { domain: 'proxmox', scope: id }).map((e) => storageJson(e, f)),
    };
  });
  return {
    seq: plane.hub.lastSeq,
    at: new Date(now).toISOString(),
    defaultCluster: plane.cluster(),
    demo: plane.o.demo,
    clusters,
    servers: plane.state.list('server').map((e) => plane.serverJson(e.value as never)),
    gateways: plane.state.list('gateway').map((e) => ({ scope: e.address.scope, ...(e.value as object) })),
    agents: plane.state.list('agent').map((e) => ({ scope: e.address.scope, ...(e.value as object) })),
    sessions: plane.state.list('session').map((e) => ({ scope: e.address.scope, ...(e.value as object) })),
    commands: plane.commands.recent({ limit: 100 }).map(commandJson),
  };
}
