import { status } from '@grpc/grpc-js';
import { POWER_ACTIONS, type PowerActionName } from '@molten/contracts';
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
import type { Commands, Reads, SubmitCaller, Submitted } from '../ports.js';
import { agentIdPattern, clusterQuery, reasonField, commandIdParam, idempotencyKeyHeader, parseParams, vmidParam } from '../validate.js';
import { DEFAULT_BODY_LIMITS, MAX_JSON_DEPTH, jsonDeeperThan } from '../body-limits.js';
import { GrpcError, invalidArgument } from './errors.js';
import { serverStream, unary, type RpcContext, type RpcDeps } from './rpc.js';
import { watchEvents, type WatchDeps } from './watch-events.js';

export interface HandlerDeps extends RpcDeps, WatchDeps {
  reads: Reads;
  commands: Commands;
  /** The largest tool call arguments_json, in bytes (MOLTEN_MAX_TOOL_CALL_BYTES, as REST). */
  toolCallBytes?: number;
}

const agentId = z.string().regex(agentIdPattern, 'agent_id must be an agent id (letters, digits, "_", ".", ":", "-")');
const serverId = z.string().min(1, 'server_id is required').max(128);
const toolName = z.string().min(1, 'tool is required').max(128);

/** Field names in gRPC errors are the proto's (snake_case, dotted into the oneof). */
const param = <S extends z.ZodType>(schema: S, value: unknown, field: string): z.infer<S> => parseParams(schema, value, field);

/** The api's gRPC ControlPlaneService: the REST API's reads and commands, with its roles and rules. */
export function controlPlaneHandlers(d: HandlerDeps): ControlPlaneServiceServer {
  const { reads, commands } = d;
  const cluster = (requested: string) => param(clusterQuery, requested || undefined, 'cluster');
  const caller = (req: SubmitCommandRequest, ctx: RpcContext): SubmitCaller => ({
    principal: ctx.principal,
    idempotencyKey: param(idempotencyKeyHeader, req.idempotencyKey || undefined, 'idempotency_key'),
    reason: param(reasonField, req.reason || undefined, 'reason'),
    requestId: ctx.requestId,
    via: 'grpc',
  });

  return {
    listNodes: unary<ListNodesRequest, ListNodesResponse>(d, 'ListNodes', 'viewer', async (req) => {
      const s = reads.nodes(cluster(req.cluster));
      return { response: { nodes: s.data, stale: s.stale, lastSeenMs: s.lastSeenMs } };
    }),

    listGuests: unary<ListGuestsRequest, ListGuestsResponse>(d, 'ListGuests', 'viewer', async (req) => {
      const s = reads.guests(cluster(req.cluster));
      return { response: { guests: s.data, stale: s.stale, lastSeenMs: s.lastSeenMs } };
    }),

    getGuest: unary<GetGuestRequest, GetGuestResponse>(d, 'GetGuest', 'viewer', async (req) => {
      const vmid = param(vmidParam, req.vmid, 'vmid');
      const s = reads.guest(vmid, cluster(req.cluster));
      return { response: { guest: s.data, stale: s.stale, lastSeenMs: s.lastSeenMs } };
    }),

    submitCommand: unary<SubmitCommandRequest, SubmitCommandResponse>(d, 'SubmitCommand', 'operator', async (req, ctx) => {
      const who = caller(req, ctx);
      const p = req.payload;
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
        s = await submit(() => commands.power(who, { cluster: req.cluster || undefined, vmid, action }));
      } else if (p?.$case === 'toolCall') {
        param(serverId, p.value.serverId, 'tool_call.server_id');
        param(toolName, p.value.tool, 'tool_call.tool');
        let args: unknown = {};
        const limit = d.toolCallBytes ?? DEFAULT_BODY_LIMITS.toolCallBytes;
        if (Buffer.byteLength(p.value.argumentsJson) > limit) {
          throw invalidArgument('tool_call.arguments_json', `tool_call.arguments_json is larger than a tool call takes (${limit} bytes)`);
        }
        if (jsonDeeperThan(p.value.argumentsJson, MAX_JSON_DEPTH)) {
          throw invalidArgument('tool_call.arguments_json', `tool_call.arguments_json nests deeper than ${MAX_JSON_DEPTH} levels`);
        }
        if (p.value.argumentsJson.trim()) {
          try {
            args = JSON.parse(p.value.argumentsJson);
          } catch (err) {
            throw invalidArgument('tool_call.arguments_json', `tool_call.arguments_json is not valid JSON: ${(err as Error).message}`);
          }
        }
        if (typeof args !== 'object' || args === null || Array.isArray(args)) throw invalidArgument('tool_call.arguments_json', 'tool_call.arguments_json must be a JSON object');
        s = await submit(() =>
          commands.toolCall(who, { serverId: p.value.serverId, tool: p.value.tool, arguments: args as Record<string, unknown>, argumentsField: 'tool_call.arguments_json' }),
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
          commands.agentRun(who, {
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
      const id = param(commandIdParam, req.id, 'id');
      const found = await reads.command(id);
      if (!found) throw new GrpcError(status.NOT_FOUND, `no command ${id} (records are kept for 7 days)`, { 'molten-error-code': 'not_found' });
      return { response: { command: found.record } };
    }),

    watchEvents: serverStream(d, 'WatchEvents', 'viewer', (call, ctx, sendHeaders) => watchEvents(d, call, ctx, sendHeaders)),
  };
}
