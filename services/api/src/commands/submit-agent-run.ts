import type { Agent } from '@molten/contracts';
import { ApiError, notFound } from '../errors.js';
import { logSubmitted, takeRateToken, type SubmitCaller, type SubmitDeps, type Submitted } from './submit.js';

export interface AgentRunRequest {
  agentId: string;
  message: string;
  sessionKey?: string;
  /** Empty or undefined: "default" when there is one, else the only gateway known. */
  gateway?: string;
  timeoutSeconds?: number;
}

/** Checks an agent run (gateway, agent, the gateway's health) and submits it as an agent-run command. */
export async function submitAgentRun(deps: SubmitDeps & { agentTimeoutMs: number }, caller: SubmitCaller, req: AgentRunRequest): Promise<Submitted> {
  const { plane } = deps;
  const gateways = plane.state.list('gateway', { domain: 'moltbot' }).map((e) => e.address.scope);
  const gateway = req.gateway || (gateways.includes('default') || gateways.length === 0 ? 'default' : gateways[0]!);
  const known = plane.state.list('agent', { domain: 'moltbot', scope: gateway });
  if (known.length > 0 && !known.some((e) => (e.value as Agent).id === req.agentId)) {
    throw notFound(`gateway "${gateway}" has no agent "${req.agentId}"; known: ${known.map((e) => (e.value as Agent).id).join(', ')}`);
  }
  takeRateToken(deps.limiter, caller.principal, 'runs');
  const down = plane.unavailable('moltbot', gateway);
  if (down) throw new ApiError(503, 'upstream_unavailable', down.message, down.remedy ? { remedy: down.remedy } : undefined);
  const timeoutMs = (req.timeoutSeconds ?? deps.agentTimeoutMs / 1000) * 1000;
  const submitted = await plane.submit({
    domain: 'moltbot',
    scope: gateway,
    action: 'agent-run',
    payload: { $case: 'agentRun', value: { agentId: req.agentId, message: req.message, sessionKey: req.sessionKey ?? '', timeoutS: Math.round(timeoutMs / 1000) } },
    actor: { kind: 'user', name: caller.principal.name, role: caller.principal.role },
    correlationId: caller.correlationId,
    idempotencyKey: caller.idempotencyKey,
    acceptTimeoutMs: deps.acceptTimeoutMs,
    timeoutMs: timeoutMs + 10_000,
  });
  logSubmitted(deps, caller, submitted);
  return submitted;
}
