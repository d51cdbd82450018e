import { serve } from '@hono/node-server';
import { connectBus, type Bus } from '@molten/bus';
import { createLogger, instanceId, isMain, onShutdown, type Logger } from '@molten/kit';
import { validateToolArguments } from '@molten/mcp-client/tool-arguments';
import { createApp } from './app.js';
import { TokenRegistry, operatorToken } from './auth/tokens.js';
import { loadConfig, type ApiConfig } from './config.js';
import { ControlPlane } from './control-plane.js';

export interface RunningApi {
  url: string;
  port: number;
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

  const app = createApp({
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
  return {
    url,
    port,
    plane,
    bus,
    operatorToken: op.token,
    async stop() {
      plane.hub.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await plane.stop();
      await bus.close();
    },
  };
}

if (isMain(import.meta.url)) {
  const log = createLogger('api');
  try {
    const api = await startApi(loadConfig(), log);
    onShutdown(log).add('api', () => api.stop());
  } catch (err) {
    log.fatal({ err }, 'api failed to start');
    process.exit(1);
  }
}
