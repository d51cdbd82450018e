import type { Msg } from '@nats-io/nats-core';
import {
  MESSAGE_TYPES,
  QUERY_TYPES,
  isQueryName,
  parseQuerySubject,
  queryQueue,
  subjects,
  commandError,
  type CommandError,
  type MessageOf,
  type QueryName,
} from '@molten/contracts';
import { scrub, type Logger } from '@molten/kit';
import type { Bus } from './connect.js';
import { MalformedMessageError, decodeBus, encodeBus } from './messages.js';

/**
 * Reads answered on request: molten.query.<domain>.<scope>.<what> over core NATS request/reply.
 * An adapter's replicas subscribe in one queue group (each read is answered once); the asker
 * gets the typed reply, whose `result` is the data or a CommandError — also when nothing
 * answered (`no_adapter`), the answer came too late (`deadline`) or the request was malformed
 * (`invalid`), so a caller handles one shape.
 */
export type QueryRequestOf<Q extends QueryName> = MessageOf<(typeof QUERY_TYPES)[Q]['request']>;
export type QueryReplyOf<Q extends QueryName> = MessageOf<(typeof QUERY_TYPES)[Q]['reply']>;

export type QueryHandlers = { [Q in QueryName]?: (request: QueryRequestOf<Q>) => Promise<QueryReplyOf<Q>> };

/** A reply that carries only an error (every reply message has `result` and `fetchedAtMs`). */
export function queryErrorReply<Q extends QueryName>(what: Q, error: CommandError): QueryReplyOf<Q> {
  const value: CommandError = { ...error, message: scrub(error.message) };
  return MESSAGE_TYPES[QUERY_TYPES[what].reply].create({ result: { $case: 'error', value }, fetchedAtMs: Date.now() }) as QueryReplyOf<Q>;
}

export interface QueryServer {
  /** Reads answered so far (for metrics and tests). */
  readonly answered: number;
  /** Stops taking reads; reads in progress are still answered. */
  stop(): Promise<void>;
}

export interface ServeQueriesOptions {
  domain: string;
  scope: string;
  handlers: QueryHandlers;
  log: Logger;
}

/** Answers a domain's queries from this replica, in the domain's queue group. */
export function serveQueries(bus: Bus, o: ServeQueriesOptions): QueryServer {
  const sub = bus.nc.subscribe(subjects.queriesFor(o.domain, o.scope), { queue: queryQueue(o.domain, o.scope) });
  const inflight = new Set<Promise<void>>();
  let answered = 0;

  const answer = async (m: Msg): Promise<void> => {
    const what = parseQuerySubject(m.subject)?.what ?? '';
    if (!isQueryName(what)) {
      respond(m, undefined, commandError('invalid', `unknown query "${what}" (known: ${Object.keys(QUERY_TYPES).join(', ')})`));
      return;
    }
    const types = QUERY_TYPES[what];
    const handler = o.handlers[what] as ((r: unknown) => Promise<unknown>) | undefined;
    if (!handler) {
      respond(m, what, commandError('unsupported', `this ${o.domain} adapter does not answer ${what}`));
      return;
    }
    let request: unknown;
    try {
      request = decodeBus(m, [types.request]).value;
    } catch (err) {
      const reason = err instanceof MalformedMessageError ? err.reason : String(err);
      o.log.warn({ subject: m.subject, reason }, 'malformed query');
      respond(m, what, commandError('invalid', `malformed ${what} request: ${reason}`));
      return;
    }
    try {
      const { data, headers } = encodeBus(types.reply, (await handler(request)) as never);
      m.respond(data, { headers });
    } catch (err) {
      o.log.error({ err, subject: m.subject }, 'query handler failed');
      respond(m, what, commandError('upstream', `${what} failed inside the adapter: ${(err as Error)?.message ?? err}`));
    }
  };

  const respond = (m: Msg, what: QueryName | undefined, error: CommandError) => {
    if (!m.reply) return;
    if (!what) {
      // An unknown query has no reply type: an empty answer, which requestQuery reports.
      m.respond(new Uint8Array(0));
      return;
    }
    const { data, headers } = encodeBus(QUERY_TYPES[what].reply, queryErrorReply(what, error) as never);
    m.respond(data, { headers });
  };

  const loop = (async () => {
    try {
      for await (const m of sub) {
        const p = answer(m)
          .catch((err) => o.log.error({ err }, 'query not answered'))
          .finally(() => {
            answered++;
            inflight.delete(p);
          });
        inflight.add(p);
      }
    } catch (err) {
      // A subscription the server refuses (permissions) ends here; the rest of the adapter runs on.
      o.log.error({ err, subject: subjects.queriesFor(o.domain, o.scope) }, 'query subscription ended; reads are not answered by this replica');
    }
  })();

  return {
    get answered() {
      return answered;
    },
    async stop() {
      await sub.drain().catch(() => {});
      await loop;
      await Promise.allSettled([...inflight]);
    },
  };
}

/**
 * Asks the domain's adapter for a read. Never throws for bus trouble: no replica subscribed
 * (`no_adapter`), no answer in time (`deadline`) and an undecodable answer (`upstream`) come
 * back as the reply's error, like the adapter's own errors.
 */
export async function requestQuery<Q extends QueryName>(
  bus: Pick<Bus, 'nc'>,
  o: { domain: string; scope: string; what: Q; request: QueryRequestOf<Q>; timeoutMs?: number },
): Promise<QueryReplyOf<Q>> {
  const types = QUERY_TYPES[o.what];
  const subject = subjects.query(o.domain, o.scope, o.what);
  const { data, headers } = encodeBus(types.request, o.request as never);
  let msg: Msg;
  try {
    msg = await bus.nc.request(subject, data, { timeout: o.timeoutMs ?? 15_000, headers });
  } catch (err) {
    const e = err as Error & { isNoResponders?: () => boolean; cause?: unknown };
    const noResponders = e.isNoResponders?.() === true || e.name === 'NoRespondersError' || (e.cause as Error | undefined)?.name === 'NoRespondersError';
    if (noResponders) {
      return queryErrorReply(
        o.what,
        commandError('no_adapter', `no ${o.domain} adapter answers for "${o.scope}" (${o.what})`, {
          remedy: `Start the ${o.domain === 'proxmox' ? 'proxmox-adapter' : `${o.domain} adapter`} for ${o.scope} (MOLTEN_CLUSTER=${o.scope}), or check its logs.`,
        }),
      );
    }
    const timedOut = /timeout/i.test(`${e.name} ${e.message} ${(e.cause as Error | undefined)?.name ?? ''}`);
    return queryErrorReply(
      o.what,
      timedOut
        ? commandError('deadline', `the ${o.domain} adapter did not answer ${o.what} within ${o.timeoutMs ?? 15_000} ms`)
        : commandError('connection_lost', `cannot ask the ${o.domain} adapter: ${e.message}`),
    );
  }
  if (msg.data.length === 0) return queryErrorReply(o.what, commandError('invalid', `the ${o.domain} adapter does not know ${o.what}`));
  try {
    return decodeBus(msg, [types.reply]).value as QueryReplyOf<Q>;
  } catch (err) {
    return queryErrorReply(o.what, commandError('upstream', `unreadable ${o.what} answer: ${(err as Error).message}`));
  }
}
