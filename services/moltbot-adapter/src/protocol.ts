/**
 * What the adapter expects from the gateway, as zod schemas: every inbound frame and every
 * method result is checked here before anything reads it. Objects are loose (the gateway adds
 * fields between releases), only what the adapter uses is required, and the schemas wrapped in
 * lenient() drop a part that does not fit instead of refusing the whole frame (lenient.ts).
 * Facts: shared/upstreams/moltbot-gateway.md, checked against openclaw 2026.9.6 by
 * tests/src/openclaw-conformance.test.ts.
 */
import { z } from 'zod';
import { parseLenient } from './lenient.js';

const DROPPED = Symbol('dropped parts');

/**
 * A schema that repairs what it parses with parseLenient: a field or row that does not fit is
 * left out, and droppedParts() on the result names it. Fails only when what is required does not fit.
 */
export function lenient<T>(schema: z.ZodType<T>) {
  const repaired = z.unknown().transform((value, ctx): T => {
    const r = parseLenient(schema, value);
    if (!r.success) {
      for (const issue of r.error.issues) ctx.addIssue({ ...issue, message: issue.message } as Parameters<typeof ctx.addIssue>[0]);
      return z.NEVER;
    }
    if (r.dropped.length && r.data && typeof r.data === 'object') Object.defineProperty(r.data, DROPPED, { value: r.dropped, enumerable: false });
    return r.data;
  });
  // What it reads, for those who compare frames with it (the conformance suite).
  return Object.assign(repaired, { inner: schema });
}

/** What lenient() left out of this value ("auth.deviceToken (expected string, …)"). */
export function droppedParts(value: unknown): string[] {
  return value && typeof value === 'object' ? ((value as { [DROPPED]?: string[] })[DROPPED] ?? []) : [];
}

/** minProtocol 3, maxProtocol 4: accepted by Moltbot (3) and openclaw 2026.9 (4) gateways. */
export const PROTOCOL_RANGE = { min: 3, max: 4 } as const;

/** A backend service: the `gateway-client` id with mode `backend` (both closed enums in v3 and v4). */
export const CLIENT = { id: 'gateway-client', mode: 'backend' } as const;
export const ROLE = 'operator';
export const SCOPES = { read: 'operator.read', write: 'operator.write', admin: 'operator.admin' } as const;
/** Asked for explicitly: a v3 gateway gives an operator that asks for nothing operator.admin. */
export const REQUESTED_SCOPES = [SCOPES.read, SCOPES.write];

export const errorShape = z.looseObject({
  code: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
  retryable: z.boolean().optional(),
  retryAfterMs: z.number().optional(),
});
export type GatewayError = z.infer<typeof errorShape>;

const resFrame = z.looseObject({
  type: z.literal('res'),
  id: z.string().min(1),
  ok: z.boolean(),
  payload: z.unknown().optional(),
  error: errorShape.optional(),
});
const eventFrame = z.looseObject({
  type: z.literal('event'),
  event: z.string().min(1),
  payload: z.unknown().optional(),
  seq: z.number().int().nonnegative().optional(),
  stateVersion: z.looseObject({ presence: z.number().optional(), health: z.number().optional() }).optional(),
});
const reqFrame = z.looseObject({ type: z.literal('req'), id: z.string(), method: z.string(), params: z.unknown().optional() });

export const inboundFrame = lenient(z.discriminatedUnion('type', [resFrame, eventFrame, reqFrame]));
export type ResFrame = z.infer<typeof resFrame>;
export type EventFrame = z.infer<typeof eventFrame>;

export const challengePayload = z.looseObject({ nonce: z.string().min(1), ts: z.number() });
export const shutdownPayload = z.looseObject({ reason: z.string().optional(), restartExpectedMs: z.number().optional() });

/**
 * hello-ok. Required: what the adapter cannot work without (the protocol, the methods, the tick
 * interval). openclaw 2026.9.6 sends `auth` without `deviceToken` to a token-only and to a
 * trusted local backend's device-signed connect, `server` without `host` or `commit`, and keys
 * of its own (controlUiWidgetKinds, pluginSurfaceUrls, server.buildId, …), which pass through.
 */
