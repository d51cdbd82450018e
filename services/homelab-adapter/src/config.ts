import { z } from 'zod';
import { ConfigError, adapterEnv, busSettings, env, loadConfigFile, loadEnv, secret, type BusSettings, type McpServerConfig } from '@molten/kit';
import type { McpEndpoint } from '@molten/mcp-client';

/** Where demo mode expects the homelab MCP simulator (`npm start` runs it there). */
export const DEMO_HOMELAB_MCP_URL = 'http://127.0.0.1:6971/mcp';
/** The server configured by HOMELAB_MCP_URL. */
export const HOMELAB_SERVER_NAME = 'homelab';

const unset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const schema = z.object({
  ...adapterEnv,
  HOMELAB_MCP_URL: env.url(['http', 'https']),
  HOMELAB_MCP_TOKEN: env.string(),
  HOMELAB_MCP_TRANSPORT: z.preprocess(unset, z.enum(['auto', 'streamable-http', 'sse']).default('auto')),
  MOLTEN_CONFIG: env.string(),
  MCP_RATE_LIMIT_RPM: env.int(0, 1_000_000, 600),
  MCP_MAX_CONCURRENCY: env.int(0, 1_000, 8),
  MCP_PING_MS: env.int(200, 3_600_000, 5_000),
  MCP_TOOLS_REFRESH_MS: env.int(1_000, 86_400_000, 60_000),
  MCP_TOOLS_GRACE_MS: env.int(0, 86_400_000, 30_000),
  MCP_STATE_REFRESH_MS: env.int(1_000, 3_600_000, 15_000),
});

/** Per-server settings in the MOLTEN_CONFIG file, beside mcpServers (whose entries keep the shape MCP clients share). */
const serverOptions = z
  .object({
    rateLimitRpm: z.number().int().min(0).max(1_000_000).optional(),
    maxConcurrency: z.number().int().min(0).max(1_000).optional(),
    pingMs: z.number().int().min(200).max(3_600_000).optional(),
    toolsRefreshMs: z.number().int().min(1_000).max(86_400_000).optional(),
    toolsGraceMs: z.number().int().min(0).max(86_400_000).optional(),
  })
  .strict();
const fileOptions = z.object({ mcpServerOptions: z.record(z.string(), serverOptions).optional() }).passthrough();

export interface McpServerSpec {
  /** The config key; the bus scope of everything about this server. */
  name: string;
  /** The UpstreamServer id: mcp-<name>. */
  id: string;
  endpoint: McpEndpoint;
  /** A simulated upstream (demo mode): the dashboard labels it. */
  demo: boolean;
  rateLimitRpm: number;
  maxConcurrency: number;
  pingMs: number;
  toolsRefreshMs: number;
  toolsGraceMs: number;
  /** Words added to remedies: where this server's credentials or address are configured. */
  hints: { auth?: string; unreachable?: string };
}

export interface HomelabAdapterConfig extends BusSettings {
  /** How often the leader republishes each server's state when only its latency or last-seen time moved. */
  stateRefreshMs: number;
  demo: boolean;
  servers: McpServerSpec[];
}

