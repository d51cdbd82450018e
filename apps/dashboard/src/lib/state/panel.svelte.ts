import { ApiError, type Api } from '$lib/api/client';
import { takePreloaded } from './preload';

/** What the api's page reads answer: the data, and how fresh it is. */
interface Answer<T> {
  data: T;
  meta?: { fetchedAt?: string; freshUntil?: string };
}

/**
 * One panel of a page read from the api (a guest's history, config, addresses…): its data, or
 * the error that keeps it from showing (a 403 naming a privilege, a 503 naming what to start), so
 * each panel degrades alone. A reload keeps the last data while it runs.
 */
export class Panel<T> {
  data = $state.raw<T | undefined>(undefined);
  error = $state.raw<ApiError | undefined>(undefined);
  loading = $state(false);
  /** Until when the data stays current (ms; 0: no promise). */
  freshUntil = 0;

  readonly #api: Api;
  #generation = 0;

  constructor(api: Api) {
    this.#api = api;
  }

  async load(path: string, o: { keep?: boolean } = {}): Promise<void> {
    const gen = ++this.#generation;
    this.loading = true;
    if (!o.keep) this.data = undefined;
    try {
      // A first read may already be under way: started by the page's load (see preload.ts).
      const r = await ((!o.keep && takePreloaded<Answer<T>>(path)) || this.#api.get<Answer<T>>(path));
      if (gen !== this.#generation) return;
      this.data = r.data;
      this.error = undefined;
      this.freshUntil = r.meta?.freshUntil ? Date.parse(r.meta.freshUntil) : 0;
    } catch (err) {
      if (gen !== this.#generation) return;
      this.error = err instanceof ApiError ? err : new ApiError(0, 'unknown', (err as Error)?.message ?? String(err));
    } finally {
      if (gen === this.#generation) this.loading = false;
    }
  }
}

/**
 * Reads `path` into the panel now and again whenever its answer stops being current (its
 * `freshUntil`, Proxmox's next step; a minute when it makes no promise; at most 15 min away).
 * Returns the stop, for an $effect's cleanup.
 */
export function follow<T>(panel: Panel<T>, path: string): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const next = async (keep: boolean) => {
    await panel.load(path, { keep });
    if (stopped) return;
    const wait = panel.freshUntil ? Math.max(5_000, panel.freshUntil - Date.now() + 500) : 60_000;
    timer = setTimeout(() => void next(true), Math.min(wait, 15 * 60_000));
  };
  void next(false);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** A panel's error in words: what failed, and what to do (the privilege to grant, the service to start). */
export function panelError(e: ApiError): string {
  const privilege = typeof e.details.privilege === 'string' ? e.details.privilege : undefined;
  const remedy = e.remedy;
  return `${e.message}${privilege && !e.message.includes(privilege) ? ` (needs ${privilege})` : ''}${remedy ? ` ${remedy}` : ''}`;
}
