import { Hono } from 'hono';
import { z } from 'zod';
import { POWER_ACTIONS, type ClusterStatus, type Guest } from '@molten/contracts';
import type { Logger } from '@molten/kit';
import type { AppEnv } from '../app-env.js';
import { assertRole } from '../auth/middleware.js';
import type { ControlPlane } from '../control-plane.js';
import { resolveCluster } from '../commands/cluster.js';
import { submitPower } from '../commands/submit-power.js';
import { badRequest, notFound } from '../errors.js';
import { commandJson, guestJson, nodeJson, storageJson } from '../state/json.js';
import type { RateLimiter } from '../rate-limit.js';
import { clusterQuery, idempotencyKeyHeader, parseJsonBody, parseParams, vmidParam } from '../validate.js';

const listQuery = z.object({
  cluster: clusterQuery,
  node: z.string().max(64).optional(),
  type: z.enum(['qemu', 'lxc'], { message: 'type must be qemu or lxc' }).optional(),
  status: z.string().max(32).optional(),
  tag: z.string().max(64).optional(),
});

const powerBody = z
  .object({
    /** Why (kept with the command for the audit trail). */
    reason: z.string().max(500).optional(),
    correlationId: z.string().max(100).optional(),
  })
  .strict();

export interface InfrastructureDeps {
  plane: ControlPlane;
  log?: Logger;
  limiter: RateLimiter;
  acceptTimeoutMs: number;
  timeoutMs: number;
}

/** The seed's REST surface for one Proxmox cluster: nodes, guests, storage, status, power actions. */
export function infrastructureRoutes({ plane, limiter, acceptTimeoutMs, timeoutMs, log }: InfrastructureDeps) {
  const clusterOf = (requested: string | undefined) => resolveCluster(plane, requested);
  const meta = (cluster: string) => {
    const f = plane.freshness('proxmox', cluster);
    return { cluster, stale: f.stale, lastSeen: f.lastSeenMs ? new Date(f.lastSeenMs).toISOString() : null, demo: plane.o.demo };
  };

  return new Hono<AppEnv>()
    .get('/nodes', (c) => {
      assertRole(c, 'viewer');
      const q = parseParams(listQuery, c.req.query(), 'query');
      const cluster = clusterOf(q.cluster);
      const f = plane.freshness('proxmox', cluster);
      const data = plane.state
        .list('node', { domain: 'proxmox', scope: cluster })
        .map((e) => nodeJson(e, f))
        .sort((a, b) => a.node.localeCompare(b.node));
      return c.json({ data, meta: meta(cluster) });
    })
    .get('/vms', (c) => {
      assertRole(c, 'viewer');
      const q = parseParams(listQuery, c.req.query(), 'query');
      const cluster = clusterOf(q.cluster);
      const f = plane.freshness('proxmox', cluster);
      const now = Date.now();
      const data = plane.state
        .guests(cluster)
        .filter((e) => {
          const g = e.value as Guest;
          return (!q.node || g.node === q.node) && (!q.type || g.type === q.type) && (!q.status || g.status === q.status || g.qmpstatus === q.status) && (!q.tag || g.tags.includes(q.tag));
        })
        .map((e) => guestJson(e, f, now))
        .sort((a, b) => a.vmid - b.vmid);
      return c.json({ data, meta: meta(cluster) });
    })
    .get('/vms/:vmid/status', (c) => {
      assertRole(c, 'viewer');
      const vmid = parseParams(vmidParam, c.req.param('vmid'), 'vmid');
      const q = parseParams(listQuery.pick({ cluster: true }), c.req.query(), 'query');
      const cluster = clusterOf(q.cluster);
      const e = plane.state.guest(cluster, vmid);
      if (!e) throw notFound(`guest ${vmid} is not in cluster "${cluster}"`);
      return c.json({ data: guestJson(e, plane.freshness('proxmox', cluster)), meta: meta(cluster) });
    })
    .post('/vms/:vmid/:action', async (c) => {
      assertRole(c, 'operator');
      const vmid = parseParams(vmidParam, c.req.param('vmid'), 'vmid');
      const action = parseParams(z.enum(POWER_ACTIONS, { message: `action must be one of ${POWER_ACTIONS.join(', ')}` }), c.req.param('action'), 'action');
      const q = parseParams(listQuery.pick({ cluster: true }), c.req.query(), 'query');
      const idempotencyKey = parseParams(idempotencyKeyHeader, c.req.header('idempotency-key'), 'Idempotency-Key');
      const body = await parseJsonBody(c, powerBody);
      const { record, duplicate } = await submitPower(
        { plane, limiter, acceptTimeoutMs, timeoutMs, log },
        { principal: c.get('principal')!, idempotencyKey, correlationId: body.correlationId, requestId: c.get('requestId'), via: 'rest' },
        { cluster: q.cluster, vmid, action },
      );
      c.header('Location', `/api/commands/${record.command!.id}`);
      return c.json({ data: commandJson(record), duplicate }, duplicate ? 200 : 202);
    })
    .get('/storage', (c) => {
      assertRole(c, 'viewer');
      const q = parseParams(listQuery, c.req.query(), 'query');
      const cluster = clusterOf(q.cluster);
      const f = plane.freshness('proxmox', cluster);
      const data = plane.state
        .list('storage', { domain: 'proxmox', scope: cluster })
        .map((e) => storageJson(e, f))
        .filter((s) => !q.node || s.node === q.node)
        .sort((a, b) => a.id.localeCompare(b.id));
      return c.json({ data, meta: meta(cluster) });
    })
    .get('/cluster/status', (c) => {
      assertRole(c, 'viewer');
      const q = parseParams(listQuery.pick({ cluster: true }), c.req.query(), 'query');
      const cluster = clusterOf(q.cluster);
      const status = plane.state.get('cluster', 'proxmox', cluster, cluster)?.value as ClusterStatus | undefined;
      const guests = plane.state.guests(cluster).map((e) => e.value as Guest);
      const nodes = plane.state.list('node', { domain: 'proxmox', scope: cluster });
      const f = plane.freshness('proxmox', cluster);
      const health = plane.health().clusters.find((h) => h.id === cluster);
      if (!status && guests.length === 0 && nodes.length === 0 && !health) throw notFound(`no data for cluster "${cluster}" yet: is the proxmox-adapter running?`);
      return c.json({
        data: {
          cluster,
          name: status?.name ?? cluster,
          standalone: status?.standalone ?? false,
          quorate: status?.quorate ?? false,
          version: status?.version ?? 0,
          upstreamVersion: status?.upstreamVersion ?? '',
          demo: status?.demo ?? plane.o.demo,
          nodes: status?.nodes ?? [],
          counts: {
            nodes: nodes.length,
            nodesOnline: nodes.filter((n) => (n.value as { status: string }).status === 'online').length,
            guests: guests.length,
            running: guests.filter((g) => g.status === 'running').length,
            stopped: guests.filter((g) => g.status === 'stopped').length,
            paused: guests.filter((g) => g.qmpstatus === 'paused').length,
            locked: guests.filter((g) => g.lock).length,
          },
          upstream: health?.upstream ?? null,
          lastSeen: f.lastSeenMs ? new Date(f.lastSeenMs).toISOString() : null,
          stale: f.stale,
        },
      });
    });
}

export { badRequest };
