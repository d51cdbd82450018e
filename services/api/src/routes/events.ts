import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import type { Events } from '../ports.js';

const encoder = new TextEncoder();
/** A client this far behind (bytes queued) is dropped; it reconnects and resumes. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/**
 * GET /api/events: Server-Sent Events. A new client gets a snapshot, then deltas; a client that
 * reconnects with Last-Event-ID (header, or ?lastEventId=) gets only what it missed, or a fresh
 * snapshot when that is no longer held.
 */
export function eventRoutes(events: Events) {
  return new Hono<AppEnv>()
    .use(requireRole('viewer'))
    .get('/', (c) => {
      const role = c.get('principal')!.role;
      const lastId = Number(c.req.header('last-event-id') ?? c.req.query('lastEventId') ?? NaN);
      let detach: (() => void) | undefined;
      let ping: NodeJS.Timeout | undefined;
      const body = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            let closed = false;
            const close = () => {
              if (closed) return;
              closed = true;
              detach?.();
              clearInterval(ping);
              try {
                controller.close();
              } catch {
                // already closed by the client
              }
            };
            const write = (text: string): boolean => {
              if (closed) return false;
              if ((controller.desiredSize ?? 0) < -MAX_QUEUED_BYTES) return false;
              controller.enqueue(encoder.encode(text));
              return true;
            };
            detach = events.connect({ write, close }, { lastEventId: Number.isFinite(lastId) ? lastId : undefined, role });
            // Comments keep proxies from timing the stream out.
            ping = setInterval(() => write(': keep-alive\n\n') || close(), 15_000);
          },
          cancel() {
            detach?.();
            clearInterval(ping);
          },
        },
        new ByteLengthQueuingStrategy({ highWaterMark: 256 * 1024 }),
      );
      return new Response(body, {
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        },
      });
    });
}
