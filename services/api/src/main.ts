import { serve } from '@hono/node-server';
import { connectBus, type Bus } from '@molten/bus';
import { createLogger, instanceId, isMain, onShutdown, type Logger } from '@molten/kit';
import { validateToolArguments } from '@molten/mcp-client/tool-arguments';
import { createApp } from './app.js';
import { TokenRegistry, operatorToken } from './auth/tokens.js';
import { loadConfig, type ApiConfig } from './config.js';
import { ControlPlane } from './control-plane.js';
import { startGrpcServer, type RunningGrpc } from './grpc/server.js';
import { ApiMetrics } from './metrics.js';
import { RateLimiter } from './rate-limit.js';

export interface RunningApi {
  url: string;
  port: number;
  /** gRPC ControlPlaneService: its port, and host:port as a client dials it. */
  grpcPort: number;
  grpcUrl: string;
  metrics: ApiMetrics;
  plane: ControlPlane;
  bus: Bus;
  operatorToken: string;
  stop(): Promise<void>;
}

/** Starts the api (in this process); the block at the end is the command-line wrapper. */
export async function startApi(config: ApiConfig, log: Logger): Promise<RunningApi> {
  const tokens = new TokenRegistry();
  const op = operatorToken(config.MOLTEN_TOKEN, config.dataDir);
  tokens.add(op.token, 'operator');
  if (config.MOLTEN_VIEWER_TOKEN) tokens.add(config.MOLTEN_VIEWER_TOKEN, 'viewer');
  if (op.generated) {
    // Printed once, on purpose, outside the JSON log: the operator needs it to sign in.
    process.stdout.write(`\n  Molten generated an operator token (kept in ${op.file}):\n\n    ${op.token}\n\n`);
  }

  const bus = await connectBus({ servers: config.NATS_URL, name: `molten-api-${instanceId()}`, log });
  const plane = new ControlPlane(bus, {
    log,
    defaultCluster: config.MOLTEN_CLUSTER,
    heartbeatMs: config.MOLTEN_HEARTBEAT_MS,
    acceptTimeoutMs: config.MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS,
    timeoutMs: config.MOLTEN_COMMAND_TIMEOUT_MS,
    demo: config.MOLTEN_DEMO,
  });
  await plane.start();

  // One limiter for REST and gRPC: a token's budget of actions is the same whichever it uses.
  const limiter = new RateLimiter(config.MOLTEN_RATE_LIMIT, config.MOLTEN_RATE_BURST);
  let grpc: RunningGrpc | undefined;
  const metrics = new ApiMetrics(plane, { grpcWatchers: () => grpc?.watches.size ?? 0 });
  metrics.start(bus);
  const app = createApp({
    limiter,
    extra: metrics.routes(tokens),
    onResponse: (r) => metrics.httpResponse(r),
    plane,
    tokens,
    log,
    validateToolArguments,
    rate: { perMinute: config.MOLTEN_RATE_LIMIT, burst: config.MOLTEN_RATE_BURST },
    acceptTimeoutMs: config.MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS,
    timeoutMs: config.MOLTEN_COMMAND_TIMEOUT_MS,
    secureCookie: config.MOLTEN_SECURE_COOKIE,
    dashboardDir: config.dashboardDir,
  });
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: config.MOLTEN_HOST, port: config.MOLTEN_PORT }, (info) => resolve({ server: s, port: info.port }));
  });
  const url = `http://${config.MOLTEN_HOST}:${port}`;
  log.info({ url }, 'api listening');
  grpc = await startGrpcServer(
    {
      plane,
      tokens,
      log,
      limiter,
      acceptTimeoutMs: config.MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS,
      timeoutMs: config.MOLTEN_COMMAND_TIMEOUT_MS,
      validateToolArguments,
      onCall: (r) => metrics.grpcCall(r),
    },
    { host: config.MOLTEN_HOST, port: config.MOLTEN_GRPC_PORT },
  );
  const rpc = grpc;
  return {
    url,
    port,
    grpcPort: rpc.port,
    grpcUrl: rpc.address,
    metrics,
    plane,
    bus,
    operatorToken: op.token,
    async stop() {
      // Stop taking work, let what is in flight finish (bounded), then drain NATS.
      await rpc.stop(5_000);
      plane.hub.closeAll();
      await closeHttp(server, 5_000);
      metrics.stop();
      await plane.stop();
      await bus.close();
    },
  };
}

/** Stops accepting connections, lets requests in flight finish within graceMs, then closes the rest. */
async function closeHttp(server: ReturnType<typeof serve>, graceMs: number): Promise<void> {
  const s = server as unknown as { closeIdleConnections?: () => void; closeAllConnections?: () => void };
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      s.closeAllConnections?.();
    }, graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    s.closeIdleConnections?.();
  });
}

if (isMain(import.meta.url)) {
  const log = createLogger('api');
  try {
    const api = await startApi(loadConfig(), log);
    // HTTP and gRPC get 5 s each to finish what is in flight, then NATS drains.
    onShutdown(log, { timeoutMs: 20_000 }).add('api', () => api.stop());
  } catch (err) {
    log.fatal({ err }, 'api failed to start');
    process.exit(1);
  }
}
