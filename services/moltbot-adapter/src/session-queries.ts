import { z } from 'zod';
import { queryErrorReply, serveQueries, type Bus, type QueryHandlers, type QueryReplyOf, type QueryServer } from '@molten/bus';
import { commandError, type CommandError, type CommandErrorCode } from '@molten/contracts';
import type { Logger } from '@molten/kit';
import { HISTORY_LIMITS, chatHistoryAnswer, chatHistoryParams, sessionHistoryOf } from './chat-history.js';
import { GatewayConnectionLost, GatewayNotConnected, GatewayRequestError, GatewayTimeout, type GatewayClient } from './gateway-client.js';
import { DOMAIN } from './gateway-state.js';
import { issuesOf } from './protocol.js';

export interface SessionQueriesOptions {
  client: GatewayClient;
  gatewayId: string;
  log: Logger;
  /** How long a read waits for a gateway connection that is being made (2 s). */
  connectWaitMs?: number;
  /** How long the gateway may take to answer (10 s: inside the api's 15 s). */
  requestTimeoutMs?: number;
}

const request = z.object({
  sessionKey: z
    .string()
    .min(1, 'must not be empty')
    .max(512, 'may be at most 512 characters')
    .refine((k) => !/[\u0000-\u001f\u007f]/.test(k), 'must not hold control characters'),
  limit: z
    .number()
    .int()
    .max(HISTORY_LIMITS.maxMessages, `may be at most ${HISTORY_LIMITS.maxMessages}`)
    .transform((n) => n || HISTORY_LIMITS.defaultMessages),
});

const CODES: Record<string, CommandErrorCode> = {
  INVALID_REQUEST: 'invalid',
  FORBIDDEN: 'forbidden',
  NOT_PAIRED: 'auth',
  NOT_LINKED: 'auth',
  UNAVAILABLE: 'upstream',
};

const READ_SCOPE_REMEDY = "the gateway did not grant this adapter operator.read; connect it with the gateway's token (MOLTBOT_TOKEN) so it gets the scopes it asks for";

/**
 * The moltbot domain's reads, answered by every replica of the gateway's adapter in one queue
 * group: `session-history` reads a session's transcript with chat.history (chat-history.ts).
 * Nothing is kept: each ask is one request to the gateway.
 */
export function sessionQueryHandlers(o: SessionQueriesOptions): QueryHandlers {
  const fail = (e: CommandError): QueryReplyOf<'session-history'> => queryErrorReply('session-history', e);
  return {
    'session-history': async (raw) => {
      const parsed = request.safeParse(raw);
      if (!parsed.success) {
        const fields = Object.fromEntries(parsed.error.issues.map((i) => [i.path.join('.') || 'request', i.message]));
        return fail(commandError('invalid', `bad session-history request: ${issuesOf(parsed.error)}`, { fields }));
      }
      const { sessionKey, limit } = parsed.data;
      const client = o.client;
      if (!(await client.waitConnected(o.connectWaitMs ?? 2_000))) {
        const st = client.state;
        return fail(
          commandError(st.phase === 'auth_failed' ? 'auth' : 'unreachable', `the agent gateway "${o.gatewayId}" is not connected: ${st.reason}`, {
            remedy: st.remedy || 'check that the gateway runs and that MOLTBOT_URL points at it; the adapter reconnects by itself',
          }),
        );
      }
      if (client.methods.length > 0 && !client.methods.includes('chat.history')) {
        return fail(commandError('unsupported', `this gateway (${client.hello?.server.version ?? 'unknown version'}) does not offer chat.history`, { remedy: 'run a Moltbot or OpenClaw release that has chat.history (every release since Moltbot 2026.1 does)' }));
      }
      let payload: unknown;
      try {
        payload = await client.request('chat.history', chatHistoryParams(sessionKey, limit, client.hello?.protocol ?? 3), { timeoutMs: o.requestTimeoutMs ?? 10_000 });
      } catch (err) {
        return fail(asCommandError(err, o.gatewayId));
      }
      const answer = chatHistoryAnswer.safeParse(payload);
      if (!answer.success) {
        o.log.warn({ sessionKey, issues: issuesOf(answer.error) }, 'chat.history answer not understood');
        return fail(commandError('upstream', `the gateway's chat.history answer was not understood: ${issuesOf(answer.error)}`));
      }
      const history = sessionHistoryOf(answer.data, { gateway: o.gatewayId, sessionKey, limit });
      if (history.dropped.length) o.log.debug({ sessionKey, dropped: history.dropped }, 'parts of a chat.history answer left out');
      return { result: { $case: 'history', value: history }, fetchedAtMs: Date.now() };
    },
  };
}

function asCommandError(err: unknown, gatewayId: string): CommandError {
  if (err instanceof GatewayRequestError) {
    const code = CODES[err.code] ?? 'upstream';
    return commandError(code, `the gateway refused chat.history: ${err.error.message}`, {
      upstreamStatus: err.code,
      remedy: code === 'forbidden' && /operator\.read/.test(err.error.message) ? READ_SCOPE_REMEDY : '',
    });
  }
  if (err instanceof GatewayNotConnected) return commandError('unreachable', `the agent gateway "${gatewayId}" is not connected`, { remedy: 'try again once the gateway is back; the adapter reconnects by itself' });
  if (err instanceof GatewayConnectionLost) return commandError('connection_lost', `the connection to the gateway "${gatewayId}" dropped before it answered chat.history`, { remedy: 'try again: the adapter reconnects by itself' });
  if (err instanceof GatewayTimeout) return commandError('timeout', `the gateway "${gatewayId}" did not answer chat.history in time`, { remedy: 'try again, or ask for fewer messages (limit)' });
  return commandError('upstream', `chat.history failed: ${(err as Error)?.message ?? String(err)}`);
}

/** Answers molten.query.moltbot.<gatewayId>.* for this replica. stop() before closing the bus. */
export function startSessionQueries(bus: Bus, o: SessionQueriesOptions): QueryServer {
  return serveQueries(bus, { domain: DOMAIN, scope: o.gatewayId, handlers: sessionQueryHandlers(o), log: o.log });
}
