import type { Context } from 'hono';

/** Items per chunk of a list written in parts; a chunk of guests is ~350 KB of JSON. */
export const LIST_CHUNK = 500;

/**
 * A list answer, `{"data":[…],"meta":…}`, the same text `c.json` writes. Up to LIST_CHUNK items
 * it is `c.json`. A longer list (15,000 guests are ~10 MB of JSON) is written LIST_CHUNK items at
 * a time as the client reads: the whole answer's REST objects, its text and its bytes never
 * exist at once (they did: ~40 MB at the peak of each whole `/api/vms` at 15,000 guests, pages
 * V8 and malloc then kept; docs/performance.md, "Memory at 15,000 guests"). The items are the
 * ones read when the request came (immutable values), so the answer is one moment's list.
 */
export function jsonList<T>(c: Context, items: readonly T[], toJson: (item: T) => unknown, meta: unknown): Response {
  if (items.length <= LIST_CHUNK) return c.json({ data: items.map(toJson), meta });
  const encoder = new TextEncoder();
  let next = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (next >= items.length) {
          controller.enqueue(encoder.encode(`],"meta":${JSON.stringify(meta)}}`));
          controller.close();
          return;
        }
        const part = JSON.stringify(items.slice(next, next + LIST_CHUNK).map(toJson));
        controller.enqueue(encoder.encode(`${next === 0 ? '{"data":[' : ','}${part.slice(1, -1)}`));
        next += LIST_CHUNK;
      },
    },
    // Pulled only when the response asks: a slow client holds one chunk, not the list's text.
    { highWaterMark: 0 },
  );
  return c.body(body, 200, { 'content-type': 'application/json' });
}
