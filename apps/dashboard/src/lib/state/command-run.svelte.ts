import { ApiError, newIdempotencyKey } from '$lib/api/client';
import type { Command, CommandStatus } from '$lib/api/types';
import type { Commands } from './commands.svelte';

export type RunPhase = 'idle' | 'sending' | CommandStatus;

/**
 * One thing a person asked for (a tool call, an agent run), followed to its end: submitted
 * with its own idempotency key, then kept current from the command events until it settles.
 * The command's result (or error) is what the page shows.
 */
export class CommandRun {
  phase = $state<RunPhase>('idle');
  command = $state.raw<Command | null>(null);
  /** An error answer to the submission (400 with field errors, 403, 503…). */
  error = $state.raw<ApiError | null>(null);

  readonly #commands: Commands;
  readonly #newKey: () => string;
  readonly #unsubscribe: () => void;
  #generation = 0;

  constructor(commands: Commands, o: { newKey?: () => string } = {}) {
    this.#commands = commands;
    this.#newKey = o.newKey ?? newIdempotencyKey;
    this.#unsubscribe = commands.subscribe((c) => this.#follow(c));
  }

  get busy(): boolean {
    return this.phase === 'sending' || this.phase === 'requested' || this.phase === 'accepted' || this.phase === 'running';
  }

  get settled(): boolean {
    return this.phase === 'succeeded' || this.phase === 'failed' || this.phase === 'timed_out' || this.phase === 'uncertain';
  }

  /** Submits; `submit` POSTs with the idempotency key it is given and answers the command. */
  async start(submit: (idempotencyKey: string) => Promise<Command>): Promise<void> {
    if (this.busy) return;
    const gen = ++this.#generation;
    this.phase = 'sending';
    this.command = null;
    this.error = null;
    try {
      const c = await submit(this.#newKey());
      if (gen !== this.#generation) return;
      this.#commands.put(c);
      const seen = this.#commands.get(c.id);
      this.#set(seen && seen.transitions.length >= c.transitions.length ? seen : c);
    } catch (err) {
      if (gen !== this.#generation) return;
      this.error = err instanceof ApiError ? err : new ApiError(0, 'unknown', (err as Error)?.message ?? String(err));
      this.phase = 'idle';
    }
  }

  /** Forgets the last run (a new form). */
  reset(): void {
    this.#generation++;
    this.phase = 'idle';
    this.command = null;
    this.error = null;
  }

  dispose(): void {
    this.#unsubscribe();
  }

  #follow(c: Command): void {
    if (this.command && c.id === this.command.id && c.transitions.length >= this.command.transitions.length) this.#set(c);
  }

  #set(c: Command): void {
    this.command = c;
    this.phase = c.status;
  }
}
