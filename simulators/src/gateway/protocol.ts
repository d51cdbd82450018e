/**
 * The gateway's wire protocol as the simulator enforces it. Every value here comes from
 * shared/upstreams/moltbot-gateway.md (Moltbot 2026.1.x = protocol 3, openclaw 2026.9.x =
 * protocol 4); where the two generations differ, both are kept and picked by protocol.
 */
import { z } from 'zod';

/** Error codes (v3 `error-codes.ts`; v4 adds FORBIDDEN). */
export const ERROR_CODES = {
  NOT_LINKED: 'NOT_LINKED',
  NOT_PAIRED: 'NOT_PAIRED',
  AGENT_TIMEOUT: 'AGENT_TIMEOUT',
  INVALID_REQUEST: 'INVALID_REQUEST',
  UNAVAILABLE: 'UNAVAILABLE',
  FORBIDDEN: 'FORBIDDEN',
} as const;

/** Structured `error.details.code` values that v4 adds. */
export const DETAIL_CODES = {
  AUTH_TOKEN_MISMATCH: 'AUTH_TOKEN_MISMATCH',
  AUTH_TOKEN_MISSING: 'AUTH_TOKEN_MISSING',
  AUTH_DEVICE_TOKEN_MISMATCH: 'AUTH_DEVICE_TOKEN_MISMATCH',
  DEVICE_IDENTITY_REQUIRED: 'DEVICE_IDENTITY_REQUIRED',
  DEVICE_AUTH_ID_MISMATCH: 'DEVICE_AUTH_DEVICE_ID_MISMATCH',
  DEVICE_AUTH_SIGNATURE_EXPIRED: 'DEVICE_AUTH_SIGNATURE_EXPIRED',
  DEVICE_AUTH_NONCE_MISMATCH: 'DEVICE_AUTH_NONCE_MISMATCH',
  DEVICE_AUTH_SIGNATURE_INVALID: 'DEVICE_AUTH_SIGNATURE_INVALID',
  DEVICE_AUTH_PUBLIC_KEY_INVALID: 'DEVICE_AUTH_PUBLIC_KEY_INVALID',
  PAIRING_REQUIRED: 'PAIRING_REQUIRED',
  PROTOCOL_MISMATCH: 'PROTOCOL_MISMATCH',
  MISSING_SCOPE: 'MISSING_SCOPE',
} as const;

export interface ErrorShape {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  retryable?: boolean;
  retryAfterMs?: number;
}

/** WebSocket close codes the gateway uses. */
export const CLOSE = {
  /** Policy violation: bad first frame, bad params, auth failure, handshake timeout. */
  policy: 1008,
  /** Protocol mismatch. */
  protocol: 1002,
  /** Try again later: the gateway is still starting. */
  tryAgain: 1013,
  /** Service restart: sent with the shutdown event. */
  restart: 1012,
} as const;

const SHARED_CLIENT_IDS = ['webchat', 'cli', 'gateway-client', 'node-host', 'test'] as const;

/** v3 `client-info.ts` GATEWAY_CLIENT_IDS. */
export const CLIENT_IDS_V3 = [
  ...SHARED_CLIENT_IDS,
  'webchat-ui',
  'moltbot-control-ui',
  'moltbot-macos',
  'moltbot-ios',
  'moltbot-android',
  'fingerprint',
  'moltbot-probe',
] as const;

/** v4: the openclaw-* ids; cli, gateway-client, webchat, test and node-host are kept. */
export const CLIENT_IDS_V4 = [
  ...SHARED_CLIENT_IDS,
  'webchat-ui',
  'openclaw-control-ui',
  'openclaw-macos',
  'openclaw-ios',
  'openclaw-android',
  'openclaw-probe',
  'openclaw-tui',
  'openclaw-worker',
  'fingerprint',
] as const;

export const CLIENT_MODES_V3 = ['webchat', 'cli', 'ui', 'backend', 'node', 'probe', 'test'] as const;
export const CLIENT_MODES_V4 = [...CLIENT_MODES_V3, 'worker'] as const;

