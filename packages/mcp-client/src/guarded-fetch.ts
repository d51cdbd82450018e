import type { FetchLike } from '@modelcontextprotocol/client';
import { scrub } from '@molten/kit';
import { HttpStatusError, UnreachableError, unreachable } from './errors.js';
import type { RequestGate } from './request-gate.js';

/** What the wrapped fetch saw last: transports that wrap errors (EventSource) lose the details. */
export interface FetchObserver {
  lastFailure?: HttpStatusError | UnreachableError;
}

/**
 * The fetch every HTTP transport of a connection uses. It keeps the server's Retry-After: after
 * a 429 no message is sent until the pause is over (a message that would be is refused as not
 * sent, so the caller may retry it safely), and event streams wait for the pause to end. It turns
 * 401/403/429 answers to messages and network failures into typed errors that say what happened.
 */
export function guardedFetch(gate: RequestGate, observer: FetchObserver, base: FetchLike = fetch): FetchLike {
  return async (url, init) => {
    const method = (init?.method ?? 'GET').toUpperCase();
    const isMessage = method !== 'GET';
    if (isMessage) {
      const paused = gate.pausedForMs;
      if (paused > 0) throw new HttpStatusError(429, 'Too Many Requests', 'not sent: the server asked Molten to wait', paused);
    } else {
      await gate.pauseOver(init?.signal);
    }

    let res: Response;
    try {
      res = await base(url, init);
    } catch (err) {
      if (init?.signal?.aborted) throw err;
      const e = unreachable(err, url);
      observer.lastFailure = e;
      throw e;
    }

    if (res.status === 429) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      const applied = gate.serverPaused(retryAfterMs);
      const e = new HttpStatusError(429, res.statusText, await bodySnippet(res), retryAfterMs ?? applied);
      observer.lastFailure = e;
      if (isMessage) throw e;
      return res;
    }
    if (res.status === 401 || res.status === 403) {
      const e = new HttpStatusError(res.status, res.statusText, isMessage ? await bodySnippet(res) : '');
      observer.lastFailure = e;
      if (isMessage) throw e;
      return res;
    }
    if (res.ok) gate.succeeded();
    return res;
  };
}

import { parseRetryAfter } from './request-gate.js';

export { parseRetryAfter };

async function bodySnippet(res: Response): Promise<string> {
  try {
    const text = (await res.text()).replace(/\s+/g, ' ').trim();
    return scrub(text.length > 200 ? `${text.slice(0, 199)}…` : text);
  } catch {
    return '';
  }
}
