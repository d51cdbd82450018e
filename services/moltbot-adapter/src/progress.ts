import type { Logger } from '@molten/kit';

/**
 * Coalesces a run's streamed output: an agent streams a token at a time, and one bus message
 * per token would flood the events stream and every SSE client. Text is gathered per stream and
 * flushed at most once per interval (default 100 ms, so ≤ 10 flushes a second), one message per
 * stream that has text, in the order the streams first spoke.
 */
export class ProgressCoalescer {
  readonly #buffers = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(
    private readonly emit: (stream: string, text: string) => Promise<void>,
    private readonly log: Logger,
    private readonly intervalMs = 100,
  ) {}

  push(stream: string, text: string): void {
    if (this.#closed || !text) return;
    this.#buffers.set(stream, (this.#buffers.get(stream) ?? '') + text);
    this.#timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  /** Sends what is buffered now; resolves when everything sent so far is published. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = [...this.#buffers];
    this.#buffers.clear();
    this.#chain = this.#chain.then(async () => {
      for (const [stream, text] of batch) {
        try {
          await this.emit(stream, text);
        } catch (err) {
          // Progress is a courtesy; the outcome is what counts. Never fail a run for it.
          this.log.warn({ err, stream }, 'progress not published');
        }
      }
    });
    return this.#chain;
  }

  /** Flushes and stops taking text. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }
}
