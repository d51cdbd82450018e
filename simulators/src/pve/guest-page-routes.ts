import type { GuestType } from './cluster-model.js';
import { paramError, serverError } from './errors.js';
import { guestConfig } from './guest-config.js';
import { lxcInterfaces, qgaNetworkInterfaces } from './guest-network.js';
import { haStatusCurrent } from './ha-status.js';
import { std, type ParamSchema } from './params.js';
import type { ApiContext, Route } from './routes.js';
import { GUEST_TIMEFRAMES, NODE_TIMEFRAMES_PVE9, guestRrdData, nodeRrdData, type Cf, type Timeframe } from './rrddata.js';

/**
 * What a guest's page reads and does beyond the power actions, declared from Proxmox's API schema
 * (pve-docs `api-viewer/apidata.js`): rrddata, config, the agent's and a container's network
 * interfaces, snapshots (list, create, config, rollback, delete) and the HA manager's status.
 */
const configPath = (type: GuestType, node: string, vmid: number) =>
  `nodes/${node}/${type === 'qemu' ? 'qemu-server' : 'lxc'}/${vmid}.conf`;

function guestOr500(ctx: ApiContext, node: string, type: GuestType, vmid: number) {
  const g = ctx.model.guestOn(node, type, vmid);
  if (!g) throw serverError(`Configuration file '${configPath(type, node, vmid)}' does not exist`);
  return g;
}

const cf = { type: 'string', enum: ['AVERAGE', 'MAX'], optional: true } as const;

function perGuestType(type: GuestType): Route[] {
  const vm = { node: std.node, vmid: std.vmid } as const;
  const snap = { ...vm, snapname: std.snapname } as const;
  const str = (p: Record<string, unknown>, k: string) => p[k] as string;
  const num = (p: Record<string, unknown>, k: string) => p[k] as number;
  const createParams: ParamSchema =
    type === 'qemu'
      ? { ...snap, vmstate: { type: 'boolean', optional: true }, description: { type: 'string', optional: true } }
      : { ...snap, description: { type: 'string', optional: true } };
  return [
    {
      method: 'GET',
      path: `/nodes/{node}/${type}/{vmid}/rrddata`,
      params: { ...vm, timeframe: { type: 'string', enum: GUEST_TIMEFRAMES }, cf },
      perm: { path: '/vms/{vmid}', privs: ['VM.Audit'] },
      proxied: true,
      handler: ({ params, ctx }) =>
        guestRrdData(guestOr500(ctx, str(params, 'node'), type, num(params, 'vmid')), {
          timeframe: params.timeframe as Timeframe,
          cf: (params.cf as Cf | undefined) ?? 'AVERAGE',
          release: ctx.release,
        }),
    },
    {
      method: 'GET',
      path: `/nodes/{node}/${type}/{vmid}/config`,
      params: { ...vm, current: { type: 'boolean', optional: true }, snapshot: { type: 'string', format: 'pve-configid', optional: true } },
      perm: { path: '/vms/{vmid}', privs: ['VM.Audit'] },
      proxied: true,
      handler: ({ params, ctx }) => {
        if (params.snapshot !== undefined && params.current) {
          const msg = "cannot use 'snapshot' parameter with 'current'";
          throw paramError({ snapshot: msg, current: msg });
        }
        const g = guestOr500(ctx, str(params, 'node'), type, num(params, 'vmid'));
        if (params.snapshot !== undefined) return ctx.snapshots.config(g.node, type, g.vmid, str(params, 'snapshot'));
        return guestConfig(ctx.model, g, ctx.release);
      },
    },
    {
      method: 'GET',
      path: `/nodes/{node}/${type}/{vmid}/snapshot`,
      params: vm,
      perm: { path: '/vms/{vmid}', privs: ['VM.Audit'] },
      proxied: true,
      handler: ({ params, ctx }) => {
        const g = guestOr500(ctx, str(params, 'node'), type, num(params, 'vmid'));
        return ctx.snapshots.list(g.node, type, g.vmid, String(guestConfig(ctx.model, g, ctx.release).digest));
      },
    },
    {
      method: 'POST',
      path: `/nodes/{node}/${type}/{vmid}/snapshot`,
      params: createParams,
      perm: { path: '/vms/{vmid}', privs: ['VM.Snapshot'] },
      proxied: true,
      handler: ({ params, who, ctx }) =>
        ctx.snapshots.create({
          node: str(params, 'node'),
          type,
          vmid: num(params, 'vmid'),
          snapname: str(params, 'snapname'),
          vmstate: params.vmstate === true,
          description: params.description as string | undefined,
          identity: who,
        }),
    },
    {
      method: 'GET',
      path: `/nodes/{node}/${type}/{vmid}/snapshot/{snapname}`,
      params: snap,
      handler: () => [{ cmd: 'rollback' }, { cmd: 'config' }],
    },
    {
      method: 'GET',
      path: `/nodes/{node}/${type}/{vmid}/snapshot/{snapname}/config`,
      params: snap,
      perm: { path: '/vms/{vmid}', privs: ['VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.Audit'], any: true },
      proxied: true,
      handler: ({ params, ctx }) => ctx.snapshots.config(str(params, 'node'), type, num(params, 'vmid'), str(params, 'snapname')),
    },
    {
      method: 'POST',
      path: `/nodes/{node}/${type}/{vmid}/snapshot/{snapname}/rollback`,
      params: { ...snap, start: { type: 'boolean', optional: true } },
      perm: { path: '/vms/{vmid}', privs: ['VM.Snapshot', 'VM.Snapshot.Rollback'], any: true },
      proxied: true,
      handler: ({ params, who, ctx }) =>
        ctx.snapshots.rollback({
          node: str(params, 'node'),
          type,
          vmid: num(params, 'vmid'),
          snapname: str(params, 'snapname'),
          start: params.start === true,
          identity: who,
        }),
    },
    {
      method: 'DELETE',
      path: `/nodes/{node}/${type}/{vmid}/snapshot/{snapname}`,
      params: { ...snap, force: { type: 'boolean', optional: true } },
      perm: { path: '/vms/{vmid}', privs: ['VM.Snapshot'] },
      proxied: true,
      handler: ({ params, who, ctx }) =>
        ctx.snapshots.remove({
          node: str(params, 'node'),
          type,
          vmid: num(params, 'vmid'),
          snapname: str(params, 'snapname'),
          force: params.force === true,
          identity: who,
        }),
    },
  ];
}

