import type { Approval } from '@molten/contracts/rest';
import { ApiError, type Api } from '$lib/api/client';

export type Decision = 'approve' | 'deny';

/** A late decision in words: who was first and what they decided. */
export function conflictMessage(a: Approval | undefined, status: string | undefined): string {
  const now = a?.status ?? status;
  if (now === 'approved' || now === 'denied') {
    return `Already ${now}${a?.decidedBy ? ` by ${a.decidedBy}` : ''}${a?.reason ? ` (“${a.reason}”)` : ''}: your decision was not needed.`;
  }
  if (now === 'expired') return 'This request expired before your decision reached Molten; the agent was told so.';
  return 'Someone decided this request first.';
}

/**
 * The approval inbox: agents' calls that wait for an operator, kept live from the snapshot and
 * the stream's `approval` events (and read again after a reconnect, since those events are not
 * replayed). Pending ones newest first; decided ones stay listed for a while.
 */
export class Approvals {
  all = $state.raw<readonly Approval[]>([]);
  /** The error of the last decision per approval (a 409 in words, a 403, the api unreachable). */
  errors = $state.raw<Readonly<Record<string, string>>>({});
  /** Ids with a decision on its way. */
  busy = $state.raw<ReadonlySet<string>>(new Set());

  readonly #api: Api;

  constructor(api: Api) {
    this.#api = api;
  }

  get pending(): Approval[] {
    return this.all.filter((a) => a.status === 'pending');
  }

  get decided(): Approval[] {
    return this.all.filter((a) => a.status !== 'pending');
  }

  get(id: string): Approval | undefined {
    return this.all.find((a) => a.id === id);
  }

  replaceAll(list: readonly Approval[]): void {
    this.all = sortNewestFirst(list);
  }

  put(a: Approval): void {
    const rest = this.all.filter((x) => x.id !== a.id);
    const had = this.all.find((x) => x.id === a.id);
    // A late copy (still pending) never undoes a decision already seen.
    if (had && had.status !== 'pending' && a.status === 'pending') return;
    this.all = sortNewestFirst([a, ...rest]);
  }

  /** Reads the inbox again (after a reconnect: approval events are live only). */
  async refresh(): Promise<void> {
    try {
      const r = await this.#api.get<{ data: Approval[] }>('/api/approvals?all=1');
      this.replaceAll(r.data);
    } catch {
      // The stream's status banner says when the api is unreachable; the list stays as it was.
    }
  }

  async decide(id: string, decision: Decision, reason?: string): Promise<boolean> {
    this.busy = new Set([...this.busy, id]);
    this.#setError(id, undefined);
    try {
      const r = await this.#api.post<{ data: Approval }>(`/api/approvals/${id}/${decision}`, reason?.trim() ? { reason: reason.trim() } : {});
      this.put(r.data);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        const fresh = await this.#api.get<{ data: Approval }>(`/api/approvals/${id}`).then((r) => r.data).catch(() => undefined);
        if (fresh) this.put(fresh);
        this.#setError(id, conflictMessage(fresh, typeof err.details.status === 'string' ? err.details.status : undefined));
      } else {
        this.#setError(id, err instanceof Error ? err.message : String(err));
      }
      return false;
    } finally {
      const next = new Set(this.busy);
      next.delete(id);
      this.busy = next;
    }
  }

  #setError(id: string, message: string | undefined): void {
    const next = { ...this.errors };
    if (message) next[id] = message;
    else delete next[id];
    this.errors = next;
  }
}

const sortNewestFirst = (list: readonly Approval[]) => [...list].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
