import type { SubmitInput } from '@molten/bus';
import {
  GUEST_ACTIONS,
  guestActionSafety,
  powerActionToken,
  snapshotActionToken,
  snapshotNameProblem,
  suspendResumeToken,
  toolSafety,
  type Agent,
  type CommandRecord,
  type Guest,
  type GuestActionToken,
  type GuestType,
  type ToolSafety,
  type UpstreamServer,
} from '@molten/contracts';
import { toolTarget } from '@molten/contracts/tool-call-words';
import type { ApprovalRequest } from '../approvals/approval-service.js';
import { decide, MOLTEN_SERVER_ID, type PolicyTable } from '../approvals/policy.js';
import type { Logger } from '@molten/kit';
import type { Principal } from '../auth/tokens.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { MAX_JSON_DEPTH, valueDeeperThan } from '../body-limits.js';
import type { Liveness } from '../plane/liveness.js';
import type { Projection } from '../plane/projection.js';
import type { AgentRunRequest, Commands, PowerRequest, SnapshotRequest, SubmitCaller, Submitted, SuspendResumeRequest, ToolCallRequest } from '../ports.js';
import type { RateLimiter } from '../rate-limit.js';
import { clusterResolver } from '../reads.js';
import { guestVmid } from '../state/commands-view.js';

/** What makes two submissions the same request, whatever their time or correlation id. */
function requestDigest(c: { domain: string; scope: string; action: string; payload?: unknown }): string {
  return JSON.stringify([c.domain, c.scope, c.action, c.payload]);
}

/** A guest action in the words an approval shows ("hard stop plex (VM 200) on pve2"). */
export function guestActionWords(token: GuestActionToken, where: string, snapshot = '', todisk = false): string {
  switch (token) {
    case 'vm-start':
      return `start ${where}`;
    case 'vm-stop':
      return `hard stop ${where}`;
    case 'vm-shutdown':
      return `shut down ${where}`;
    case 'vm-reboot':
      return `reboot ${where}`;
    case 'vm-suspend':
      return `${todisk ? 'hibernate' : 'pause'} ${where}`;
    case 'vm-resume':
      return `resume ${where}`;
    case 'snapshot-create':
      return `take snapshot "${snapshot}" of ${where}`;
    case 'snapshot-rollback':
      return `roll ${where} back to snapshot "${snapshot}"`;
    case 'snapshot-delete':
      return `delete snapshot "${snapshot}" of ${where}`;
  }
}


/** Default time limits of tool calls and agent runs, when the caller gives none. */
export const TOOL_TIMEOUT_MS = 60_000;
export const AGENT_TIMEOUT_MS = 300_000;

export type ValidateToolArguments = (
  schema: unknown,
  args: unknown,
) => { ok: true } | { ok: false; errors: { path: string; message: string }[] };

export interface CommandServiceDeps {
  projection: Projection;
  liveness: Liveness;
  defaultCluster(): string;
  /** Stores and publishes a command. */
  submit(input: SubmitInput): Promise<{ record: CommandRecord; duplicate: boolean }>;
  /** One limiter for REST and gRPC: a token's budget of actions is the same whichever it uses. */
  limiter: RateLimiter;
  /** How long a command may wait for an adapter to take it. */
  acceptTimeoutMs: number;
  /** A power action's deadline. */
  timeoutMs: number;
  toolTimeoutMs?: number;
  agentTimeoutMs?: number;
  validateToolArguments: ValidateToolArguments;
  /** MOLTEN_CONFIG's policy (server → tool → allow | ask | deny). */
  policy?: PolicyTable;
  /** Puts a call up for an operator's approval (stored, not published). Without it, an asked call is refused. */
  requestApproval?: (req: ApprovalRequest) => Promise<CommandRecord>;
  /**
   * Whether some worker pulls the scope's commands now (one that sends no heartbeat still takes
   * them). Asked only when no adapter's heartbeat serves the scope; without it, or when it fails,
   * the command is accepted and its deadline names the missing adapter.
   */
  commandsPulled?(domain: string, scope: string): Promise<boolean>;
  log?: Logger;
}

/** What the policy looks at: which server's tool, how much it may change, and the call in words. */
interface Gate {
  serverId: string;
  tool: string;
  safety: ToolSafety;
  arguments: unknown;
  summary: string;
}

