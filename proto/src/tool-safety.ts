/**
 * How much a tool call may change, from its MCP annotations (MCP spec, ToolAnnotations), with
 * the spec's defaults: a tool that does not say `readOnlyHint: true` may change its environment,
 * and `destructiveHint` defaults to true, so an unannotated tool counts as destructive. Only
 * `destructiveHint: false` makes a changing tool a mere `change`.
 *
 * Annotations are hints from the server, not guarantees: they decide whether a call waits for
 * a person, never whether a call is trusted more than its server.
 *
 * Imports nothing but types, so the dashboard can use it too.
 */
import { GUEST_ACTIONS, type GuestActionToken, type SafetyClass } from './guest-actions.js';

export interface ToolAnnotationHints {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** `read` never changes anything; the others as the guest actions' SafetyClass. */
export type ToolSafety = 'read' | SafetyClass;

export function toolSafety(annotations?: ToolAnnotationHints | null): ToolSafety {
  if (annotations?.readOnlyHint === true) return 'read';
  return annotations?.destructiveHint === false ? 'change' : 'destructive';
}

/** A guest action's safety, from the one table (proto/src/guest-actions.ts). */
export function guestActionSafety(token: GuestActionToken): SafetyClass {
  return GUEST_ACTIONS[token].safety;
}
