import type { ToolSafety } from '@molten/contracts';
import type { Role } from '@molten/contracts/rest';

export type PolicyRule = 'allow' | 'ask' | 'deny';

/** MOLTEN_CONFIG's `policy`: server id ("molten" for the guest actions) → tool (action name) → rule. */
export type PolicyTable = Record<string, Record<string, PolicyRule>>;

/** The server id the guest actions (power, suspend/resume, snapshots) go under in the policy. */
export const MOLTEN_SERVER_ID = 'molten';

/**
 * What happens to a call: `deny` (403, for everyone), `ask` (stored as awaiting_approval, not
 * published until an operator approves) or `run`.
 */
export type PolicyDecision = 'deny' | 'ask' | 'run';

export interface PolicyCall {
  serverId: string;
  tool: string;
  safety: ToolSafety;
  role: Role;
}

/**
 * deny refuses everyone. A person (operator) runs everything else: the dashboard confirms
 * destructive actions itself. An agent waits for approval when the rule says ask, or, with no
 * rule, when the call may change anything; allow lets an agent's call run.
 */
export function decide(policy: PolicyTable | undefined, call: PolicyCall): PolicyDecision {
  const rules = policy && own(policy, call.serverId) ? policy[call.serverId] : undefined;
  const rule = rules && own(rules, call.tool) ? rules[call.tool] : undefined;
  if (rule === 'deny') return 'deny';
  if (call.role !== 'agent') return 'run';
  if (rule === 'allow') return 'run';
  if (rule === 'ask') return 'ask';
  return call.safety === 'read' ? 'run' : 'ask';
}

// Names come from outside: never let "__proto__" or "constructor" find an inherited value.
const own = (o: object | undefined, k: string): boolean => !!o && Object.prototype.hasOwnProperty.call(o, k);
