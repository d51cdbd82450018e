/**
 * Runs the homelab MCP simulator on its own: `tsx simulators/src/homelab-mcp/main.ts`.
 *
 *   HOMELAB_MCP_SIM_HOST            default 127.0.0.1
 *   HOMELAB_MCP_SIM_PORT            default 6971 (the port homelab MCP servers use)
 *   HOMELAB_MCP_SIM_SSE             1 (default): also serve the legacy SSE transport at /sse + /messages
 *   HOMELAB_MCP_SIM_RATE_LIMIT_RPM  answer 429 beyond this many requests per minute (default 0: off)
 *   HOMELAB_MCP_SIM_LATENCY_MS      delay before each answer (default 0)
 *   HOMELAB_MCP_TOKEN               require this bearer token (default: none, like a LAN-only server)
 */
import { z } from 'zod';
import { createLogger, env, loadEnv, onShutdown, secret } from '@molten/kit';
import { startHomelabMcpSimulator } from './simulator.js';

const log = createLogger('homelab-mcp-sim');
const config = loadEnv(
  z.object({
    HOMELAB_MCP_SIM_HOST: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('127.0.0.1')),
    HOMELAB_MCP_SIM_PORT: env.port(6971),
    HOMELAB_MCP_SIM_SSE: env.flag(true),
    HOMELAB_MCP_SIM_RATE_LIMIT_RPM: env.int(0, 1_000_000, 0),
    HOMELAB_MCP_SIM_LATENCY_MS: env.int(0, 60_000, 0),
    HOMELAB_MCP_TOKEN: env.string(),
  }),
);

const sim = await startHomelabMcpSimulator({
  host: config.HOMELAB_MCP_SIM_HOST,
  port: config.HOMELAB_MCP_SIM_PORT,
  legacySse: config.HOMELAB_MCP_SIM_SSE,
  rateLimitRpm: config.HOMELAB_MCP_SIM_RATE_LIMIT_RPM,
  latencyMs: config.HOMELAB_MCP_SIM_LATENCY_MS,
  token: secret(config.HOMELAB_MCP_TOKEN),
  log,
});
log.info(
  { url: sim.url, sse: config.HOMELAB_MCP_SIM_SSE ? sim.sseUrl : undefined, auth: config.HOMELAB_MCP_TOKEN ? 'bearer' : 'none' },
  'simulated homelab MCP server (demo data) ready',
);

const shutdown = onShutdown(log);
shutdown.add('homelab MCP simulator', () => sim.close());
