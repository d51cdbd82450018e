import { readFileSync } from 'node:fs';
import { CommandWorker, connectBus, startHeartbeat, type Bus } from '@molten/bus';
import type { BackoffOptions, Logger } from '@molten/kit';
import { McpConnection } from '@molten/mcp-client';
import type { HomelabAdapterConfig, McpServerSpec } from './config.js';
import { DOMAIN, upstreamHealth, type ServerIdentity } from './server-descriptor.js';
import { ServerPublisher } from './server-publisher.js';
import { ToolCallHandler } from './tool-call-handler.js';

// The package's entry point: what a launcher or a system test needs to run the adapter in-process.
export { loadConfig, DEMO_HOMELAB_MCP_URL, type HomelabAdapterConfig, type McpServerSpec } from './config.js';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Knobs tests turn; production uses the defaults. */
export interface AdapterTuning {
  reconnect?: BackoffOptions;
  pingTimeoutMs?: number;
  /** How soon an uncertain command is looked at again (worker default 5 s). */
  reconcileEveryMs?: number;
}

export interface ServerRuntime {
  spec: McpServerSpec;
  conn: McpConnection;
  publisher: ServerPublisher;
  worker: CommandWorker;
}

export interface HomelabAdapter {
  instance: string;
  bus: Bus;
  servers: ServerRuntime[];
  /** Stops taking commands (in-flight ones finish or are handed back), then publishing, heartbeats, connections and the bus. */
  stop(): Promise<void>;
}

/**
 * Starts the homelab-adapter in this process: one MCP connection per configured server, its
 * state published by whichever replica holds the server's lease, tool calls taken from the
 * shared command consumer of the server's scope, and a heartbeat with every server's health.
 */
export async function startHomelabAdapter(config: HomelabAdapterConfig, log: Logger, tuning: AdapterTuning = {}): Promise<HomelabAdapter> {
  const { instance } = config;
  const bus = await connectBus({ servers: config.natsUrl, name: `homelab-adapter-${instance}`, log, provision: { leaseTtlMs: config.leaseTtlMs } });
  const servers: ServerRuntime[] = [];
  let hb: ReturnType<typeof startHeartbeat> | undefined;

  for (const spec of config.servers) {
    const slog = log.child({ mcpServer: spec.name });
    const who: ServerIdentity = { name: spec.name, id: spec.id, demo: spec.demo, reporter: instance };
    const conn = new McpConnection({
      name: spec.name,
      endpoint: spec.endpoint,
      log,
      clientInfo: { name: 'molten-homelab-adapter', version: VERSION },
      pingIntervalMs: spec.pingMs,
      pingTimeoutMs: tuning.pingTimeoutMs,
      toolsRefreshMs: spec.toolsRefreshMs,
      rateLimitRpm: spec.rateLimitRpm,
      maxConcurrency: spec.maxConcurrency,
      reconnect: tuning.reconnect,
      hints: spec.hints,
    });
    const publisher = new ServerPublisher({ bus, conn, who, log: slog, leaseTtlMs: config.leaseTtlMs, refreshMs: config.stateRefreshMs, onLeaderChange: () => hb?.beat() });
    const worker = new CommandWorker(bus, {
      domain: DOMAIN,
      scope: spec.name,
      instance,
      log: slog,
      concurrency: config.commandConcurrency,
      reconcileEveryMs: tuning.reconcileEveryMs,
      handler: new ToolCallHandler({ conn, name: spec.name, serverId: spec.id }),
    });
    servers.push({ spec, conn, publisher, worker });
  }

  hb = startHeartbeat(bus, {
    domain: DOMAIN,
    instance,
    version: VERSION,
    intervalMs: config.heartbeatMs,
    upstreams: () => servers.map((s) => upstreamHealth(s.conn, { name: s.spec.name, id: s.spec.id, demo: s.spec.demo, reporter: instance }, s.publisher.leader)),
  });
  for (const s of servers) {
    // A status change reaches the api with the next heartbeat at once, not an interval later.
    s.conn.on('status', () => hb?.beat());
    s.conn.start();
    s.publisher.start();
  }
  for (const s of servers) await s.worker.start();
  log.info({ instance, servers: servers.map((s) => `${s.spec.name} (${s.conn.endpoint})`), demo: config.demo }, 'homelab-adapter running');

  let stopping: Promise<void> | undefined;
  return {
    instance,
    bus,
    servers,
    stop() {
      stopping ??= (async () => {
        const step = async (name: string, run: () => Promise<unknown>) => {
          try {
            await run();
          } catch (err) {
            log.warn({ step: name, err }, 'stop step failed');
          }
        };
        await step('commands', () => Promise.all(servers.map((s) => s.worker.stop(8_000))));
        await step('publishing', () => Promise.all(servers.map((s) => s.publisher.stop())));
        hb?.stop();
        await step('connections', () => Promise.all(servers.map((s) => s.conn.close())));
        await step('bus', () => bus.close());
      })();
      return stopping;
    },
  };
}
