import { randomBytes } from 'node:crypto';
import type { Logger } from '@molten/kit';
import { startGatewaySimulator } from '@molten/simulators/gateway';
import { startHomelabMcpSimulator } from '@molten/simulators/homelab-mcp';
import { startProxmoxMcpSimulator } from '@molten/simulators/proxmox-mcp';
import { DEMO_TOKEN, startPveSimulator } from '@molten/simulators/pve';
import { portFree } from './local-nats.js';

export interface DemoUpstreams {
  /** Environment that points the adapters at the simulators. */
  env: Record<string, string>;
  describe: string[];
  stop(): Promise<void>;
}

/** The upstream's usual port when it is free (so URLs look familiar), else any free port. */
async function preferred(port: number): Promise<number> {
  return (await portFree(port)) ? port : 0;
}

/**
 * Simulated upstreams for demo mode, each a real server speaking its upstream's protocol:
 * Proxmox VE (/api2/json over HTTPS), a homelab MCP server, the agent gateway. Only the
 * upstreams the operator did not configure are simulated.
 */
export async function startDemoUpstreams(source: NodeJS.ProcessEnv, log: Logger): Promise<DemoUpstreams> {
  const env: Record<string, string> = {};
  const describe: string[] = [];
  const stops: (() => Promise<void>)[] = [];

  if (!source.PVE_URL && !source.PROXMOX_MCP_URL) {
    const pve = await startPveSimulator({ preset: 'demo', port: await preferred(8006), logger: log.child({ sim: 'pve' }) });
    stops.push(() => pve.close());
    Object.assign(env, {
      PVE_URL: pve.url,
      PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`,
      PVE_CA_FILE: pve.caFile ?? '',
    });
    describe.push(`Proxmox VE   ${pve.url} (simulated cluster "${pve.clusterName}", ${pve.nodes.length} nodes, ${pve.guests().length} guests)`);

    // ProxmoxMCP-Plus in front of the same cluster, so the MCP Overview shows it with its tools
    // (data and actions still go through the Proxmox API, as with a real PVE_URL).
    const apiKey = randomBytes(18).toString('base64url');
    const pmcp = await startProxmoxMcpSimulator({
      pve: { url: pve.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, ca: pve.ca },
      restPort: await preferred(8811),
      mcpPort: false,
      apiKey,
      log: log.child({ sim: 'proxmox-mcp' }),
    });
    stops.push(() => pmcp.close());
    Object.assign(env, { PROXMOX_MCP_URL: pmcp.restUrl, PROXMOX_MCP_API_KEY: apiKey });
    describe.push(`ProxmoxMCP-Plus ${pmcp.restUrl} (simulated REST bridge over the same cluster)`);
  }
  if (!source.HOMELAB_MCP_URL && !source.MOLTEN_CONFIG) {
    const mcp = await startHomelabMcpSimulator({ port: await preferred(6971), legacySse: true, log: log.child({ sim: 'homelab-mcp' }) });
    stops.push(() => mcp.close());
    env.HOMELAB_MCP_URL = mcp.url;
    describe.push(`Homelab MCP  ${mcp.url} (simulated Docker control and network scan)`);
  }
  if (!source.MOLTBOT_URL) {
    const token = randomBytes(18).toString('base64url');
    const gw = await startGatewaySimulator({ token, port: await preferred(18789), log: log.child({ sim: 'gateway' }) });
    stops.push(() => gw.close());
    Object.assign(env, { MOLTBOT_URL: gw.url, MOLTBOT_TOKEN: token });
    describe.push(`Agent gateway ${gw.url} (simulated Moltbot/OpenClaw, protocol ${gw.protocol})`);
  }
  return {
    env,
    describe,
    async stop() {
      for (const s of stops.reverse()) await s().catch(() => {});
    },
  };
}
