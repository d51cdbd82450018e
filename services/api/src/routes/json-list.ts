import type { Context } from 'hono';
import { JSON_PARTS_CHUNK, JsonList, jsonParts } from '../sse/json-parts.js';

/**
 * A list answer, `{"data":[…],"meta":…}`, the same text `c.json` writes. Up to JSON_PARTS_CHUNK
 * items it is `c.json`. A longer list (15,000 guests are ~10 MB of JSON) is written in parts as
 * the client reads (jsonParts: JSON_PARTS_CHUNK items at a time): the whole answer's REST
 * objects, its text and its bytes never exist at once (they did: ~40 MB at the peak of each
 * whole `/api/vms` at 15,000 guests, pages V8 and malloc then kept; docs/performance.md, "Memory
 * at 15,000 guests"). The items are the ones read when the request came (immutable values), so
 * the answer is one moment's list.
 */
export function jsonList<T>(c: Context, items: readonly T[], toJson: (item: T) => unknown, meta: unknown): Response {
  if (items.length <= JSON_PARTS_CHUNK) return c.json({ data: items.map(toJson), meta });
  const encoder = new TextEncoder();
  const parts = jsonParts({ data: new JsonList(items, toJson), meta });
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const next = parts.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      },
    },
    // Pulled only when the response asks: a slow client holds one part, not the list's text.
    { highWaterMark: 0 },
  );
  return c.body(body, 200, { 'content-type': 'application/json' });
}
