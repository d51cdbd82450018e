import path from 'node:path';
import { commandsPulled, connectBus, requestQuery, type Bus } from '@molten/bus';
import { QUERY_TYPES, type CommandTransition } from '@molten/contracts';
import { createLogger, instanceId, isMain, onShutdown, type Logger } from '@molten/kit';
import { validateToolArguments } from '@molten/mcp-client/tool-arguments';
import { ApprovalService } from './approvals/approval-service.js';
import { approvalsPort } from './approvals/approvals-port.js';
import { ApprovalNotifier } from './approvals/notifier.js';
import { createApp } from './app.js';
import { TrustedProxies } from './auth/client-address.js';
import { FileRevocations } from './auth/session-revocations.js';
import { TokenRegistry, operatorToken } from './auth/tokens.js';
import { createCommands } from './commands/command-service.js';
import { loadConfig, type ApiConfig } from './config.js';
import { startGrpcServer, type RunningGrpc } from './grpc/server.js';
import { listenHttp } from './http-server.js';
import { McpEndpoint } from './mcp/mcp-endpoint.js';
import { ApiMetrics } from './metrics.js';
import { ControlPlane } from './plane/control-plane.js';
import type { Commands, Queries, Reads } from './ports.js';
import { RateLimiter } from './rate-limit.js';
import { createReads } from './reads.js';

export type { AppType } from './app.js';

export interface RunningApi {
  url: string;
  port: number;
  /** gRPC ControlPlaneService: its port, and host:port as a client dials it. */
  grpcPort: number;
  grpcUrl: string;
  metrics: ApiMetrics;
  plane: ControlPlane;
  reads: Reads;
  commands: Commands;
  /** Agents' calls waiting for an operator (MCP puts them up; REST decides). */
  approvals: ApprovalService;
  bus: Bus;
  operatorToken: string;
  stop(): Promise<void>;
}

