import { SvelteMap } from 'svelte/reactivity';
import type { Command, ProgressEvent, ProgressLine } from '$lib/api/types';

type Listener = (c: Command) => void;

/** Newer of two copies of a command: the one further along its lifecycle. */
function newer(a: Command | undefined, b: Command): boolean {
  if (!a) return true;
  if (b.transitions.length !== a.transitions.length) return b.transitions.length > a.transitions.length;
  return (b.updatedAt ?? '') >= (a.updatedAt ?? '');
}

/**
 * Recent commands (newest first) and the output of running ones, from the snapshot, `command`
 * and `progress` events and the api's answers to our own submissions. Others follow a command
 * by subscribing (the optimistic guest rows, a tool call, an agent run).
 */
export class Commands {
  recent = $state.raw<readonly Command[]>([]);
  /** Streamed output per command id. */
  readonly progress = new SvelteMap<string, readonly ProgressLine[]>();

  readonly #byId = new Map<string, Command>();
  readonly #listeners = new Set<Listener>();
  readonly #limit: number;

  constructor(limit = 200) {
    this.#limit = limit;
  }

  get(id: string): Command | undefined {
    return this.#byId.get(id);
  }

  subscribe(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The snapshot's commands: merged, never replacing a copy further along. */
  replaceAll(commands: readonly Command[]): void {
    for (const c of commands) this.#set(c);
    this.#publish();
    for (const c of commands) this.#emit(this.#byId.get(c.id)!);
  }

  put(c: Command): void {
    if (!this.#set(c)) return;
    this.#publish();
    this.#emit(c);
  }

  addProgress(p: ProgressEvent): void {
    const list = this.progress.get(p.commandId) ?? [];
    if (list.some((x) => x.seq === p.seq)) return; // replayed after a resume
    const next = [...list, p];
    if (next.length > 2000) next.splice(0, next.length - 2000);
    this.progress.set(p.commandId, next);
  }

  /** Output fetched with GET /api/commands/{id} (for a run that started before this page). */
  setProgress(id: string, lines: readonly ProgressLine[]): void {
    const have = this.progress.get(id) ?? [];
    const seqs = new Set(have.map((x) => x.seq));
    this.progress.set(id, [...have, ...lines.filter((x) => !seqs.has(x.seq))].sort((a, b) => a.seq - b.seq));
  }

  #set(c: Command): boolean {
    if (!newer(this.#byId.get(c.id), c)) return false;
    this.#byId.set(c.id, c);
    return true;
  }

  #publish(): void {
    // Ids are ULIDs: they sort by creation time.
    const all = [...this.#byId.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    if (all.length > this.#limit) {
      for (const c of all.slice(this.#limit)) {
        this.#byId.delete(c.id);
        this.progress.delete(c.id);
      }
      all.length = this.#limit;
    }
    this.recent = all;
  }

  #emit(c: Command): void {
    for (const fn of this.#listeners) fn(c);
  }
}
