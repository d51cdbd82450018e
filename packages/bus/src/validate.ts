import { z } from 'zod';
import { GUEST_TYPES, POWER_ACTIONS, type MessageOf, type MessageTypeName } from '@molten/contracts';
import { GUEST_COMMAND_CASES } from './guest-command-payloads.js';

/**
 * Semantic checks after protobuf decoding: protobuf accepts any bytes that parse, so a message
 * with no id, a vmid out of Proxmox's range or a command without a payload is caught here.
 *
 * Only the verdict is used, never the parsed copy, so the objects are zod's plain (stripping)
 * ones: fields not named here are allowed and not looked at. (`.passthrough()` gave the same
 * verdicts but copied every field of every message: ~6× the CPU per event, issue 15.)
 */
const ulid = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'must be a ULID');
const token = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be one subject token');
const vmid = z.number().int().min(100).max(999_999_999);
/** A time in ms since the epoch that a Date can hold (readers turn it into ISO text). */
const time = z.number().min(0).max(8.64e15, 'is not a time (past what a Date holds)');

const command = z
  .object({
    id: ulid,
    domain: token,
    scope: token,
    action: token,
    createdAtMs: time.positive(),
    acceptByMs: time.positive(),
    deadlineMs: time.positive(),
    payload: z.discriminatedUnion('$case', [
      z.object({ $case: z.literal('power'), value: z.object({ vmid, action: z.enum(POWER_ACTIONS) }) }),
      z.object({
        $case: z.literal('toolCall'),
        value: z.object({
          serverId: z.string().min(1),
          tool: z.string().min(1),
          argumentsJson: z.string().refine(isJsonObject, 'must be a JSON object'),
        }),
      }),
      z.object({
        $case: z.literal('agentRun'),
        value: z.object({ agentId: z.string().min(1), message: z.string().min(1) }),
      }),
      ...GUEST_COMMAND_CASES,
    ], { message: 'has no payload' }),
  })
  .refine((c) => c.deadlineMs >= c.createdAtMs, 'deadline is before creation');

const guest = z.object({ cluster: token, vmid, type: z.enum(GUEST_TYPES), node: z.string().min(1) });
const node = z.object({ cluster: token, node: z.string().min(1) });
const storage = z.object({ cluster: token, id: z.string().min(1) });
const cluster = z.object({ cluster: token });
const server = z.object({ id: z.string().min(1), kind: z.string().min(1), lastSeenMs: time, statusSinceMs: time });
const transition = z.object({ commandId: ulid, status: z.number().int().min(1).max(10), atMs: time });
const progress = z.object({ commandId: ulid, atMs: time });
const record = z.object({ command: command, status: z.number().int().min(1).max(10), updatedAtMs: time });
const heartbeat = z.object({ domain: token, instance: token, atMs: time, startedAtMs: time, upstreams: z.array(z.object({ lastOkMs: time })) });

const schemas: Partial<Record<MessageTypeName, z.ZodType>> = {
  'molten.v1.Command': command,
  'molten.v1.CommandRecord': record,
  'molten.v1.CommandTransition': transition,
  'molten.v1.CommandProgress': progress,
  'molten.v1.Guest': guest,
  'molten.v1.Node': node,
  'molten.v1.Storage': storage,
  'molten.v1.ClusterStatus': cluster,
  'molten.v1.UpstreamServer': server,
  'molten.v1.Heartbeat': heartbeat,
};

/** Returns why the message is invalid, or undefined when it is fine. */
export function validateMessage<N extends MessageTypeName>(type: N, value: MessageOf<N>): string | undefined {
  const schema = schemas[type];
  if (!schema) return undefined;
  const r = schema.safeParse(value);
  if (r.success) return undefined;
  return r.error.issues.map((i) => `${i.path.join('.') || type}: ${i.message}`).join('; ');
}

function isJsonObject(text: string): boolean {
  try {
    const v = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}
