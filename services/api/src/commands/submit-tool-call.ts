import type { UpstreamServer } from '@molten/contracts';
import { ApiError, badRequest, notFound } from '../errors.js';
import { logSubmitted, takeRateToken, type SubmitCaller, type SubmitDeps, type Submitted } from './submit.js';

export type ValidateToolArguments = (
  schema: unknown,
  args: unknown,
) => { ok: true } | { ok: false; errors: { path: string; message: string }[] };

export interface ToolCallRequest {
  serverId: string;
  tool: string;
  arguments: Record<string, unknown>;
  timeoutSeconds?: number;
}

/** Finds an upstream server by its id; 404 naming where the list is. */
export function findServer(deps: Pick<SubmitDeps, 'plane'>, id: string): UpstreamServer {
  const e = deps.plane.state.list('server').find((s) => (s.value as UpstreamServer).id === id);
  if (!e) throw notFound(`no server "${id}"; GET /api/servers lists them`);
  return e.value as UpstreamServer;
}

/**
 * Checks a tool call (server, tool, capability, arguments against the tool's input schema,
 * the server's health) and submits it as a tool-call command. `argumentsField` names the
 * arguments as the caller's surface spells them ("arguments" in REST, "tool_call.arguments_json"
 * in gRPC), so a 400 points at the right field.
 */
export async function submitToolCall(
  deps: SubmitDeps & { validateToolArguments: ValidateToolArguments; toolTimeoutMs: number; argumentsField?: string },
  caller: SubmitCaller,
  req: ToolCallRequest,
): Promise<Submitted> {
  const { plane } = deps;
  const server = findServer(deps, req.serverId);
  const tool = server.tools.find((t) => t.name === req.tool);
  if (!tool) throw notFound(`server "${server.id}" has no tool "${req.tool}"`);
  const cap = server.capabilities.find((x) => x.action === 'tool-call');
  if (!cap?.available) throw new ApiError(409, 'unsupported', `tools of "${server.id}" cannot be called through Molten${cap?.reason ? `: ${cap.reason}` : ''}`);
  let schema: unknown = { type: 'object' };
  try {
    schema = JSON.parse(tool.inputSchemaJson || '{"type":"object"}');
  } catch {
    // A server sent a broken schema: let the server judge the arguments.
  }
  const check = deps.validateToolArguments(schema, req.arguments);
  if (!check.ok) {
    const first = check.errors[0]!;
    const base = deps.argumentsField ?? 'arguments';
    throw badRequest(
      `${base}${first.path ? `.${first.path.replace(/^\//, '').replaceAll('/', '.')}` : ''}`,
      `the arguments do not match the input schema of ${tool.name}: ${check.errors.map((e) => `${e.path || '(root)'} ${e.message}`).join('; ')}`,
      { errors: check.errors },
    );
  }
  takeRateToken(deps.limiter, caller.principal, 'calls');
  const now = plane.serverJson(server, false);
  if (now.status === 'down' || now.status === 'auth_failed') {
    throw new ApiError(503, 'upstream_unavailable', `${server.name} is ${now.status.replace('_', ' ')}: ${now.statusReason}`, now.remedy ? { remedy: now.remedy } : undefined);
  }
  const submitted = await plane.submit({
    domain: server.domain,
    scope: server.scope,
    action: 'tool-call',
    payload: { $case: 'toolCall', value: { serverId: server.id, tool: tool.name, argumentsJson: JSON.stringify(req.arguments) } },
    actor: { kind: 'user', name: caller.principal.name, role: caller.principal.role },
    correlationId: caller.correlationId,
    idempotencyKey: caller.idempotencyKey,
    acceptTimeoutMs: deps.acceptTimeoutMs,
    timeoutMs: (req.timeoutSeconds ?? deps.toolTimeoutMs / 1000) * 1000,
  });
  logSubmitted(deps, caller, submitted);
  return submitted;
}
