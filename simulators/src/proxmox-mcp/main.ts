/**
 * Runs the ProxmoxMCP-Plus simulator on its own: `npx tsx simulators/src/proxmox-mcp/main.ts`.
 *
 * Its Proxmox VE, with ProxmoxMCP-Plus's own variables:
 *   PROXMOX_HOST, PROXMOX_PORT (8006)      the PVE API; unset: a demo PVE simulator is started in
 *                                          this process (PVE_SIM_* variables apply, port 0 = free)
 *   PROXMOX_USER, PROXMOX_TOKEN_NAME,      the API token (user@realm, token id without the user,
 *   PROXMOX_TOKEN_VALUE                    secret); default the demo token
 *   PROXMOX_VERIFY_SSL (1), PROXMOX_CA_FILE  TLS trust (the CA file is a simulator extra)
 * What it serves:
 *   API_HOST (127.0.0.1)                   address of both listeners
 *   API_PORT (8811)                        the REST bridge (0 = a free port, -1 = off)
 *   MCP_PORT (8000)                        native MCP Streamable HTTP at /mcp (0 = free, -1 = off)
 *   PROXMOX_API_KEY                        the REST bridge's bearer key; required unless
 *                                          PROXMOX_ALLOW_NO_AUTH=true, as in ProxmoxMCP-Plus ≥ 0.5.0
 *   MCP_API_KEY                            bearer key of /mcp; required unless
 *                                          MCP_ALLOW_UNAUTHENTICATED_HTTP=true, as in ≥ 0.5.19
 *   PROXMOX_RATE_LIMIT_RPM (0)             429 (no Retry-After) beyond this many requests a minute
 * Simulator knobs:
 *   PROXMOX_MCP_SIM_FORMAT (ascii)         ascii (v0.4+) | emoji (≤ v0.3) | bullets
 *   PROXMOX_MCP_SIM_JOBS (1)               the job store and job tools
 *   PROXMOX_MCP_SIM_WARNINGS_AS_FAILED (0) v0.5.2's bug: "WARNINGS: n" tasks make failed jobs
 *   PROXMOX_MCP_SIM_ERROR_STYLE (documented)  documented | mcpo (see simulator.ts)
 *   PROXMOX_MCP_SIM_LATENCY_MS (0)         delay before each tool runs
 */
import { z } from 'zod';
import { ConfigError, createLogger, env, loadEnv, onShutdown, secret } from '@molten/kit';
import { DEMO_TOKEN, startPveSimulator, type PveSimulator } from '../pve/index.js';
import { simulatorOptionsFromEnv } from '../pve/env.js';
import { startProxmoxMcpSimulator } from './simulator.js';

const log = createLogger('proxmox-mcp-sim');
const port = (fallback: number) => z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(-1).max(65535).default(fallback));

