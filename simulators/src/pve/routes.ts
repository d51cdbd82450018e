import type { Identity } from './auth.js';
import type { ClusterModel, GuestType } from './cluster-model.js';
import {
  clusterResourceRows,
  clusterStatus,
  nodeList,
  nodeStatus,
  nodeStorage,
  RESOURCE_TYPES,
  storageConfig,
  storageStatus,
  type ClusterViewContext,
  type ResourceType,
} from './cluster-views.js';
import { paramError, serverError } from './errors.js';
import { lxcRow, lxcStatus, qemuRow, qemuStatus, type GuestViewOptions } from './guest-views.js';
import { splitList, std, type ParamSchema, type Params } from './params.js';
import { LXC_ACTIONS, QEMU_ACTIONS, type PowerAction, type PowerActions } from './power.js';
import { SlicedList } from './sliced-list.js';
import { ownsTask, queryTasks, taskStatusView } from './task-views.js';
import type { SnapshotActions } from './snapshots.js';
import type { TaskRegistry } from './tasks.js';
import { guestPageRoutes } from './guest-page-routes.js';
import { decodeUpid } from './upid.js';

/**
 * The API methods the simulator implements, each declared like a PVE API method: path,
 * parameters (from the apidoc), permission check, whether pveproxy forwards it to `{node}`, and
 * the handler. Anything else answers `501 Method '… …' not implemented`.
 */
export interface ApiContext extends ClusterViewContext {
  tasks: TaskRegistry;
  power: PowerActions;
  snapshots: SnapshotActions;
}

export interface HandlerArgs {
  params: Params;
  who: Identity;
  ctx: ApiContext;
  /** Extra `total` attribute of the response (task lists and logs). */
  setTotal(total: number): void;
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path template below /api2/json, with `{param}` segments. */
  path: string;
  params: ParamSchema;
  /** `permissions => { check => ['perm', path, privs(, 'any', 1)] }`; none means `user => 'all'`. */
  perm?: { path: string; privs: readonly string[]; any?: boolean };
  /** pveproxy forwards the call to the node named by `{node}`. */
  proxied?: boolean;
  /**
   * Built from the broadcast status only, so an answer can be reused until that changes (pmxcfs
   * caches its dump for a while too). Keeps /cluster/resources cheap on big clusters.
   */
  cacheable?: boolean;
  handler: (a: HandlerArgs) => unknown;
}

const viewOptions = (ctx: ApiContext): GuestViewOptions => ({ release: ctx.release, stringVmid: ctx.stringVmid, now: Date.now() });

const configPath = (type: GuestType, node: string, vmid: number) =>
  `nodes/${node}/${type === 'qemu' ? 'qemu-server' : 'lxc'}/${vmid}.conf`;

function guestOr500(model: ClusterModel, node: string, type: GuestType, vmid: number) {
  const g = model.guestOn(node, type, vmid);
  if (!g) throw serverError(`Configuration file '${configPath(type, node, vmid)}' does not exist`);
  return g;
}