export const helloOk = lenient(
  z.looseObject({
    type: z.literal('hello-ok'),
    protocol: z.number().int(),
    server: z
      .looseObject({ version: z.string().optional(), connId: z.string().optional(), host: z.string().optional(), commit: z.string().optional() })
      .default({}),
    features: z.looseObject({ methods: z.array(z.string()), events: z.array(z.string()).optional() }),
    snapshot: z
      .looseObject({
        presence: z.array(z.unknown()).optional(),
        health: z.unknown().optional(),
        uptimeMs: z.number().optional(),
        sessionDefaults: z.looseObject({ defaultAgentId: z.string().optional() }).optional(),
      })
      .optional(),
    auth: z
      .looseObject({
        role: z.string(),
        scopes: z.array(z.string()),
        deviceToken: z.string().min(1).optional(),
        method: z.string().optional(),
        issuedAtMs: z.number().optional(),
      })
      .optional(),
    policy: z.looseObject({ tickIntervalMs: z.number().positive(), maxPayload: z.number().optional() }),
  }),
);
export type HelloOk = z.infer<typeof helloOk>;

export const agentEvent = lenient(z.looseObject({
  runId: z.string().min(1),
  seq: z.number().optional(),
  stream: z.string().min(1),
  ts: z.number().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
}));
export const chatEvent = lenient(z.looseObject({
  runId: z.string().min(1),
  sessionKey: z.string().optional(),
  state: z.string(),
  message: z.unknown().optional(),
  errorMessage: z.string().optional(),
}));
export const presenceEvent = z.looseObject({ presence: z.array(z.unknown()) });

export const agentAccepted = z.looseObject({ runId: z.string().min(1), status: z.literal('accepted'), acceptedAt: z.number().optional() });
export const agentFinal = z.looseObject({
  runId: z.string().optional(),
  status: z.string().optional(),
  summary: z.string().optional(),
  result: z.unknown().optional(),
});
export const agentWaitResult = z.looseObject({
  runId: z.string(),
  status: z.string(),
  startedAt: z.number().optional(),
  endedAt: z.number().optional(),
  error: z.string().optional(),
});

export const agentsList = lenient(z.looseObject({
  defaultId: z.string().optional(),
  agents: z.array(
    z.looseObject({
      id: z.string().min(1),
      name: z.string().optional(),
      // Moltbot lists the model as a string; openclaw 2026.9 as {primary, fallbacks?}.
      model: z.union([z.string(), z.looseObject({ primary: z.string() }).transform((m) => m.primary)]).optional(),
      identity: z.looseObject({ name: z.string().optional(), theme: z.string().optional(), emoji: z.string().optional() }).optional(),
    }),
  ),
}));
export const sessionsList = lenient(z.looseObject({
  defaults: z.looseObject({ model: z.string().nullable().optional(), modelProvider: z.string().nullable().optional() }).optional(),
  sessions: z.array(
    z.looseObject({
      key: z.string().min(1),
      label: z.string().optional(),
      displayName: z.string().optional(),
      derivedTitle: z.string().optional(),
      lastMessagePreview: z.string().optional(),
      channel: z.string().optional(),
      updatedAt: z.number().nullable().optional(),
      totalTokens: z.number().nullable().optional(),
    }),
  ),
}));
export const cronList = z.looseObject({ jobs: z.array(z.unknown()) });
export const jsonObject = z.record(z.string(), z.unknown());

/** The agent id of a session key "agent:<agentId>:<rest>". */
export function agentOfSession(key: string): string {
  return /^agent:([^:]+):/.exec(key)?.[1] ?? '';
}

/** A short, single-line preview of a frame for logs (frames can be large). */
export function preview(text: string, max = 200): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

export function issuesOf(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(frame)'}: ${i.message}`).join('; ');
}
