import { randomBytes } from 'node:crypto';
import type { Logger } from '@molten/kit';
import { startGatewaySimulator } from '@molten/simulators/gateway';
import { startHomelabMcpSimulator } from '@molten/simulators/homelab-mcp';
import { startProxmoxMcpSimulator } from '@molten/simulators/proxmox-mcp';
import { DEMO_TOKEN, startPveSimulator } from '@molten/simulators/pve';
import { portFree } from './local-nats.js';
import type { Upstream } from './upstreams.js';

/** A simulated upstream: what the closing block shows, and the switch the demo console turns. */
export interface SimulatedUpstream extends Upstream {
  origin: 'simulated';
  /** Its name in the demo console: "stop pve". */
  name: string;
  running: boolean;
  /** Closes its port and drops its connections, as a crash would; its state is kept. */
  stop(): Promise<void>;
  /** Opens the same port again. */
  start(): Promise<void>;
}

export interface DemoUpstreams {
  /** Environment that points the adapters at the simulators. */
  env: Record<string, string>;
  upstreams: SimulatedUpstream[];
  stop(): Promise<void>;
}

/**
 * Starts a simulator on the upstream's usual port when it is free (so URLs look familiar), else
 * on any free port, also when another process took the usual one between the check and the bind.
 */
async function onUsualPort<T>(port: number, start: (port: number) => Promise<T>): Promise<T> {
  if (!(await portFree(port))) return start(0);
  try {
    return await start(port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' && !/EADDRINUSE/.test(String(err))) throw err;
    return start(0);
  }
}

function simulated(name: string, label: string, where: string, note: string, server: { stop(): Promise<void>; start(): Promise<void> }): SimulatedUpstream {
  const u: SimulatedUpstream = {
    name,
    label,
    where,
    origin: 'simulated',
    note,
    running: true,
    async stop() {
      await server.stop();
      u.running = false;
    },
    async start() {
      await server.start();
      u.running = true;
    },
  };
  return u;
}

/**
 * Simulated upstreams for demo mode, each a real server speaking its upstream's protocol:
 * Proxmox VE (/api2/json over HTTPS) with ProxmoxMCP-Plus in front of it, a homelab MCP server,
 * the agent gateway. Only the upstreams the operator did not configure are simulated.
 */
export async function startDemoUpstreams(source: NodeJS.ProcessEnv, log: Logger): Promise<DemoUpstreams> {
  const env: Record<string, string> = {};
  const upstreams: SimulatedUpstream[] = [];
  const closes: (() => Promise<void>)[] = [];

  if (!source.PVE_URL && !source.PROXMOX_MCP_URL) {
    const pve = await onUsualPort(8006, (port) => startPveSimulator({ preset: 'demo', port, logger: log.child({ sim: 'pve' }) }));
    closes.push(() => pve.close());
    Object.assign(env, {
      PVE_URL: pve.url,
      PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`,
      PVE_CA_FILE: pve.caFile ?? '',
    });
    upstreams.push(simulated('pve', 'Proxmox VE', pve.url, `cluster "${pve.clusterName}", ${pve.nodes.length} nodes, ${pve.guests().length} guests`, pve));

    // ProxmoxMCP-Plus in front of the same cluster, so the MCP Overview shows it with its tools
    // (data and actions still go through the Proxmox API, as with a real PVE_URL).
    const apiKey = randomBytes(18).toString('base64url');
    const pmcp = await onUsualPort(8811, (restPort) =>
      startProxmoxMcpSimulator({
        pve: { url: pve.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, ca: pve.ca },
        restPort,
        mcpPort: false,
        apiKey,
        log: log.child({ sim: 'proxmox-mcp' }),
      }),
    );
    closes.push(() => pmcp.close());
    Object.assign(env, { PROXMOX_MCP_URL: pmcp.restUrl, PROXMOX_MCP_API_KEY: apiKey });
    upstreams.push(simulated('proxmox-mcp', 'ProxmoxMCP-Plus', pmcp.restUrl, 'REST bridge over the same cluster', pmcp));
  }
  if (!source.HOMELAB_MCP_URL && !source.MOLTEN_CONFIG) {
    const mcp = await onUsualPort(6971, (port) => startHomelabMcpSimulator({ port, legacySse: true, log: log.child({ sim: 'homelab-mcp' }) }));
    closes.push(() => mcp.close());
    env.HOMELAB_MCP_URL = mcp.url;
    upstreams.push(simulated('homelab-mcp', 'Homelab MCP', mcp.url, 'Docker control and network scan', mcp));
  }
  if (!source.MOLTBOT_URL) {
    const token = randomBytes(18).toString('base64url');
    const gw = await onUsualPort(18789, (port) => startGatewaySimulator({ token, port, log: log.child({ sim: 'gateway' }) }));
    closes.push(() => gw.close());
    Object.assign(env, { MOLTBOT_URL: gw.url, MOLTBOT_TOKEN: token });
    upstreams.push(simulated('gateway', 'Agent gateway', gw.url, `Moltbot/OpenClaw, protocol ${gw.protocol}`, gw));
  }
  return {
    env,
    upstreams,
    async stop() {
      for (const close of closes.reverse()) await close().catch(() => {});
    },
  };
}
