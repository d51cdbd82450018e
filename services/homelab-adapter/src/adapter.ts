import { readFileSync } from 'node:fs';
import { runAdapter, type AdapterRuntime, type Bus, type CommandWorker } from '@molten/bus';
import type { BackoffOptions, Logger } from '@molten/kit';
import { McpConnection } from '@molten/mcp-client';
import type { HomelabAdapterConfig, McpServerSpec } from './config.js';
import { DOMAIN, ServerPublisher } from './server-publisher.js';

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
  runtime: AdapterRuntime;
  /** Stops taking commands (in-flight ones finish or are handed back), then publishing, heartbeats, connections and the bus. */
  stop(): Promise<void>;
}

/**
 * Starts the homelab-adapter in this process: one MCP connection per configured server, its
 * state published by whichever replica holds the server's lease, tool calls taken from the
 * shared command consumer of the server's scope, and a heartbeat with every server's health.
 */
export async function startHomelabAdapter(config: HomelabAdapterConfig, log: Logger, tuning: AdapterTuning = {}): Promise<HomelabAdapter> {
  const servers: Omit<ServerRuntime, 'worker'>[] = [];
  const runtime = await runAdapter({
    service: 'homelab-adapter',
    domain: DOMAIN,
    version: VERSION,
    settings: config,
    log,
    reconcileEveryMs: tuning.reconcileEveryMs,
    setup(rt) {
      for (const spec of config.servers) {
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
        const publisher = new ServerPublisher({ spec, conn, instance: config.instance, refreshMs: config.stateRefreshMs, changed: () => rt.changed(spec.name) });
        servers.push({ spec, conn, publisher });
        conn.start();
      }
      return {
        scopes: servers.map((s) => s.publisher),
        close: () => Promise.all(servers.map((s) => s.conn.close())),
        about: { servers: servers.map((s) => `${s.spec.name} (${s.conn.endpoint})`), demo: config.demo },
      };
    },
  });
  return {
    instance: config.instance,
    bus: runtime.bus,
    servers: servers.map((s) => ({ ...s, worker: runtime.worker(s.spec.name)! })),
    runtime,
    stop: () => runtime.stop(),
  };
}