/**
 * The Commands port: validates each request against what the api knows (the target exists,
 * the upstream can take it, the caller has budget left) and submits it. Bound once, at start, to
 * the plane, the limiter, the timeouts and the argument validator.
 */
export function createCommands(d: CommandServiceDeps): Commands {
  const { state, commands } = d.projection;
  const resolve = clusterResolver(d);
  const toolTimeoutMs = d.toolTimeoutMs ?? TOOL_TIMEOUT_MS;
  const agentTimeoutMs = d.agentTimeoutMs ?? AGENT_TIMEOUT_MS;

  const takeRateToken = (principal: Principal, what: string): void => {
    const wait = d.limiter.take(principal.key);
    if (wait) throw new ApiError(429, 'rate_limited', `too many ${what}; try again in ${wait} s`, { retryAfterSeconds: wait }, { 'Retry-After': String(wait) });
  };
  const submit = async (caller: SubmitCaller, input: Omit<SubmitInput, 'actor' | 'correlationId' | 'idempotencyKey' | 'acceptTimeoutMs'>): Promise<Submitted> => {
    const s = await d.submit({
      ...input,
      actor: { kind: caller.principal.role === 'agent' ? 'agent' : 'user', name: caller.principal.name, role: caller.principal.role },
      correlationId: caller.correlationId,
      idempotencyKey: caller.idempotencyKey,
      ...(caller.reason ? { reason: caller.reason } : {}),
      acceptTimeoutMs: d.acceptTimeoutMs,
    });
    const c = s.record.command!;
    // A key stands for one request: reused on another (other target, action or arguments), the
    // caller would be told "done" about a command it did not ask for.
    if (s.duplicate && requestDigest(c) !== requestDigest(input)) {
      throw new ApiError(
        422,
        'idempotency_key_reused',
        `Idempotency-Key "${caller.idempotencyKey}" was used for another request (${c.action} on ${c.scope}, command ${c.id}); use a new key for a new request`,
        { idempotencyKey: caller.idempotencyKey, commandId: c.id },
      );
    }
    d.log?.info(
      { requestId: caller.requestId, commandId: c.id, correlationId: c.correlationId, action: c.action, scope: c.scope, via: caller.via, actor: caller.principal.name, duplicate: s.duplicate },
      s.duplicate ? 'command already submitted with this idempotency key' : 'command submitted',
    );
    return s;
  };
  /**
   * The policy's word on a call: deny refuses it (403, for everyone); ask stores it as
   * awaiting_approval, unpublished, until an operator decides; run submits it.
   */
  const gated = async (caller: SubmitCaller, input: Omit<SubmitInput, 'actor' | 'correlationId' | 'idempotencyKey' | 'acceptTimeoutMs'>, g: Gate): Promise<Submitted> => {
    const decision = decide(d.policy, { serverId: g.serverId, tool: g.tool, safety: g.safety, role: caller.principal.role });
    if (decision === 'deny') {
      throw new ApiError(403, 'forbidden', `the policy denies "${g.tool}" on "${g.serverId}" (MOLTEN_CONFIG policy)`, { serverId: g.serverId, tool: g.tool });
    }
    if (decision === 'run') return submit(caller, input);
    if (!d.requestApproval) throw new ApiError(403, 'forbidden', `"${g.tool}" on "${g.serverId}" needs an operator's approval, and approvals are not available here`);
    const record = await d.requestApproval({
      input: {
        ...input,
        actor: { kind: caller.principal.role === 'agent' ? 'agent' : 'user', name: caller.principal.name, role: caller.principal.role },
        correlationId: caller.correlationId,
        acceptTimeoutMs: d.acceptTimeoutMs,
      },
      // A read the policy asks about is shown as a change: the approval's safety has two classes.
      safety: g.safety === 'read' ? 'change' : g.safety,
      summary: g.summary,
      arguments: g.arguments,
      client: caller.client,
    });
    d.log?.info({ requestId: caller.requestId, commandId: record.command!.id, action: input.action, scope: input.scope, via: caller.via, actor: caller.principal.name }, 'command awaits approval');
    return { record, duplicate: false };
  };
  const unavailable = (why: { message: string; remedy: string; reason?: string } | undefined) => {
    if (why) throw new ApiError(503, 'upstream_unavailable', why.message, why.remedy || why.reason ? { ...(why.reason ? { reason: why.reason } : {}), ...(why.remedy ? { remedy: why.remedy } : {}) } : undefined);
  };
  /**
   * Refuses a command the scope cannot take now: its upstream is down or refuses Molten, or no
   * adapter serves it (503 with `details.reason: "no_adapter"` and what to start) rather than a
   * 202 whose command times out.
   */
  const refuseUnavailable = async (domain: string, scope: string) => {
    const why = d.liveness.unavailable(domain, scope);
    if (why?.reason === 'no_adapter' && (await d.commandsPulled?.(domain, scope).catch(() => true)) !== false) return;
    unavailable(why);
  };

  /**
   * A guest action (power, suspend/resume, snapshot), checked against the guest (it exists, is not
   * a template), a command already in flight on it and the upstream's health, then gated by the
   * policy: one path for all of them.
   */
  const guestAction = async (
    caller: SubmitCaller,
    requested: string | undefined,
    vmid: number,
    token: GuestActionToken,
    payload: (g: Guest | undefined) => NonNullable<SubmitInput['payload']>,
    args: Record<string, unknown>,
  ): Promise<Submitted> => {
    takeRateToken(caller.principal, 'actions');
    const cluster = resolve(requested || undefined);
    const entry = state.guest(cluster, vmid);
    if (!entry && state.guests(cluster).length > 0) throw notFound(`guest ${vmid} is not in cluster "${cluster}"`);
    const guest = entry?.value as Guest | undefined;
    if (guest?.template) throw new ApiError(409, 'conflict', `${vmid} is a template; templates cannot be started, stopped or snapshotted here`, { vmid });
    const open = commands.open().find((r) => r.command!.scope === cluster && guestVmid(r) === vmid);
    if (open && (!caller.idempotencyKey || open.command!.idempotencyKey !== caller.idempotencyKey)) {
      throw new ApiError(409, 'conflict', `guest ${vmid} already has a command in progress (${open.command!.action}, ${open.command!.id}); wait for it to finish`, {
        commandId: open.command!.id,
      });
    }
    await refuseUnavailable('proxmox', cluster);
    const body = payload(guest);
    const name = guest?.name ? `${guest.name} (${guest.type === 'lxc' ? 'CT' : 'VM'} ${vmid})` : `guest ${vmid}`;
    const where = `${name}${guest?.node ? ` on ${guest.node}` : ''}`;
    return gated(
      caller,
      { domain: 'proxmox', scope: cluster, action: token, payload: body, timeoutMs: d.timeoutMs },
      {
        serverId: MOLTEN_SERVER_ID,
        tool: String(args.action ?? GUEST_ACTIONS[token].action),
        safety: guestActionSafety(token),
        arguments: { cluster, vmid, ...args },
        summary: guestActionWords(token, where, typeof args.name === 'string' ? args.name : '', !!args.todisk),
      },
    );
  };

  return {
    power(caller: SubmitCaller, req: PowerRequest): Promise<Submitted> {
      const token = powerActionToken(req.action);
      return guestAction(caller, req.cluster, req.vmid, token, (g) => ({ $case: 'power', value: { vmid: req.vmid, action: req.action, node: g?.node ?? '', type: g?.type ?? '' } }), { action: req.action });
    },

    snapshot(caller: SubmitCaller, req: SnapshotRequest): Promise<Submitted> {
      const token = snapshotActionToken(req.action);
      return guestAction(
        caller,
        req.cluster,
        req.vmid,
        token,
        (g) => {
          const problem = snapshotNameProblem(req.name, g?.type as GuestType | undefined);
          if (problem) throw badRequest('name', `snapshot name "${req.name}" ${problem}`);
          if (req.vmstate && g?.type === 'lxc') throw badRequest('vmstate', 'vmstate (saving the RAM) is for VMs only; containers snapshot their disks');
          return {
            $case: 'snapshot',
            value: { vmid: req.vmid, action: req.action, name: req.name, description: req.description ?? '', vmstate: !!req.vmstate, node: g?.node ?? '', type: g?.type ?? '' },
          };
        },
        { action: `snapshot-${req.action}`, name: req.name, ...(req.description ? { description: req.description } : {}), ...(req.vmstate ? { vmstate: true } : {}) },
      );
    },

    suspendResume(caller: SubmitCaller, req: SuspendResumeRequest): Promise<Submitted> {
      const token = suspendResumeToken(req.action);
      return guestAction(
        caller,
        req.cluster,
        req.vmid,
        token,
        (g) => {
          if (g && g.type !== 'qemu') throw new ApiError(409, 'unsupported', `${req.action} is for VMs only; ${g.name || req.vmid} is a container`, { vmid: req.vmid });
          return { $case: 'suspendResume', value: { vmid: req.vmid, action: req.action, todisk: !!req.todisk, node: g?.node ?? '', type: g?.type ?? '' } };
        },
        { action: req.action, ...(req.todisk ? { todisk: true } : {}) },
      );
    },

    /**
     * A tool call: the server must be reported and answering (503 with the remedy otherwise,
     * whether or not it lists the tool), list the tool, allow calls, and the arguments must fit
     * the tool's input schema.
     */
    async toolCall(caller: SubmitCaller, req: ToolCallRequest): Promise<Submitted> {
      // Whoever parsed them (REST, gRPC, MCP), arguments this deep would overflow the validator's
      // and JSON.stringify's stack: a 400 naming them, not a 500.
      if (valueDeeperThan(req.arguments, MAX_JSON_DEPTH)) {
        throw badRequest(req.argumentsField ?? 'arguments', `the arguments nest deeper than ${MAX_JSON_DEPTH} levels`);
      }
      const e = state.list('server').find((s) => (s.value as UpstreamServer).id === req.serverId);
      if (!e) throw notFound(`no server "${req.serverId}"; GET /api/servers lists them`);
      const server = e.value as UpstreamServer;
      unavailable(d.liveness.uncallable(server));
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
      const check = d.validateToolArguments(schema, req.arguments);
      if (!check.ok) {
        const first = check.errors[0]!;
        const base = req.argumentsField ?? 'arguments';
        throw badRequest(
          `${base}${first.path ? `.${first.path.replace(/^\//, '').replaceAll('/', '.')}` : ''}`,
          `the arguments do not match the input schema of ${tool.name}: ${check.errors.map((x) => `${x.path || '(root)'} ${x.message}`).join('; ')}`,
          { errors: check.errors },
        );
      }
      takeRateToken(caller.principal, 'calls');
      return gated(
        caller,
        {
          domain: server.domain,
          scope: server.scope,
          action: 'tool-call',
          payload: { $case: 'toolCall', value: { serverId: server.id, tool: tool.name, argumentsJson: JSON.stringify(req.arguments) } },
          timeoutMs: (req.timeoutSeconds ?? toolTimeoutMs / 1000) * 1000,
        },
        { serverId: server.id, tool: tool.name, safety: toolSafety(tool.annotations), arguments: req.arguments, summary: `${tool.name}${toolTarget(req.arguments) ? ` ${toolTarget(req.arguments)}` : ''} on ${server.name || server.id}` },
      );
    },

    /** An agent run, checked against the gateway's agents and its health. */
    async agentRun(caller: SubmitCaller, req: AgentRunRequest): Promise<Submitted> {
      const gateways = state.list('gateway', { domain: 'moltbot' }).map((e) => e.address.scope);
      const gateway = req.gateway || (gateways.includes('default') || gateways.length === 0 ? 'default' : gateways[0]!);
      const known = state.list('agent', { domain: 'moltbot', scope: gateway });
      if (known.length > 0 && !known.some((e) => (e.value as Agent).id === req.agentId)) {
        throw notFound(`gateway "${gateway}" has no agent "${req.agentId}"; known: ${known.map((e) => (e.value as Agent).id).join(', ')}`);
      }
      takeRateToken(caller.principal, 'runs');
      await refuseUnavailable('moltbot', gateway);
      const timeoutMs = (req.timeoutSeconds ?? agentTimeoutMs / 1000) * 1000;
      return submit(caller, {
        domain: 'moltbot',
        scope: gateway,
        action: 'agent-run',
        payload: { $case: 'agentRun', value: { agentId: req.agentId, message: req.message, sessionKey: req.sessionKey ?? '', timeoutS: Math.round(timeoutMs / 1000) } },
        timeoutMs: timeoutMs + 10_000,
      });
    },
  };
}
