export interface SseEvent {
  id?: string;
  event: string;
  data: string;
  at: number;
}

/**
 * A minimal SSE reader for benchmarks: hands each event's raw data to onEvent with the time it
 * arrived, leaving parsing to the caller (so 100 clients do not cost 100 JSON parses per event).
 */
export async function openSse(url: string, token: string, onEvent: (e: SseEvent) => void): Promise<{ close(): void }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  if (!res.ok || !res.body) throw new Error(`SSE ${url}: ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  // The text of an event still incomplete, as the chunks it came in: joined only once its end
  // (a blank line) has come. Appending each chunk to one string and searching it flattened a
  // multi-megabyte snapshot once per chunk, which made the reader, not the api, the bottleneck.
  let held: string[] = [];
  let tail = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const at = performance.now();
        const text = decoder.decode(value, { stream: true });
        // Only the new text (and the last character before it) can complete an event.
        const end = (tail + text).indexOf('\n\n');
        held.push(text);
        tail = text.slice(-1);
        if (end < 0) continue;
        let buffer = held.join('');
        held = [];
        let start = 0;
        for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n', start)) {
          const block = buffer.slice(start, i);
          start = i + 2;
          let event = 'message';
          let data = '';
          let id: string | undefined;
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
            else if (line.startsWith('id: ')) id = line.slice(4);
          }
          if (data) onEvent({ id, event, data, at });
        }
        buffer = buffer.slice(start);
        if (buffer) held.push(buffer);
        tail = buffer.slice(-1);
      }
    } catch {
      // closed
    }
  })();
  return { close: () => controller.abort() };
}

/**
 * Waiting for keyed events ("cmd:<id>:succeeded") by the time they arrived. An event kept when
 * it comes before anyone waits for it (a command can end before its 202 is read) is remembered
 * for keepMs, then dropped.
 */
export class EventWaiters {
  readonly #waiters = new Map<string, (at: number) => void>();
  readonly #early = new Map<string, number>();

  constructor(private readonly keepMs = 60_000) {}

  /** An event arrived at `at`; `keep`: remember it for a wait that starts later. */
  arrived(key: string, at: number, keep = true): void {
    const waiter = this.#waiters.get(key);
    if (waiter) return waiter(at);
    if (!keep) return;
    this.#early.set(key, at);
    setTimeout(() => this.#early.delete(key), this.keepMs).unref();
  }

  /** When the event `key` arrived (at once if it already did). */
  wait(key: string, timeoutMs = 30_000): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const at = this.#early.get(key);
      if (at !== undefined) {
        this.#early.delete(key);
        return resolve(at);
      }
      const t = setTimeout(() => {
        this.#waiters.delete(key);
        reject(new Error(`no ${key} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.set(key, (arrivedAt) => {
        clearTimeout(t);
        this.#waiters.delete(key);
        resolve(arrivedAt);
      });
    });
  }
}
