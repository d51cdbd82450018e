import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import type { Events } from '../ports.js';
import { SendBudget } from '../sse/send-budget.js';
import { encodeShared } from '../sse/shared-encoding.js';

/** What a stream holds before it stops asking for more (its writes still queue past it). */
const HIGH_WATER_MARK = 256 * 1024;

/**
 * A Last-Event-ID as this api writes them: a decimal sequence number, nothing else. Anything
 * else ("0x10", "1e308", " ", "-1", a number past 2^53) names no event: the client gets a
 * snapshot, as a new one does. (A 400 would not help: an EventSource cannot change the header
 * it resends, and stops for good on an error answer.)
 */
export function parseLastEventId(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(raw)) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * GET /api/events: Server-Sent Events. A new client gets a snapshot, then deltas; a client that
 * reconnects with Last-Event-ID (header, or ?lastEventId=) gets only what it missed, or a fresh
 * snapshot when that is no longer held.
 */
export function eventRoutes(events: Events, budget = new SendBudget()) {
  return new Hono<AppEnv>()
    .use(requireRole('viewer'))
    .get('/', (c) => {
      const role = c.get('principal')!.role;
      const lastEventId = parseLastEventId(c.req.header('last-event-id') ?? c.req.query('lastEventId'));
      const self = {};
      // The node server's response (@hono/node-server puts it in the env), when there is one.
      const socket = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
      let detach: (() => void) | undefined;
      let ping: NodeJS.Timeout | undefined;
      let closed = false;
      const finish = () => {
        closed = true;
        detach?.();
        clearInterval(ping);
        budget.release(self);
      };
      const body = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            const queued = () => HIGH_WATER_MARK - (controller.desiredSize ?? 0);
            const close = () => {
              if (closed) return;
              finish();
              try {
                controller.close();
              } catch {
                // already closed by the client
              }
            };
            // A client that is too far behind is cut off, not closed: closing would keep its
            // queue until it reads it, which a stalled client never does. Destroying its socket
            // drops the socket's buffers and cancels this stream (dropping its queue); the client
            // reconnects with the id it last got. Without a socket (app.request) the stream errors.
            const drop = () => {
              if (closed) return;
              finish();
              if (socket) socket.destroy();
              else controller.error(new Error('the client fell too far behind'));
            };
            const write = (chunk: string | readonly Uint8Array[]): boolean => {
              if (closed) return false;
              // Bytes in parts (the snapshot) are the same for every client that connects together: shared, never mutated.
              if (typeof chunk === 'string') controller.enqueue(encodeShared(chunk));
              else for (const part of chunk) controller.enqueue(part as Uint8Array);
              if (budget.update(self, queued())) return true;
              drop();
              return false;
            };
            detach = events.connect({ write, close }, { lastEventId, role });
            if (closed) return;
            // Comments keep proxies from timing the stream out, and find clients that left.
            ping = setInterval(() => write(': keep-alive\n\n'), 15_000);
          },
          pull(controller) {
            // The socket took some: what this client holds is less now.
            if (!closed) budget.update(self, HIGH_WATER_MARK - (controller.desiredSize ?? 0));
          },
          cancel() {
            if (!closed) finish();
          },
        },
        new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER_MARK }),
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