const POWER_PARAMS: Record<GuestType, Record<PowerAction, ParamSchema>> = {
  qemu: {
    start: {
      node: std.node,
      vmid: std.vmid,
      skiplock: std.skiplock,
      timeout: std.timeout,
      'force-cpu': { type: 'string', optional: true },
      machine: { type: 'string', optional: true },
      migratedfrom: { type: 'string', format: 'pve-node', optional: true },
      migration_network: { type: 'string', optional: true },
      migration_type: { type: 'string', enum: ['secure', 'insecure'], optional: true },
      'nets-host-mtu': { type: 'string', optional: true },
      stateuri: { type: 'string', optional: true },
      targetstorage: { type: 'string', optional: true },
      'with-conntrack-state': { type: 'boolean', optional: true },
    },
    stop: {
      node: std.node,
      vmid: std.vmid,
      skiplock: std.skiplock,
      timeout: std.timeout,
      keepActive: { type: 'boolean', optional: true },
      migratedfrom: { type: 'string', format: 'pve-node', optional: true },
      'overrule-shutdown': { type: 'boolean', optional: true },
    },
    shutdown: {
      node: std.node,
      vmid: std.vmid,
      skiplock: std.skiplock,
      timeout: std.timeout,
      forceStop: { type: 'boolean', optional: true },
      keepActive: { type: 'boolean', optional: true },
    },
    reboot: { node: std.node, vmid: std.vmid, timeout: std.timeout },
    reset: { node: std.node, vmid: std.vmid, skiplock: std.skiplock },
    suspend: {
      node: std.node,
      vmid: std.vmid,
      skiplock: std.skiplock,
      todisk: { type: 'boolean', optional: true },
      statestorage: { type: 'string', optional: true, requires: 'todisk' },
    },
    resume: { node: std.node, vmid: std.vmid, skiplock: std.skiplock, nocheck: { type: 'boolean', optional: true } },
  },
  lxc: {
    start: { node: std.node, vmid: std.vmid, skiplock: std.skiplock, debug: { type: 'boolean', optional: true } },
    stop: { node: std.node, vmid: std.vmid, skiplock: std.skiplock, 'overrule-shutdown': { type: 'boolean', optional: true } },
    shutdown: { node: std.node, vmid: std.vmid, timeout: std.timeout, forceStop: { type: 'boolean', optional: true } },
    reboot: { node: std.node, vmid: std.vmid, timeout: std.timeout },
    reset: {}, // not an LXC method; never routed
    suspend: { node: std.node, vmid: std.vmid },
    resume: { node: std.node, vmid: std.vmid },
  },
};

function powerRoutes(type: GuestType, actions: readonly PowerAction[]): Route[] {
  return actions.map((action) => ({
    method: 'POST' as const,
    path: `/nodes/{node}/${type}/{vmid}/status/${action}`,
    params: POWER_PARAMS[type][action],
    perm: { path: '/vms/{vmid}', privs: ['VM.PowerMgmt'] },
    proxied: true,
    handler: ({ params, who, ctx }) =>
      ctx.power.request({ node: params.node as string, type, vmid: params.vmid as number, action, params, identity: who }),
  }));
}

function parseTask(ctx: ApiContext, node: string, upid: string) {
  if (!decodeUpid(upid)) throw paramError({ upid: 'unable to parse worker upid' });
  const task = ctx.tasks.get(upid);
  // Task logs live on the node that ran the task; another node has no such file.
  return task && task.node === node ? task : undefined;
}

