import { serve } from '@hono/node-server';

export interface RunningHttp {
  port: number;
  /** Stops accepting connections, lets requests in flight finish within graceMs, then closes the rest. */
  close(graceMs: number): Promise<void>;
}

/** Serves a fetch handler (the Hono app) on host:port (0: a free port). */
export async function listenHttp(fetch: (req: Request) => Response | Promise<Response>, host: string, port: number): Promise<RunningHttp> {
  const { server, bound } = await new Promise<{ server: ReturnType<typeof serve>; bound: number }>((resolve) => {
    const s = serve({ fetch, hostname: host, port }, (info) => resolve({ server: s, bound: info.port }));
  });
  const s = server as unknown as { closeIdleConnections?: () => void; closeAllConnections?: () => void };
  return {
    port: bound,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        // SSE streams never end by themselves: past the grace they are cut.
        const timer = setTimeout(() => s.closeAllConnections?.(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        s.closeIdleConnections?.();
      }),
  };
}
