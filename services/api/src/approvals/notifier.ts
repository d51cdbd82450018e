import type * as Rest from '@molten/contracts/rest';
import type { Logger } from '@molten/kit';

/** How the webhook wants its message: ntfy (plain text and headers), Discord (`{content}`), or Molten's JSON. */
export type NotifyFormat = 'json' | 'ntfy' | 'discord';

export interface NotifierOptions {
  /** MOLTEN_NOTIFY_URL. Treated as a secret (a Discord or ntfy URL carries its credential): never logged. */
  url: string;
  /** MOLTEN_NOTIFY_FORMAT; `auto` picks by the URL (discord.com webhooks, hosts named ntfy), else json. */
  format?: NotifyFormat | 'auto';
  /** Where operators open the dashboard (MOLTEN_PUBLIC_URL, else the api's address once it listens), for the link to the inbox. */
  publicUrl: () => string;
  log: Logger;
  fetch?: typeof fetch;
  /** Tries per message (with 1 s, 2 s… between them). */
  attempts?: number;
  timeoutMs?: number;
}

export function notifyFormat(url: string, format: NotifyFormat | 'auto' = 'auto'): NotifyFormat {
  if (format !== 'auto') return format;
  const u = new URL(url);
  if (/(^|\.)discord(app)?\.com$/i.test(u.hostname) && u.pathname.startsWith('/api/webhooks/')) return 'discord';
  if (/(^|\.)ntfy\b/i.test(u.hostname)) return 'ntfy';
  return 'json';
}

/** The message for an approval that waits, in the webhook's format. */
export function approvalMessage(a: Rest.Approval, format: NotifyFormat, inbox: string): { body: string; headers: Record<string, string> } {
  const who = `${a.requestedBy.actor}${a.requestedBy.client ? ` (${a.requestedBy.client})` : ''}`;
  const line = `${who} asks to ${a.summary}; ${a.safety}. Expires ${a.expiresAt}.`;
  if (format === 'ntfy') {
    // ntfy takes the message as the body and the rest as headers (ntfy.sh/docs/publish); header values stay ASCII.
    const ascii = (s: string) => s.replace(/[^\x20-\x7e]/g, '?');
    return {
      body: `${line}\nOpen the inbox: ${inbox}`,
      headers: { 'content-type': 'text/plain; charset=utf-8', Title: ascii(`Molten: approval needed (${a.safety})`), Click: inbox, Tags: a.safety === 'destructive' ? 'warning' : 'bell', Priority: a.safety === 'destructive' ? 'high' : 'default' },
    };
  }
  if (format === 'discord') {
    return { body: JSON.stringify({ content: `**Molten: approval needed**\n${line}\n<${inbox}>`.slice(0, 2000), allowed_mentions: { parse: [] } }), headers: { 'content-type': 'application/json' } };
  }
  return {
    body: JSON.stringify({ type: 'approval.pending', text: line, url: inbox, approval: a }),
    headers: { 'content-type': 'application/json' },
  };
}

/**
 * Announces a pending approval outside the browser (MOLTEN_NOTIFY_URL): one POST per approval,
 * retried a few times, never blocking the call it is about. A failure is logged without the URL.
 */
export class ApprovalNotifier {
  readonly #o: NotifierOptions;
  readonly #format: NotifyFormat;
  readonly #inflight = new Set<Promise<void>>();
  /** Sent and failed, for tests and metrics. */
  sent = 0;
  failed = 0;

  constructor(o: NotifierOptions) {
    this.#o = o;
    this.#format = notifyFormat(o.url, o.format);
  }

  get format(): NotifyFormat {
    return this.#format;
  }

  pending(a: Rest.Approval): void {
    const inbox = `${this.#o.publicUrl().replace(/\/+$/, '')}/approvals?id=${encodeURIComponent(a.id)}`;
    const p = this.#send(approvalMessage(a, this.#format, inbox), a.id).finally(() => this.#inflight.delete(p));
    this.#inflight.add(p);
  }

  /** Waits for messages on their way (at shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#inflight]);
  }

  async #send(msg: { body: string; headers: Record<string, string> }, id: string): Promise<void> {
    const attempts = this.#o.attempts ?? 3;
    const doFetch = this.#o.fetch ?? fetch;
    let why = '';
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1000 * 2 ** (i - 1)));
      try {
        const res = await doFetch(this.#o.url, { method: 'POST', body: msg.body, headers: msg.headers, signal: AbortSignal.timeout(this.#o.timeoutMs ?? 5_000), redirect: 'error' });
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) {
          this.sent += 1;
          return;
        }
        why = `HTTP ${res.status}`;
        if (res.status >= 400 && res.status < 500 && res.status !== 429) break;
      } catch (err) {
        why = (err as Error).name === 'TimeoutError' ? 'no answer in time' : 'could not connect';
      }
    }
    this.failed += 1;
    this.#o.log.warn({ approvalId: id, why, format: this.#format }, 'approval notification not delivered (MOLTEN_NOTIFY_URL)');
  }
}