export const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/version',
    params: {},
    handler: ({ ctx }) => ({ version: ctx.release.version, release: ctx.release.release, repoid: ctx.release.repoid }),
  },
  {
    method: 'GET',
    path: '/cluster/status',
    params: {},
    perm: { path: '/', privs: ['Sys.Audit'] },
    cacheable: true,
    handler: ({ ctx }) => clusterStatus(ctx),
  },
  {
    method: 'GET',
    path: '/cluster/resources',
    params: { type: { type: 'string', enum: RESOURCE_TYPES, optional: true } },
    cacheable: true,
    // Written a slice of rows at a time, the other requests served in between (see SlicedList).
    handler: ({ params, who, ctx }) => new SlicedList(() => clusterResourceRows(ctx, who, params.type as ResourceType | undefined)),
  },
  { method: 'GET', path: '/nodes', params: {}, cacheable: true, handler: ({ who, ctx }) => nodeList(ctx, who) },
  {
    method: 'GET',
    path: '/nodes/{node}/status',
    params: { node: std.node },
    perm: { path: '/nodes/{node}', privs: ['Sys.Audit'] },
    proxied: true,
    handler: ({ params, ctx }) => nodeStatus(ctx, ctx.model.node(params.node as string)!),
  },
  {
    method: 'GET',
    path: '/nodes/{node}/qemu',
    params: { node: std.node, full: { type: 'boolean', optional: true } },
    proxied: true,
    handler: ({ params, who, ctx }) => {
      const o = viewOptions(ctx);
      return [...ctx.model.guestsOn(params.node as string)]
        .filter((g) => g.type === 'qemu' && who.can(`/vms/${g.vmid}`, ['VM.Audit']))
        .map((g) => qemuRow(ctx.model, g, params.full === true, o));
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/lxc',
    params: { node: std.node },
    proxied: true,
    handler: ({ params, who, ctx }) => {
      const o = viewOptions(ctx);
      return [...ctx.model.guestsOn(params.node as string)]
        .filter((g) => g.type === 'lxc' && who.can(`/vms/${g.vmid}`, ['VM.Audit']))
        .map((g) => lxcRow(ctx.model, g, o));
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/status/current',
    params: { node: std.node, vmid: std.vmid },
    perm: { path: '/vms/{vmid}', privs: ['VM.Audit'] },
    proxied: true,
    handler: ({ params, ctx }) =>
      qemuStatus(ctx.model, guestOr500(ctx.model, params.node as string, 'qemu', params.vmid as number), viewOptions(ctx)),
  },
  {
    method: 'GET',
    path: '/nodes/{node}/lxc/{vmid}/status/current',
    params: { node: std.node, vmid: std.vmid },
    perm: { path: '/vms/{vmid}', privs: ['VM.Audit'] },
    proxied: true,
    handler: ({ params, ctx }) =>
      lxcStatus(ctx.model, guestOr500(ctx.model, params.node as string, 'lxc', params.vmid as number), viewOptions(ctx)),
  },
  ...powerRoutes('qemu', QEMU_ACTIONS),
  ...powerRoutes('lxc', LXC_ACTIONS),
  {
    method: 'GET',
    path: '/nodes/{node}/tasks',
    params: {
      node: std.node,
      start: { type: 'integer', minimum: 0, optional: true },
      limit: { type: 'integer', minimum: 0, optional: true },
      userfilter: { type: 'string', optional: true },
      typefilter: { type: 'string', optional: true },
      vmid: { ...std.vmid, optional: true },
      errors: { type: 'boolean', optional: true },
      source: { type: 'string', enum: ['archive', 'active', 'all'], optional: true },
      since: { type: 'integer', optional: true },
      until: { type: 'integer', optional: true },
      statusfilter: { type: 'string', format: 'pve-task-status-type-list', optional: true },
    },
    proxied: true,
    handler: ({ params: p, who, ctx, setTotal }) => {
      const node = p.node as string;
      const { rows, total } = queryTasks(
        ctx.tasks.onNode(node),
        {
          start: p.start as number | undefined,
          limit: p.limit as number | undefined,
          userfilter: p.userfilter as string | undefined,
          typefilter: p.typefilter as string | undefined,
          vmid: p.vmid as number | undefined,
          errors: p.errors as boolean | undefined,
          source: p.source as 'archive' | 'active' | 'all' | undefined,
          since: p.since as number | undefined,
          until: p.until as number | undefined,
          statusfilter: typeof p.statusfilter === 'string' ? splitList(p.statusfilter) : undefined,
        },
        { userid: who.userid, auditor: who.can(`/nodes/${node}`, ['Sys.Audit']) },
      );
      setTotal(total);
      return rows;
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/status',
    params: { node: std.node, upid: { type: 'string' } },
    proxied: true,
    handler: ({ params, who, ctx }) => {
      const node = params.node as string;
      const task = parseTask(ctx, node, params.upid as string);
      if (!task) throw paramError({ upid: 'no such task' });
      if (!ownsTask(task, who.userid)) who.check(`/nodes/${node}`, ['Sys.Audit']);
      return taskStatusView(task);
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/log',
    params: {
      node: std.node,
      upid: { type: 'string' },
      start: { type: 'integer', minimum: 0, optional: true },
      limit: { type: 'integer', minimum: 0, optional: true },
      download: { type: 'boolean', optional: true },
    },
    proxied: true,
    handler: ({ params, who, ctx, setTotal }) => {
      const node = params.node as string;
      const upid = params.upid as string;
      const task = parseTask(ctx, node, upid);
      if (!ownsTask(decodeUpid(upid)!, who.userid)) who.check(`/nodes/${node}`, ['Sys.Audit']);
      if (params.download) throw serverError('download of task logs is not simulated; read it with start/limit');
      if (!task) {
        setTotal(1);
        return [{ n: 1, t: 'unable to open file - No such file or directory' }];
      }
      // pve-common `dump_logfile`: `n` counts from 1, limit 0 reads to the end, never an empty page.
      const start = (params.start as number | undefined) ?? 0;
      const limit = (params.limit as number | undefined) ?? 50;
      const lines = task.log.map((t, i) => ({ n: i + 1, t })).slice(start, limit === 0 ? undefined : start + limit);
      if (task.log.length === 0) {
        setTotal(1);
        return [{ n: 1, t: 'no content' }];
      }
      setTotal(task.log.length);
      return lines;
    },
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/tasks/{upid}',
    params: { node: std.node, upid: { type: 'string' } },
    proxied: true,
    handler: ({ params, who, ctx }) => {
      const node = params.node as string;
      const task = parseTask(ctx, node, params.upid as string);
      if (!task) throw paramError({ upid: 'no such task' });
      if (!ownsTask(task, who.userid)) who.check(`/nodes/${node}`, ['Sys.Modify']);
      ctx.tasks.abort(task.upid);
      return null;
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/storage',
    params: {
      node: std.node,
      content: { type: 'string', optional: true },
      enabled: { type: 'boolean', optional: true },
      format: { type: 'boolean', optional: true },
      storage: { type: 'string', optional: true },
      target: { type: 'string', format: 'pve-node', optional: true },
    },
    proxied: true,
    handler: ({ params, who, ctx }) => {
      const res = nodeStorage(ctx, who, params.node as string, {
        content: params.content as string | undefined,
        enabled: params.enabled as boolean | undefined,
        storage: params.storage as string | undefined,
      });
      if ('unknownStorage' in res) throw paramError({ storage: 'No such storage.' });
      return res;
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/storage/{storage}/status',
    params: { node: std.node, storage: { type: 'string' } },
    perm: { path: '/storage/{storage}', privs: ['Datastore.Audit', 'Datastore.AllocateSpace'], any: true },
    proxied: true,
    handler: ({ params, ctx }) => {
      const s = storageStatus(ctx, params.node as string, params.storage as string);
      if (!s) throw paramError({ storage: 'No such storage.' });
      return s;
    },
  },
  {
    method: 'GET',
    path: '/storage',
    params: {
      type: {
        type: 'string',
        optional: true,
        enum: ['btrfs', 'cephfs', 'cifs', 'dir', 'esxi', 'iscsi', 'iscsidirect', 'lvm', 'lvmthin', 'nfs', 'pbs', 'rbd', 'zfs', 'zfspool'],
      },
    },
    handler: ({ params, who, ctx }) => storageConfig(ctx, who, params.type as string | undefined),
  },
  ...guestPageRoutes(),
];

/** pve's `find_handler`: the route for a method and path, with the `{param}` values. */
export function findRoute(
  routes: readonly Route[],
  method: string,
  relPath: string,
): { route: Route; uriParams: Record<string, string> } | undefined {
  const parts = relPath.split('/').filter(Boolean);
  for (const route of routes) {
    if (route.method !== method) continue;
    const tpl = route.path.split('/').filter(Boolean);
    if (tpl.length !== parts.length) continue;
    const uriParams: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < tpl.length && ok; i++) {
      const t = tpl[i]!;
      if (t.startsWith('{')) uriParams[t.slice(1, -1)] = parts[i]!;
      else ok = t === parts[i];
    }
    if (ok) return { route, uriParams };
  }
  return undefined;
}