/**
 * Reads the environment and the MOLTEN_CONFIG file: HOMELAB_MCP_URL is the server "homelab", and
 * every mcpServers entry of the file is one more. With nothing configured, demo mode points
 * "homelab" at the simulator. Throws ConfigError naming what is wrong.
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): HomelabAdapterConfig {
  const e = loadEnv(schema, source);
  const token = secret(e.HOMELAB_MCP_TOKEN);
  const file = loadConfigFile(e.MOLTEN_CONFIG);
  const parsedOptions = fileOptions.safeParse(file);
  if (!parsedOptions.success) {
    const lines = parsedOptions.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`MOLTEN_CONFIG: ${e.MOLTEN_CONFIG} is not a valid Molten config:\n${lines.join('\n')}`);
  }
  const options = parsedOptions.data.mcpServerOptions ?? {};
  const fileServers = Object.entries(file.mcpServers ?? {});
  const configured = e.HOMELAB_MCP_URL !== undefined || fileServers.length > 0;
  const demo = e.MOLTEN_DEMO ?? !configured;

  const defaults = {
    rateLimitRpm: e.MCP_RATE_LIMIT_RPM,
    maxConcurrency: e.MCP_MAX_CONCURRENCY,
    pingMs: e.MCP_PING_MS,
    toolsRefreshMs: e.MCP_TOOLS_REFRESH_MS,
    toolsGraceMs: e.MCP_TOOLS_GRACE_MS,
  };
  const spec = (name: string, endpoint: McpEndpoint, isDemo: boolean, hints: McpServerSpec['hints']): McpServerSpec => ({
    name,
    id: `mcp-${name}`,
    endpoint,
    demo: isDemo,
    ...defaults,
    ...stripUndefined(options[name] ?? {}),
    hints,
  });

  const servers: McpServerSpec[] = [];
  if (e.HOMELAB_MCP_URL || demo) {
    if (file.mcpServers?.[HOMELAB_SERVER_NAME]) {
      throw new ConfigError(
        `MOLTEN_CONFIG: the server "${HOMELAB_SERVER_NAME}" is defined in ${e.MOLTEN_CONFIG} and by HOMELAB_MCP_URL${e.HOMELAB_MCP_URL ? '' : ' (demo mode)'}; rename one of them`,
      );
    }
    const url = e.HOMELAB_MCP_URL ?? DEMO_HOMELAB_MCP_URL;
    servers.push(
      spec(HOMELAB_SERVER_NAME, { url, bearerToken: token, transport: e.HOMELAB_MCP_TRANSPORT }, demo, {
        auth: 'Set HOMELAB_MCP_TOKEN to the token the server expects.',
        unreachable: e.HOMELAB_MCP_URL
          ? 'HOMELAB_MCP_URL says where it is.'
          : 'Demo mode expects the homelab MCP simulator there: `npm start` runs it, or `npx tsx simulators/src/homelab-mcp/main.ts`; set HOMELAB_MCP_URL for a real server.',
      }),
    );
  }
  for (const [name, entry] of fileServers) {
    // Servers listed in the file are the user's own, even in demo mode.
    servers.push(spec(name, endpointOf(entry), false, fileHints(name, entry, e.MOLTEN_CONFIG!)));
  }
  for (const name of Object.keys(options)) {
    if (!servers.some((s) => s.name === name)) {
      throw new ConfigError(`MOLTEN_CONFIG: mcpServerOptions.${name} names no configured server (configured: ${servers.map((s) => s.name).join(', ') || 'none'})`);
    }
  }
  if (servers.length === 0) {
    throw new ConfigError(
      'No MCP server is configured: set HOMELAB_MCP_URL (e.g. http://127.0.0.1:6971/mcp, with HOMELAB_MCP_TOKEN if it needs one), ' +
        'list servers under "mcpServers" in the MOLTEN_CONFIG file, or set MOLTEN_DEMO=1 for the simulated homelab.',
    );
  }
  return { ...busSettings(e), stateRefreshMs: e.MCP_STATE_REFRESH_MS, demo, servers };
}

function endpointOf(entry: McpServerConfig): McpEndpoint {
  if ('command' in entry) return { command: entry.command, args: entry.args, env: entry.env, cwd: entry.cwd };
  return { url: entry.url, headers: entry.headers, transport: entry.transport ?? 'auto' };
}

function fileHints(name: string, entry: McpServerConfig, file: string): McpServerSpec['hints'] {
  if ('command' in entry) return { unreachable: `Its command is set under mcpServers.${name} in ${file}.` };
  return { auth: `Its headers are set under mcpServers.${name}.headers in ${file}.`, unreachable: `Its URL is set under mcpServers.${name}.url in ${file}.` };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