/** Browser client ids that need an allowed Origin header. */
export const BROWSER_CLIENT_IDS = new Set(['webchat', 'webchat-ui', 'moltbot-control-ui', 'openclaw-control-ui']);

export const SCOPES = {
  read: 'operator.read',
  write: 'operator.write',
  admin: 'operator.admin',
  approvals: 'operator.approvals',
  pairing: 'operator.pairing',
} as const;

/** Which scope a method needs (v3 `server-methods.ts`); admin satisfies every one. */
export const METHOD_SCOPES: Record<string, 'read' | 'write' | 'none'> = {
  health: 'read',
  status: 'read',
  'agents.list': 'read',
  'agent.identity.get': 'read',
  'sessions.list': 'read',
  'cron.list': 'read',
  'cron.status': 'read',
  'system-presence': 'read',
  'node.list': 'read',
  'chat.history': 'read',
  agent: 'write',
  'agent.wait': 'write',
};

/** The methods the simulator implements, and so announces in hello-ok. */
export const SIMULATED_METHODS = Object.keys(METHOD_SCOPES);

/** v3 GATEWAY_EVENTS (the subset the simulator emits); v4 adds sessions.changed. */
export const EVENTS_V3 = ['connect.challenge', 'agent', 'chat', 'presence', 'tick', 'shutdown', 'health', 'heartbeat', 'cron', 'device.pair.requested', 'device.pair.resolved'];
export const EVENTS_V4 = [...EVENTS_V3, 'sessions.changed'];

/** v3 policy values (`server-constants.ts`) and the v4 values observed on 2026.9.6. */
export const POLICY = {
  3: { maxPayload: 512 * 1024, maxBufferedBytes: 1.5 * 1024 * 1024 },
  4: { maxPayload: 26_214_400, maxBufferedBytes: 52_428_800 },
} as const;

/** Handshake timeout: 10 s in v3, 15 s in v4. */
export const HANDSHAKE_TIMEOUT_MS = { 3: 10_000, 4: 15_000 } as const;

/** A device signature's signedAt must be within this of the gateway's clock. */
export const SIGNED_AT_WINDOW_MS = 10 * 60_000;

const nonEmpty = z.string().min(1);

/** ConnectParams (`frames.ts`), with additionalProperties:false at every level. */
export function connectParamsSchema(protocol: number) {
  const v4 = protocol >= 4;
  const ids = v4 ? CLIENT_IDS_V4 : CLIENT_IDS_V3;
  const modes = v4 ? CLIENT_MODES_V4 : CLIENT_MODES_V3;
  const auth = v4
    ? z.strictObject({ token: z.string().optional(), password: z.string().optional(), deviceToken: z.string().optional(), bootstrapToken: z.string().optional() })
    : z.strictObject({ token: z.string().optional(), password: z.string().optional() });
  return z.strictObject({
    minProtocol: z.number().int().min(1),
    maxProtocol: z.number().int().min(1),
    client: z.strictObject({
      id: z.enum(ids),
      displayName: nonEmpty.optional(),
      version: nonEmpty,
      platform: nonEmpty,
      deviceFamily: nonEmpty.optional(),
      modelIdentifier: nonEmpty.optional(),
      mode: z.enum(modes),
      instanceId: nonEmpty.optional(),
    }),
    caps: z.array(nonEmpty).optional(),
    commands: z.array(nonEmpty).optional(),
    permissions: z.record(z.string(), z.boolean()).optional(),
    pathEnv: z.string().optional(),
    role: nonEmpty.optional(),
    scopes: z.array(nonEmpty).optional(),
    device: z
      .strictObject({
        id: nonEmpty,
        publicKey: nonEmpty,
        signature: nonEmpty,
        signedAt: z.number().int().min(0),
        nonce: nonEmpty.optional(),
      })
      .optional(),
    auth: auth.optional(),
    locale: z.string().optional(),
    userAgent: z.string().optional(),
  });
}
export type ConnectParams = z.infer<ReturnType<typeof connectParamsSchema>>;