/** Starts the api (in this process); the block at the end is the command-line wrapper. */
export async function startApi(config: ApiConfig, log: Logger): Promise<RunningApi> {
  // Signed-out sessions are remembered across restarts, in the data directory.
  const tokens = new TokenRegistry(new FileRevocations(path.join(config.dataDir, 'revoked-sessions.json')));
  const op = operatorToken(config.MOLTEN_TOKEN, config.dataDir);
  tokens.add(op.token, 'operator');
  if (config.MOLTEN_VIEWER_TOKEN) tokens.add(config.MOLTEN_VIEWER_TOKEN, 'viewer');
  if (config.MOLTEN_AGENT_TOKEN) tokens.add(config.MOLTEN_AGENT_TOKEN, 'agent');
  if (op.generated) {
    // Printed once, on purpose, outside the JSON log: the operator needs it to sign in.
    process.stdout.write(`\n  Molten generated an operator token (kept in ${op.file}):\n\n    ${op.token}\n\n`);
  }

  const bus = await connectBus({ servers: config.NATS_URL, name: `molten-api-${instanceId()}`, log });
  const plane = new ControlPlane(bus, { log, defaultCluster: config.MOLTEN_CLUSTER, heartbeatMs: config.MOLTEN_HEARTBEAT_MS, demo: config.MOLTEN_DEMO });
  await plane.start();

  // The two ports both surfaces use, bound once.
  const parts = { projection: plane.projection, liveness: plane.liveness, defaultCluster: () => plane.defaultCluster() };
  const reads = createReads({ ...parts, command: (id) => plane.command(id) });
  const commands = createCommands({
    ...parts,
    submit: (input) => plane.submit(input),
    limiter: new RateLimiter(config.MOLTEN_RATE_LIMIT, config.MOLTEN_RATE_BURST),
    acceptTimeoutMs: config.MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS,
    timeoutMs: config.MOLTEN_COMMAND_TIMEOUT_MS,
    validateToolArguments,
    policy: config.configFile.policy,
    requestApproval: (r) => approvals.request(r),
    commandsPulled: (domain, scope) => commandsPulled(bus, domain, scope),
    log,
  });

  // Page reads, asked each time of the adapter of the query's domain: the cluster's
  // proxmox-adapter (a guest's page), the gateway's moltbot-adapter (a session's transcript).
  const queries: Queries = { ask: (scope, what, request) => requestQuery(bus, { domain: QUERY_TYPES[what].domain, scope, what, request, timeoutMs: 15_000 }) };

  // Agents' calls that wait for an operator: kept in the commands bucket, re-armed on start, and
  // announced to MOLTEN_NOTIFY_URL when one is set.
  let publicUrl = config.MOLTEN_PUBLIC_URL ?? '';
  const notifier = config.MOLTEN_NOTIFY_URL
    ? new ApprovalNotifier({ url: config.MOLTEN_NOTIFY_URL, format: config.MOLTEN_NOTIFY_FORMAT, publicUrl: () => publicUrl, log })
    : undefined;
  const approvals = new ApprovalService({
    bus,
    store: plane.store,
    transitions: (listener) =>
      plane.onEvent((e) => {
        if (e.type === 'molten.v1.CommandTransition') listener(e.value as CommandTransition);
      }),
    log,
    ttlMs: config.MOLTEN_APPROVAL_TTL_MS,
    onChange: (a, record) => {
      plane.projection.commands.put(record);
      plane.feed.command(record);
      plane.feed.approval(a);
    },
    onRequest: (a) => notifier?.pending(a),
  });
  await approvals.start();
  plane.feed.approvals = () => approvals.list();

  // Molten's own MCP endpoint: agents' calls, in the same timeline (and under the same policy) as the dashboard's.
  const mcp = new McpEndpoint({ reads, commands, commandsView: plane.projection.commands, tokens, log, maxBodyBytes: config.MOLTEN_MAX_TOOL_CALL_BYTES });
  const stopWatchingServers = plane.onEvent((e) => {
    if (e.address?.kind === 'server') mcp.serversChanged();
  });

  let grpc: RunningGrpc | undefined;
  const metrics = new ApiMetrics(
    { hub: plane.feed.hub, adapters: plane.adapters, commands: plane.projection.commands, busConnected: () => bus.connected(), onEvent: (l) => plane.onEvent(l) },
    { grpcWatchers: () => grpc?.watches.size ?? 0 },
  );
  metrics.start(bus);
  const app = createApp({
    reads,
    commands,
    events: plane.feed,
    approvals: approvalsPort(approvals),
    queries,
    mcp,
    tokens,
    log,
    extra: metrics.routes(tokens),
    onResponse: (r) => metrics.httpResponse(r),
    secureCookie: config.MOLTEN_SECURE_COOKIE,
    dashboardDir: config.dashboardDir,
    trustedProxies: new TrustedProxies(config.MOLTEN_TRUSTED_PROXIES),
    bodyLimits: { toolCallBytes: config.MOLTEN_MAX_TOOL_CALL_BYTES, concurrentReads: config.MOLTEN_MAX_BODY_READS },
  });
  const http = await listenHttp(app.fetch, config.MOLTEN_HOST, config.MOLTEN_PORT);
  const url = `http://${config.MOLTEN_HOST}:${http.port}`;
  publicUrl ||= url;
  log.info({ url }, 'api listening');
  grpc = await startGrpcServer(
    { reads, commands, tokens, log, bus, toolCallBytes: config.MOLTEN_MAX_TOOL_CALL_BYTES, follow: (l) => plane.onEvent(l), lastSeq: () => plane.feed.hub.lastSeq, onCall: (r) => metrics.grpcCall(r) },
    { host: config.MOLTEN_HOST, port: config.MOLTEN_GRPC_PORT },
  );
  const rpc = grpc;
  return {
    url,
    port: http.port,
    grpcPort: rpc.port,
    grpcUrl: rpc.address,
    metrics,
    plane,
    reads,
    commands,
    approvals,
    bus,
    operatorToken: op.token,
    async stop() {
      // Stop taking work, let what is in flight finish (bounded), then drain NATS.
      await rpc.stop(5_000);
      approvals.stop();
      await notifier?.flush();
      stopWatchingServers();
      await mcp.close();
      plane.feed.close();
      await http.close(5_000);
      metrics.stop();
      await plane.stop();
      await bus.close();
    },
  };
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
