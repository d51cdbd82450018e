import { powerActionToken, type Guest, type PowerActionName } from '@molten/contracts';
import { ApiError, notFound } from '../errors.js';
import { resolveCluster } from './cluster.js';
import { logSubmitted, takeRateToken, type SubmitCaller, type SubmitDeps, type Submitted } from './submit.js';

export interface PowerRequest {
  /** Empty or undefined: the default cluster. */
  cluster?: string;
  vmid: number;
  action: PowerActionName;
}

/**
 * Validates a power action against what the api knows (guest, template, a command already in
 * flight, the upstream's health) and submits it. REST and gRPC both call this, with input
 * already checked for shape; errors are ApiErrors that each surface maps to its own codes.
 */
export async function submitPower(deps: SubmitDeps & { timeoutMs: number }, caller: SubmitCaller, req: PowerRequest): Promise<Submitted> {
  const { plane } = deps;
  takeRateToken(deps.limiter, caller.principal, 'actions');
  const cluster = resolveCluster(plane, req.cluster);
  const { vmid, action } = req;
  const entry = plane.state.guest(cluster, vmid);
  if (!entry && plane.state.guests(cluster).length > 0) throw notFound(`guest ${vmid} is not in cluster "${cluster}"`);
  const guest = entry?.value as Guest | undefined;
  if (guest?.template) throw new ApiError(409, 'conflict', `${vmid} is a template; templates cannot be started or stopped`, { vmid });
  const open = plane.commands
    .open()
    .find((r) => r.command!.scope === cluster && r.command!.payload?.$case === 'power' && r.command!.payload.value.vmid === vmid);
  if (open && (!caller.idempotencyKey || open.command!.idempotencyKey !== caller.idempotencyKey)) {
    throw new ApiError(409, 'conflict', `guest ${vmid} already has a command in progress (${open.command!.action}, ${open.command!.id}); wait for it to finish`, {
      commandId: open.command!.id,
    });
  }
  const down = plane.unavailable('proxmox', cluster);
  if (down) throw new ApiError(503, 'upstream_unavailable', down.message, down.remedy ? { remedy: down.remedy } : undefined);

  const submitted = await plane.submit({
    domain: 'proxmox',
    scope: cluster,
    action: powerActionToken(action),
    payload: { $case: 'power', value: { vmid, action, node: guest?.node ?? '', type: guest?.type ?? '' } },
    actor: { kind: 'user', name: caller.principal.name, role: caller.principal.role },
    correlationId: caller.correlationId,
    idempotencyKey: caller.idempotencyKey,
    acceptTimeoutMs: deps.acceptTimeoutMs,
    timeoutMs: deps.timeoutMs,
  });
  logSubmitted(deps, caller, submitted);
  return submitted;
}