export const requestFrameSchema = z.strictObject({
  type: z.literal('req'),
  id: nonEmpty,
  method: nonEmpty,
  params: z.unknown().optional(),
});
export type RequestFrame = z.infer<typeof requestFrameSchema>;

/** `agent` params (`schema/agent.ts`, AgentParamsSchema). */
export const agentParamsSchema = z.strictObject({
  message: nonEmpty,
  agentId: nonEmpty.optional(),
  to: z.string().optional(),
  replyTo: z.string().optional(),
  sessionId: z.string().optional(),
  sessionKey: z.string().optional(),
  thinking: z.string().optional(),
  deliver: z.boolean().optional(),
  attachments: z.array(z.unknown()).optional(),
  channel: z.string().optional(),
  replyChannel: z.string().optional(),
  accountId: z.string().optional(),
  replyAccountId: z.string().optional(),
  threadId: z.string().optional(),
  timeout: z.number().int().min(0).optional(),
  lane: z.string().optional(),
  extraSystemPrompt: z.string().optional(),
  idempotencyKey: nonEmpty,
  label: z.string().min(1).max(64).optional(),
  spawnedBy: z.string().optional(),
});

export const agentWaitParamsSchema = z.strictObject({
  runId: nonEmpty,
  timeoutMs: z.number().int().min(0).optional(),
});

export const sessionsListParamsSchema = z.strictObject({
  limit: z.number().int().min(1).optional(),
  activeMinutes: z.number().int().min(1).optional(),
  includeGlobal: z.boolean().optional(),
  includeUnknown: z.boolean().optional(),
  includeDerivedTitles: z.boolean().optional(),
  includeLastMessage: z.boolean().optional(),
  label: z.string().optional(),
  spawnedBy: nonEmpty.optional(),
  agentId: nonEmpty.optional(),
  search: z.string().optional(),
});

export const cronListParamsSchema = z.strictObject({ includeDisabled: z.boolean().optional() });
export const healthParamsSchema = z.strictObject({ probe: z.boolean().optional() });
export const emptyParamsSchema = z.strictObject({});
export const agentIdentityParamsSchema = z.strictObject({ agentId: nonEmpty.optional(), sessionKey: z.string().optional() });

/**
 * Formats validation problems the way the gateway's ajv-based formatValidationErrors does,
 * e.g. "at /client/id: must be equal to one of the allowed values".
 */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .flatMap((issue) => {
      const path = issue.path.length ? `/${issue.path.join('/')}` : 'root';
      if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `at ${path}: unexpected property '${k}'`);
      if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
        const parent = issue.path.length > 1 ? `/${issue.path.slice(0, -1).join('/')}` : 'root';
        return [`at ${parent}: must have required property '${String(issue.path.at(-1))}'`];
      }
      if (issue.code === 'invalid_value') return [`at ${path}: must be equal to one of the allowed values`];
      if (issue.code === 'invalid_type') return [`at ${path}: must be ${issue.expected}`];
      if (issue.code === 'too_small' && issue.origin === 'number') return [`at ${path}: must be >= ${String(issue.minimum)}`];
      if (issue.code === 'too_big' && issue.origin === 'number') return [`at ${path}: must be <= ${String(issue.maximum)}`];
      if (issue.code === 'too_small') return [`at ${path}: must NOT have fewer than ${String(issue.minimum)} characters`];
      return [`at ${path}: ${issue.message}`];
    })
    .join('; ');
}

/**
 * The v2 device signature payload (`device-auth.ts`):
 * v2|deviceId|clientId|clientMode|role|scopes(csv)|signedAtMs|token|nonce
 */
export function deviceAuthPayloadV2(p: {
  deviceId: string;
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  signedAtMs: number;
  token: string;
  nonce: string;
}): string {
  return ['v2', p.deviceId, p.clientId, p.clientMode, p.role, p.scopes.join(','), String(p.signedAtMs), p.token, p.nonce].join('|');
}
