import { status } from '@grpc/grpc-js';
import { POWER_ACTIONS, type Guest, type Node, type PowerActionName } from '@molten/contracts';
import {
  type ControlPlaneServiceServer,
  type GetCommandRequest,
  type GetCommandResponse,
  type GetGuestRequest,
  type GetGuestResponse,
  type ListGuestsRequest,
  type ListGuestsResponse,
  type ListNodesRequest,
  type ListNodesResponse,
  type SubmitCommandRequest,
  type SubmitCommandResponse,
} from '@molten/contracts/grpc';
import { z } from 'zod';
import { resolveCluster } from '../commands/cluster.js';
import { submitAgentRun } from '../commands/submit-agent-run.js';
import { submitPower } from '../commands/submit-power.js';
import { submitToolCall, type ValidateToolArguments } from '../commands/submit-tool-call.js';
import { AGENT_TIMEOUT_MS, TOOL_TIMEOUT_MS, type SubmitCaller, type Submitted } from '../commands/submit.js';
import type { ControlPlane } from '../control-plane.js';
import type { RateLimiter } from '../rate-limit.js';
import { guestJson } from '../state/json.js';
import { clusterQuery, idempotencyKeyHeader, parseParams, vmidParam } from '../validate.js';
import { GrpcError, invalidArgument } from './errors.js';
import { serverStream, unary, type RpcContext, type RpcDeps } from './rpc.js';
import { watchEvents, type WatchRegistry } from './watch-events.js';

export interface HandlerDeps extends RpcDeps {
  plane: ControlPlane;
  limiter: RateLimiter;
  acceptTimeoutMs: number;
  timeoutMs: number;
  validateToolArguments: ValidateToolArguments;
  watches: WatchRegistry;
}

const commandId = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'id must be a command id (a ULID)');
const agentId = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'agent_id must be an agent id (letters, digits, "_", ".", ":", "-")');
const serverId = z.string().min(1, 'server_id is required').max(128);
const toolName = z.string().min(1, 'tool is required').max(128);

/** Field names in gRPC errors are the proto's (snake_case, dotted into the oneof). */
const param = <S extends z.ZodType>(schema: S, value: unknown, field: string): z.infer<S> => parseParams(schema, value, field);

