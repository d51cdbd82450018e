import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { ControlPlaneServiceService } from '@molten/contracts/grpc';
import { controlPlaneHandlers, type HandlerDeps } from './handlers.js';
import { addReflection } from './reflection.js';
import { WatchRegistry } from './watch-events.js';

export interface GrpcServerOptions {
  host: string;
  /** 0: a free port (tests). */
  port: number;
}

export interface RunningGrpc {
  port: number;
  /** host:port, as a gRPC client dials it. */
  address: string;
  watches: WatchRegistry;
  /** Ends every watch (UNAVAILABLE, with where to resume), lets unary calls finish within graceMs, then closes. */
  stop(graceMs?: number): Promise<void>;
}

/** Serves ControlPlaneService (and server reflection) on host:port. */
export async function startGrpcServer(deps: Omit<HandlerDeps, 'watches'>, o: GrpcServerOptions): Promise<RunningGrpc> {
  const watches = new WatchRegistry();
  const server = new Server({
    // Watches are long-lived: keepalives find dead clients behind NATs and proxies.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
  });
  server.addService(ControlPlaneServiceService, controlPlaneHandlers({ ...deps, watches }));
  addReflection(server);
  const host = o.host.includes(':') && !o.host.startsWith('[') ? `[${o.host}]` : o.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${o.port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const address = `${host}:${port}`;
  deps.log.info({ address }, 'gRPC listening');
  return {
    port,
    address,
    watches,
    async stop(graceMs = 5_000) {
      watches.endAll(status.UNAVAILABLE, 'the api is shutting down');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
