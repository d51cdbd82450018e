import type { CommandRecord } from '@molten/contracts';
import type { Logger } from '@molten/kit';
import type { Principal } from '../auth/tokens.js';
import type { ControlPlane } from '../control-plane.js';
import { ApiError } from '../errors.js';
import type { RateLimiter } from '../rate-limit.js';

/** Default time limits of tool calls and agent runs, when the caller gives none. */
export const TOOL_TIMEOUT_MS = 60_000;
export const AGENT_TIMEOUT_MS = 300_000;

/** What every command submission needs, whichever surface (REST, gRPC) it came through. */
export interface SubmitDeps {
  plane: ControlPlane;
  limiter: RateLimiter;
  acceptTimeoutMs: number;
  log?: Logger;
}

/** Who asks, and how the request is told apart from a retry of itself. */
export interface SubmitCaller {
  principal: Principal;
  idempotencyKey?: string;
  correlationId?: string;
  /** The request that carried it, for the log line that ties the two together. */
  requestId?: string;
  /** "rest" or "grpc". */
  via: string;
}

export interface Submitted {
  record: CommandRecord;
  duplicate: boolean;
}

/** Takes one token from the caller's bucket; a 429 with Retry-After when it is empty. */
export function takeRateToken(limiter: RateLimiter, principal: Principal, what: string): void {
  const wait = limiter.take(principal.key);
  if (wait) throw new ApiError(429, 'rate_limited', `too many ${what}; try again in ${wait} s`, { retryAfterSeconds: wait }, { 'Retry-After': String(wait) });
}

export function logSubmitted(deps: SubmitDeps, caller: SubmitCaller, s: Submitted): void {
  const c = s.record.command!;
  deps.log?.info(
    { requestId: caller.requestId, commandId: c.id, correlationId: c.correlationId, action: c.action, scope: c.scope, via: caller.via, actor: caller.principal.name, duplicate: s.duplicate },
    s.duplicate ? 'command already submitted with this idempotency key' : 'command submitted',
  );
}
