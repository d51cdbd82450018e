import { readFileSync } from 'node:fs';
import { runAdapter, type AdapterRuntime } from '@molten/bus';
import type { Logger } from '@molten/kit';
import { ClusterPoller, readFasterDuring } from './cluster-poller.js';
import type { ProxmoxAdapterConfig } from './config.js';
import type { ClusterDriver } from './driver.js';
import { startGuestQueries } from './guest-queries.js';
import { PowerHandler } from './power-handler.js';
import type { ProxmoxMcpClient } from './proxmox-mcp/client.js';
import { connectProxmoxMcp } from './proxmox-mcp/connect.js';
import { ProxmoxMcpDriver } from './proxmox-mcp/proxmox-mcp-driver.js';
import { describeProxmoxMcp, proxmoxMcpHealth, toContractTool } from './proxmox-mcp/server-descriptor.js';
import { PveDriver } from './pve/pve-driver.js';
import { ToolCallHandler, dispatchByAction } from './tool-call-handler.js';
import { UpstreamHealthTracker } from './upstream-health.js';

// The package's entry point: what a test or another process needs to run the adapter in-process.
export { loadConfig, type ProxmoxAdapterConfig } from './config.js';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface RunningAdapter {
  instance: string;
  poller: ClusterPoller;
  driver: ClusterDriver;
  /** The ProxmoxMCP-Plus server, when PROXMOX_MCP_URL is set (the driver's, or a second server beside the pve driver). */
  proxmoxMcp: ProxmoxMcpClient | undefined;
  runtime: AdapterRuntime;
  /** Stops cleanly: commands handed back or finished, polling stopped and the lease released, bus drained. */
  stop(): Promise<void>;
}

/**
 * Starts the proxmox-adapter in this process: one cluster (MOLTEN_CLUSTER), read through its
 * driver by the replica that holds the poll lease, power and tool-call commands run by any
 * replica, and the upstream's health in every heartbeat.
 */
export async function startProxmoxAdapter(config: ProxmoxAdapterConfig, log: Logger): Promise<RunningAdapter> {
  const cluster = config.MOLTEN_CLUSTER;
  // PVE_URL: the Proxmox VE API reads the cluster and runs actions; ProxmoxMCP-Plus, when also
  // configured, is a second server (its tools in the MCP Overview). Only PROXMOX_MCP_URL:
  // ProxmoxMCP-Plus is the cluster's driver.
  const proxmoxMcp = config.PROXMOX_MCP_URL
    ? await connectProxmoxMcp({
        url: config.PROXMOX_MCP_URL,
        apiKey: config.PROXMOX_MCP_API_KEY,
        transport: config.PROXMOX_MCP_TRANSPORT,
        timeoutMs: config.PROXMOX_MCP_TIMEOUT_MS,
        rateLimitRpm: config.PROXMOX_MCP_RATE_LIMIT_RPM,
        log,
      })
    : undefined;
  const driver: ClusterDriver = config.PVE_URL
    ? new PveDriver(cluster, {
        url: config.PVE_URL,
        token: config.PVE_TOKEN!,
        timeoutMs: config.PVE_TIMEOUT_MS,
        tls: { caFile: config.PVE_CA_FILE, fingerprint: config.PVE_FINGERPRINT, insecure: config.PVE_INSECURE_TLS },
      })
    : new ProxmoxMcpDriver({ client: proxmoxMcp!, cluster, log, timeoutMs: config.PROXMOX_MCP_TIMEOUT_MS });
  const isPve = driver.kind === 'proxmox-ve';
  /** ProxmoxMCP-Plus beside the pve driver: a server of its own, with its tools and health. */
  const secondServer = isPve ? proxmoxMcp : undefined;
  const pollMs = isPve ? config.PVE_POLL_MS : config.PROXMOX_MCP_POLL_MS;
  const health = new UpstreamHealthTracker(
    {
      id: isPve ? `pve-${cluster}` : `proxmox-mcp-${cluster}`,
      name: isPve ? `Proxmox VE (${cluster})` : `ProxmoxMCP-Plus (${cluster})`,
      kind: driver.kind,
      scope: cluster,
      endpoint: driver.endpoint,
      transport: driver.transport,
      demo: config.MOLTEN_DEMO,
      reporter: config.instance,
      pollMs,
    },
    () => driver.capabilities(),
  );

  const who = { cluster, demo: config.MOLTEN_DEMO, reporter: config.instance };
  let poller!: ClusterPoller;
  const runtime = await runAdapter({
    service: 'proxmox-adapter',
    domain: 'proxmox',
    version: VERSION,
    settings: config,
    log,
    setup(rt) {
      poller = new ClusterPoller({ cluster, driver, publisher: rt.publisher(cluster), health, log, pollMs, demo: config.MOLTEN_DEMO });
      const changed = () => rt.changed(cluster);
      health.onChange(changed);
      // The heartbeat follows every good read, so the api's last-read time follows the poll.
      health.onRead(() => rt.beat());
      driver.onCapabilitiesChange = changed;
      proxmoxMcp?.onChange(() => {
        // As the driver's server, its tools and transport (once known) are the cluster server's.
        if (!secondServer) {
          health.tools = proxmoxMcp.tools.map(toContractTool);
          health.id.transport = proxmoxMcp.transport;
        }
        changed();
      });
      proxmoxMcp?.start();
      // The guest page's reads, answered by every replica in one queue group.
      const queries = startGuestQueries(rt.bus, { driver, locate: (vmid) => poller.locate(vmid), cluster, log });
      return {
        scopes: [
          {
            scope: cluster,
            lease: 'poll',
            handler: readFasterDuring(
              poller,
              dispatchByAction({
                power: new PowerHandler({ driver, locate: (vmid) => poller.locate(vmid), publishGuest: (g) => poller.publishGuest(g) }),
                toolCalls: proxmoxMcp ? new ToolCallHandler({ client: proxmoxMcp, serverId: `proxmox-mcp-${cluster}`, name: `ProxmoxMCP-Plus (${cluster})` }) : undefined,
              }),
            ),
            // ProxmoxMCP-Plus beside the pve driver is listed too, so the api knows it is still reported.
            health: (leader) => [health.health(leader), ...(secondServer ? [proxmoxMcpHealth(secondServer, who, leader)] : [])],
            descriptors: (last) => [health.descriptor(), ...(secondServer ? [describeProxmoxMcp(secondServer, who, last(`proxmox-mcp-${cluster}`))] : [])],
            // The second server's last-seen time moves with its pings, not with the cluster's health.
            descriptorRefreshMs: secondServer ? 30_000 : undefined,
            onLeader: (leader) => (leader ? poller.start() : poller.stop()),
          },
        ],
        // The pve driver does not own the ProxmoxMCP-Plus client: both are closed.
        close: () => Promise.all([queries.stop(), driver.close(), secondServer?.close()]),
        about: { cluster, driver: driver.kind, endpoint: driver.endpoint, pollMs, proxmoxMcp: secondServer?.endpoint },
      };
    },
  });
  return { instance: config.instance, poller, driver, proxmoxMcp, runtime, stop: () => runtime.stop() };
}