export function guestPageRoutes(): Route[] {
  return [
    ...perGuestType('qemu'),
    ...perGuestType('lxc'),
    {
      method: 'GET',
      path: '/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces',
      params: { node: std.node, vmid: std.vmid },
      // Decided per release in the handler: VM.Monitor before qemu-server 9.0.3, then
      // VM.GuestAgent.Audit or VM.GuestAgent.Unrestricted.
      proxied: true,
      handler: ({ params, who, ctx }) => {
        const vmid = params.vmid as number;
        if (ctx.release.guestAgentPrivileges) who.check(`/vms/${vmid}`, ['VM.GuestAgent.Audit', 'VM.GuestAgent.Unrestricted'], true);
        else who.check(`/vms/${vmid}`, ['VM.Monitor']);
        return qgaNetworkInterfaces(guestOr500(ctx, params.node as string, 'qemu', vmid));
      },
    },
    {
      method: 'GET',
      path: '/nodes/{node}/lxc/{vmid}/interfaces',
      params: { node: std.node, vmid: std.vmid },
      perm: { path: '/vms/{vmid}', privs: ['VM.Audit'] },
      proxied: true,
      handler: ({ params, ctx }) => lxcInterfaces(guestOr500(ctx, params.node as string, 'lxc', params.vmid as number)),
    },
    {
      method: 'GET',
      path: '/nodes/{node}/rrddata',
      params: { node: std.node, timeframe: { type: 'string', enum: NODE_TIMEFRAMES_PVE9 }, cf },
      perm: { path: '/nodes/{node}', privs: ['Sys.Audit'] },
      proxied: true,
      handler: ({ params, ctx }) => {
        const timeframe = params.timeframe as Timeframe;
        if (timeframe === 'decade' && !ctx.release.pve9Metrics) {
          throw paramError({ timeframe: "value 'decade' does not have a value in the enumeration 'hour, day, week, month, year'" });
        }
        return nodeRrdData(ctx.metrics, ctx.model.node(params.node as string)!, {
          timeframe,
          cf: (params.cf as Cf | undefined) ?? 'AVERAGE',
          release: ctx.release,
        });
      },
    },
    {
      method: 'GET',
      path: '/cluster/ha/status/current',
      params: {},
      perm: { path: '/', privs: ['Sys.Audit'] },
      handler: ({ ctx }) => haStatusCurrent(ctx.model, ctx.release),
    },
  ];
}
