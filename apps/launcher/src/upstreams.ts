import path from 'node:path';
import { loadConfigFile, publicEndpoint } from '@molten/kit';

/** One upstream Molten runs against, as the closing block shows it. */
export interface Upstream {
  /** What it is: "Proxmox VE", "MCP server nas", … */
  label: string;
  /** Where it is, without credentials (or the command, for a stdio MCP server). */
  where: string;
  /** Configured by the operator, or simulated by npm start (demo mode). */
  origin: 'configured' | 'simulated';
  /** For a configured one, the setting it came from; for a simulated one, what it simulates. */
  note: string;
}

/** The upstream kinds npm start knows, and the setting that configures each. */
export const UPSTREAM_KINDS = [
  { label: 'Proxmox VE', setting: 'PVE_URL' },
  { label: 'ProxmoxMCP-Plus', setting: 'PROXMOX_MCP_URL' },
  { label: 'Homelab MCP', setting: 'HOMELAB_MCP_URL' },
  { label: 'Agent gateway', setting: 'MOLTBOT_URL' },
] as const;

/**
 * The upstreams the operator configured: each URL variable, and every MCP server of the
 * MOLTEN_CONFIG file (validated here, so a broken file stops npm start with its reason instead
 * of an adapter restarting on it).
 */
export function configuredUpstreams(env: NodeJS.ProcessEnv): Upstream[] {
  const out: Upstream[] = [];
  for (const kind of UPSTREAM_KINDS) {
    const url = env[kind.setting];
    if (url) out.push({ label: kind.label, where: publicEndpoint(url), origin: 'configured', note: `configured (${kind.setting})` });
  }
  const file = loadConfigFile(env.MOLTEN_CONFIG);
  for (const [name, server] of Object.entries(file.mcpServers ?? {})) {
    // A stdio server's arguments and environment may hold secrets: its program's name is enough.
    const where = 'url' in server ? publicEndpoint(server.url) : `stdio: ${path.basename(server.command)}`;
    out.push({ label: `MCP server ${name}`, where, origin: 'configured', note: `configured (MOLTEN_CONFIG)` });
  }
  return out;
}

/** The settings of the upstream kinds that neither the operator nor demo mode provides. */
export function notConfigured(env: NodeJS.ProcessEnv, simulated: readonly Upstream[]): string[] {
  return UPSTREAM_KINDS.filter((k) => {
    if (env[k.setting] || simulated.some((u) => u.label === k.label)) return false;
    // MCP servers listed in MOLTEN_CONFIG stand in for HOMELAB_MCP_URL.
    return !(k.setting === 'HOMELAB_MCP_URL' && env.MOLTEN_CONFIG);
  }).map((k) => `${k.label} (${k.setting})`);
}