/** The api's gRPC ControlPlaneService: the REST API's reads and commands, with its roles and rules. */
export function controlPlaneHandlers(d: HandlerDeps): ControlPlaneServiceServer {
  const { plane } = d;
  const cluster = (requested: string) => resolveCluster(plane, param(clusterQuery, requested || undefined, 'cluster'));
  const caller = (req: SubmitCommandRequest, ctx: RpcContext): SubmitCaller => ({
    principal: ctx.principal,
    idempotencyKey: param(idempotencyKeyHeader, req.idempotencyKey || undefined, 'idempotency_key'),
    requestId: ctx.requestId,
    via: 'grpc',
  });

  return {
    listNodes: unary<ListNodesRequest, ListNodesResponse>(d, 'ListNodes', 'viewer', async (req) => {
      const c = cluster(req.cluster);
      const f = plane.freshness('proxmox', c);
      const nodes = plane.state
        .list('node', { domain: 'proxmox', scope: c })
        .map((e) => e.value as Node)
        .sort((a, b) => a.node.localeCompare(b.node));
      return { response: { nodes, stale: f.stale, lastSeenMs: f.lastSeenMs } };
    }),

    listGuests: unary<ListGuestsRequest, ListGuestsResponse>(d, 'ListGuests', 'viewer', async (req) => {
      const c = cluster(req.cluster);
      const f = plane.freshness('proxmox', c);
      const now = Date.now();
      const guests = plane.state
        .guests(c)
        // Uptime is extrapolated exactly as REST does it, so both surfaces agree.
        .map((e) => ({ ...(e.value as Guest), uptime: guestJson(e, f, now).uptime }))
        .sort((a, b) => a.vmid - b.vmid);
      return { response: { guests, stale: f.stale, lastSeenMs: f.lastSeenMs } };
    }),

    getGuest: unary<GetGuestRequest, GetGuestResponse>(d, 'GetGuest', 'viewer', async (req) => {
      const vmid = param(vmidParam, req.vmid, 'vmid');
      const c = cluster(req.cluster);
      const e = plane.state.guest(c, vmid);
      if (!e) throw new GrpcError(status.NOT_FOUND, `guest ${vmid} is not in cluster "${c}"`, { 'molten-error-code': 'not_found' });
      const f = plane.freshness('proxmox', c);
      return { response: { guest: { ...(e.value as Guest), uptime: guestJson(e, f).uptime }, stale: f.stale, lastSeenMs: f.lastSeenMs } };
    }),

    submitCommand: unary<SubmitCommandRequest, SubmitCommandResponse>(d, 'SubmitCommand', 'operator', async (req, ctx) => {
      const who = caller(req, ctx);
      const p = req.payload;
      const deps = { plane, limiter: d.limiter, acceptTimeoutMs: d.acceptTimeoutMs, log: ctx.log };
      // Checked last before anything is queued: a caller that gave up must not get a command.
      const submit = (run: () => Promise<Submitted>) => {
        if (ctx.signal.aborted) throw new GrpcError(status.CANCELLED, 'the call was cancelled before the command was queued');
        return run();
      };
      let s: Submitted;
      if (p?.$case === 'power') {
        const vmid = param(vmidParam, p.value.vmid, 'power.vmid');
        const action = param(z.enum(POWER_ACTIONS, { message: `power.action must be one of ${POWER_ACTIONS.join(', ')}` }), p.value.action, 'power.action') as PowerActionName;
        if (req.cluster) param(clusterQuery, req.cluster, 'cluster');
        s = await submit(() => submitPower({ ...deps, timeoutMs: d.timeoutMs }, who, { cluster: req.cluster || undefined, vmid, action }));
      } else if (p?.$case === 'toolCall') {
        param(serverId, p.value.serverId, 'tool_call.server_id');
        param(toolName, p.value.tool, 'tool_call.tool');
        let args: unknown = {};
        if (p.value.argumentsJson.trim()) {
          try {
            args = JSON.parse(p.value.argumentsJson);
          } catch (err) {
            throw invalidArgument('tool_call.arguments_json', `tool_call.arguments_json is not valid JSON: ${(err as Error).message}`);
          }
        }
        if (typeof args !== 'object' || args === null || Array.isArray(args)) throw invalidArgument('tool_call.arguments_json', 'tool_call.arguments_json must be a JSON object');
        s = await submit(() =>
          submitToolCall(
            { ...deps, validateToolArguments: d.validateToolArguments, toolTimeoutMs: TOOL_TIMEOUT_MS, argumentsField: 'tool_call.arguments_json' },
            who,
            { serverId: p.value.serverId, tool: p.value.tool, arguments: args as Record<string, unknown> },
          ),
        );
      } else if (p?.$case === 'agentRun') {
        param(agentId, p.value.agentId, 'agent_run.agent_id');
        const message = p.value.message.trim();
        if (!message) throw invalidArgument('agent_run.message', 'agent_run.message must not be empty');
        if (message.length > 20_000) throw invalidArgument('agent_run.message', 'agent_run.message must be at most 20000 characters');
        if (p.value.sessionKey.length > 200) throw invalidArgument('agent_run.session_key', 'agent_run.session_key must be at most 200 characters');
        if (p.value.timeoutS > 3600) throw invalidArgument('agent_run.timeout_s', 'agent_run.timeout_s must be at most 3600 (0: the default)');
        if (req.cluster) param(clusterQuery, req.cluster, 'cluster');
        s = await submit(() =>
          submitAgentRun({ ...deps, agentTimeoutMs: AGENT_TIMEOUT_MS }, who, {
            agentId: p.value.agentId,
            message,
            sessionKey: p.value.sessionKey || undefined,
            gateway: req.cluster || undefined,
            timeoutSeconds: p.value.timeoutS || undefined,
          }),
        );
      } else {
        throw invalidArgument('payload', 'set one of payload.power, payload.tool_call or payload.agent_run');
      }
      return { response: { command: s.record }, trailers: { 'molten-duplicate': String(s.duplicate) } };
    }),

    getCommand: unary<GetCommandRequest, GetCommandResponse>(d, 'GetCommand', 'viewer', async (req) => {
      const id = param(commandId, req.id, 'id');
      const record = await plane.command(id);
      if (!record) throw new GrpcError(status.NOT_FOUND, `no command ${id} (records are kept for 7 days)`, { 'molten-error-code': 'not_found' });
      return { response: { command: record } };
    }),

    watchEvents: serverStream(d, 'WatchEvents', 'viewer', (call, ctx, sendHeaders) => watchEvents({ plane, watches: d.watches }, call, ctx, sendHeaders)),
  };
}