let config;
try {
  config = loadEnv(
    z
      .object({
        PROXMOX_HOST: env.string(),
        PROXMOX_PORT: env.port(8006),
        PROXMOX_USER: env.string(),
        PROXMOX_TOKEN_NAME: env.string(),
        PROXMOX_TOKEN_VALUE: env.string(),
        PROXMOX_VERIFY_SSL: env.flag(true),
        PROXMOX_CA_FILE: env.string(),
        API_HOST: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('127.0.0.1')),
        API_PORT: port(8811),
        MCP_PORT: port(8000),
        PROXMOX_API_KEY: env.string(),
        PROXMOX_ALLOW_NO_AUTH: env.flag(false),
        MCP_API_KEY: env.string(),
        MCP_ALLOW_UNAUTHENTICATED_HTTP: env.flag(false),
        PROXMOX_RATE_LIMIT_RPM: env.int(0, 1_000_000, 0),
        PROXMOX_MCP_SIM_FORMAT: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['ascii', 'emoji', 'bullets']).default('ascii')),
        PROXMOX_MCP_SIM_JOBS: env.flag(true),
        PROXMOX_MCP_SIM_WARNINGS_AS_FAILED: env.flag(false),
        PROXMOX_MCP_SIM_ERROR_STYLE: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['documented', 'mcpo']).default('documented')),
        PROXMOX_MCP_SIM_LATENCY_MS: env.int(0, 600_000, 0),
      })
      .superRefine((c, ctx) => {
        if (c.API_PORT >= 0 && !c.PROXMOX_API_KEY && !c.PROXMOX_ALLOW_NO_AUTH) {
          ctx.addIssue({ code: 'custom', path: ['PROXMOX_API_KEY'], message: 'is required for the REST bridge (or set PROXMOX_ALLOW_NO_AUTH=true; NOT RECOMMENDED), as ProxmoxMCP-Plus refuses to start without it' });
        }
        if (c.MCP_PORT >= 0 && !c.MCP_API_KEY && !c.MCP_ALLOW_UNAUTHENTICATED_HTTP) {
          ctx.addIssue({ code: 'custom', path: ['MCP_API_KEY'], message: 'is required for native MCP over HTTP (or set MCP_ALLOW_UNAUTHENTICATED_HTTP=true)' });
        }
        if (c.PROXMOX_HOST && !(c.PROXMOX_USER && c.PROXMOX_TOKEN_NAME && c.PROXMOX_TOKEN_VALUE)) {
          ctx.addIssue({ code: 'custom', path: ['PROXMOX_TOKEN_VALUE'], message: 'PROXMOX_USER, PROXMOX_TOKEN_NAME and PROXMOX_TOKEN_VALUE are required with PROXMOX_HOST' });
        }
      }),
  );
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}
secret(config.PROXMOX_TOKEN_VALUE);
secret(config.PROXMOX_API_KEY);
secret(config.MCP_API_KEY);

const shutdown = onShutdown(log);
let pve: { url: string; token: string; ca?: string; insecure?: boolean };
let pveSim: PveSimulator | undefined;
if (config.PROXMOX_HOST) {
  const { readFileSync } = await import('node:fs');
  pve = {
    url: `https://${config.PROXMOX_HOST}:${config.PROXMOX_PORT}`,
    token: `${config.PROXMOX_USER}!${config.PROXMOX_TOKEN_NAME}=${config.PROXMOX_TOKEN_VALUE}`,
    ca: config.PROXMOX_CA_FILE ? readFileSync(config.PROXMOX_CA_FILE, 'utf8') : undefined,
    insecure: !config.PROXMOX_VERIFY_SSL,
  };
} else {
  pveSim = await startPveSimulator({ ...simulatorOptionsFromEnv({ PVE_SIM_PORT: '0', ...process.env }), logger: log.child({ sim: 'pve' }) });
  shutdown.add('pve simulator', () => pveSim!.close());
  pve = { url: pveSim.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, ca: pveSim.ca };
  log.info({ url: pveSim.url }, 'started a demo Proxmox VE simulator behind it');
}

const sim = await startProxmoxMcpSimulator({
  pve,
  host: config.API_HOST,
  restPort: config.API_PORT < 0 ? false : config.API_PORT,
  mcpPort: config.MCP_PORT < 0 ? false : config.MCP_PORT,
  apiKey: config.PROXMOX_API_KEY,
  mcpApiKey: config.MCP_API_KEY,
  rateLimitRpm: config.PROXMOX_RATE_LIMIT_RPM,
  format: config.PROXMOX_MCP_SIM_FORMAT,
  jobs: config.PROXMOX_MCP_SIM_JOBS,
  warningsAsFailed: config.PROXMOX_MCP_SIM_WARNINGS_AS_FAILED,
  errorStyle: config.PROXMOX_MCP_SIM_ERROR_STYLE,
  latencyMs: config.PROXMOX_MCP_SIM_LATENCY_MS,
  log,
});
shutdown.add('ProxmoxMCP-Plus simulator', () => sim.close());
if (config.API_PORT >= 0) console.log(`PROXMOX_MCP_URL=${sim.restUrl}   (REST bridge; Authorization: Bearer $PROXMOX_API_KEY)`);
if (config.MCP_PORT >= 0) console.log(`PROXMOX_MCP_URL=${sim.mcpUrl}   (native MCP; Authorization: Bearer $MCP_API_KEY)`);
