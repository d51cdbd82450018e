import { z } from 'zod';
import { adapterEnv, busSettings, env, loadEnv, secret } from '@molten/kit';

const schema = z
  .object({
    ...adapterEnv,
    MOLTEN_CLUSTER: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z.string().regex(/^[A-Za-z0-9_-]+$/, 'may only hold letters, digits, "-" and "_"').default('homelab'),
    ),
    PVE_URL: env.url(['https', 'http']),
    PVE_TOKEN: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z
        .string()
        .regex(/^[^@\s]+@[^!\s]+![^=\s]+=\S+$/, 'must look like user@realm!tokenid=secret (e.g. molten@pve!molten=xxxxxxxx-…)')
        .optional(),
    ),
    PVE_CA_FILE: env.string(),
    PVE_FINGERPRINT: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z.string().regex(/^([0-9A-Fa-f]{2}:?){32}$/, 'must be a SHA-256 fingerprint (64 hex digits, colons optional)').optional(),
    ),
    PVE_INSECURE_TLS: env.flag(false),
    PVE_POLL_MS: env.int(200, 3_600_000, 1000),
    PVE_TIMEOUT_MS: env.int(500, 120_000, 10_000),
    PROXMOX_MCP_URL: env.url(['http', 'https']),
    PROXMOX_MCP_API_KEY: env.string(),
    /** auto: a URL whose path ends in /mcp (or /sse) is native MCP, anything else the REST bridge. */
    PROXMOX_MCP_TRANSPORT: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['auto', 'rest-bridge', 'mcp']).default('auto')),
    /** How often the cluster is read when ProxmoxMCP-Plus is its driver (four tool calls a read). */
    PROXMOX_MCP_POLL_MS: env.int(500, 3_600_000, 5_000),
    PROXMOX_MCP_TIMEOUT_MS: env.int(1_000, 300_000, 30_000),
    /** Requests a minute Molten sends to ProxmoxMCP-Plus; keep below its PROXMOX_RATE_LIMIT_RPM (0: no limit of Molten's own). */
    PROXMOX_MCP_RATE_LIMIT_RPM: env.int(0, 1_000_000, 600),
  })
  .superRefine((c, ctx) => {
    if (!c.PVE_URL && !c.PROXMOX_MCP_URL) {
      ctx.addIssue({ code: 'custom', path: ['PVE_URL'], message: 'set PVE_URL (https://host:8006) with PVE_TOKEN, or PROXMOX_MCP_URL; `npm start` without either runs the simulators' });
    }
    if (c.PVE_URL && !c.PVE_TOKEN) {
      ctx.addIssue({ code: 'custom', path: ['PVE_TOKEN'], message: 'is required with PVE_URL: user@realm!tokenid=secret (see the README for the pveum commands that create it)' });
    }
  });

/** The environment as parsed (variables keep their names), with the bus settings runAdapter takes. */
export type ProxmoxAdapterConfig = ReturnType<typeof loadConfig>;

export function loadConfig(source: NodeJS.ProcessEnv = process.env) {
  const c = loadEnv(schema, source);
  secret(c.PVE_TOKEN?.split('=').slice(1).join('='));
  secret(c.PVE_TOKEN);
  secret(c.PROXMOX_MCP_API_KEY);
  return { ...c, MOLTEN_DEMO: c.MOLTEN_DEMO ?? false, ...busSettings(c) };
}
