import type { Api } from '$lib/api/client';

/**
 * Page reads started before the page's component exists: by its `load`, which SvelteKit runs
 * when the pointer rests on a link (data-sveltekit-preload-data="hover") and at navigation,
 * while the page's code loads and renders. The Panel that asks for the same path takes the read
 * already under way instead of starting another. A read not taken within FRESH_MS is dropped.
 */
export const PRELOAD_FRESH_MS = 5_000;
const MAX_READS = 32;

const started = new Map<string, { at: number; answer: Promise<unknown> }>();

export function preload(api: Api, path: string): void {
  const now = Date.now();
  for (const [p, e] of started) if (now - e.at > PRELOAD_FRESH_MS) started.delete(p);
  if (started.has(path)) return;
  if (started.size >= MAX_READS) started.delete(started.keys().next().value!);
  const answer = api.get(path);
  // Taken later, or never (a link only hovered): a failure is the taker's to report.
  answer.catch(() => {});
  started.set(path, { at: now, answer });
}

/** The read under way for `path`, once; undefined when none was started or it is too old. */
export function takePreloaded<T>(path: string): Promise<T> | undefined {
  const e = started.get(path);
  if (!e) return undefined;
  started.delete(path);
  return Date.now() - e.at <= PRELOAD_FRESH_MS ? (e.answer as Promise<T>) : undefined;
}
