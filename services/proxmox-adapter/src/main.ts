import { CommandWorker, Lease, StatePublisher, connectBus, startHeartbeat } from '@molten/bus';
import { decodeMessage, subjects } from '@molten/contracts';
import { createLogger, instanceId, isMain, onShutdown, type Logger } from '@molten/kit';
import { ClusterPoller } from './cluster-poller.js';
import { loadConfig, type ProxmoxAdapterConfig } from './config.js';
import type { ClusterDriver, GuestRef } from './driver.js';
import { startGuestQueries } from './guest-queries.js';
import { PowerHandler } from './power-handler.js';
import type { ProxmoxMcpClient } from './proxmox-mcp/client.js';
import { connectProxmoxMcp } from './proxmox-mcp/connect.js';
import { ProxmoxMcpDriver } from './proxmox-mcp/proxmox-mcp-driver.js';
import { describeProxmoxMcp, toContractTool } from './proxmox-mcp/server-descriptor.js';
import { PveDriver } from './pve/pve-driver.js';
import { ToolCallHandler, dispatchByAction } from './tool-call-handler.js';
import { UpstreamHealthTracker } from './upstream-health.js';

const VERSION = '0.1.0';

export interface RunningAdapter {
  instance: string;
  poller: ClusterPoller;
  lease: Lease;
  worker: CommandWorker;
  driver: ClusterDriver;
  /** The ProxmoxMCP-Plus server, when PROXMOX_MCP_URL is set (the driver's, or a second server beside the pve driver). */
  proxmoxMcp: ProxmoxMcpClient | undefined;
  /** Stops cleanly: commands handed back or finished, lease released, bus drained. */
  stop(): Promise<void>;
}

/** Starts the proxmox-adapter (in this process); main() below is the command-line wrapper. */
export async function startProxmoxAdapter(config: ProxmoxAdapterConfig, log: Logger): Promise<RunningAdapter> {
  const instance = config.MOLTEN_INSTANCE ?? instanceId();
  const cluster = config.MOLTEN_CLUSTER;
  const steps: { name: string; run: () => unknown }[] = [];
  const shutdown = { add: (name: string, run: () => unknown) => steps.push({ name, run }) };

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
  shutdown.add('driver', () => driver.close());
  // The pve driver does not own the ProxmoxMCP-Plus client; close it after the commands stopped.
  if (proxmoxMcp && driver.kind === 'proxmox-ve') shutdown.add('proxmox-mcp', () => proxmoxMcp.close());
  const pollMs = driver.kind === 'proxmox-ve' ? config.PVE_POLL_MS : config.PROXMOX_MCP_POLL_MS;

  const bus = await connectBus({ servers: config.NATS_URL, name: `proxmox-adapter-${instance}`, log, provision: { leaseTtlMs: config.MOLTEN_LEASE_TTL_MS } });
  shutdown.add('bus', () => bus.close());
  const publisher = new StatePublisher(bus, 'proxmox', cluster);

  const serverId = driver.kind === 'proxmox-ve' ? `pve-${cluster}` : `proxmox-mcp-${cluster}`;
  const health = new UpstreamHealthTracker(
    {
      id: serverId,
      name: driver.kind === 'proxmox-ve' ? `Proxmox VE (${cluster})` : `ProxmoxMCP-Plus (${cluster})`,
      kind: driver.kind,
      scope: cluster,
      endpoint: driver.endpoint,
      transport: driver.transport,
      demo: config.MOLTEN_DEMO,
      reporter: instance,
      pollMs,
    },
    () => driver.capabilities(),
  );

  const poller = new ClusterPoller({ cluster, driver, bus, publisher, health, log, pollMs, demo: config.MOLTEN_DEMO });
  const lease = new Lease(bus.kv.leases, {
    domain: 'proxmox',
    scope: cluster,
    what: 'poll',
    holder: instance,
    ttlMs: config.MOLTEN_LEASE_TTL_MS,
    log,
    onChange: (leader) => {
      if (leader) {
        log.info({ cluster }, 'polling the cluster');
        void publisher.put('server', serverId, health.descriptor()).catch(() => {});
        publishSecond();
        void poller.hydrate().then(() => poller.start(), (err) => {
          log.error({ err }, 'could not read the last snapshot; polling anyway');
          poller.start();
        });
      } else {
        log.info({ cluster }, 'another replica polls the cluster');
        void poller.stop();
      }
    },
  });
  const hb = startHeartbeat(bus, {
    domain: 'proxmox',
    instance,
    version: VERSION,
    intervalMs: config.MOLTEN_HEARTBEAT_MS,
    upstreams: () => [health.health(lease.leader)],
  });
  shutdown.add('heartbeat', () => hb.stop());
  // The leader publishes the upstream's descriptor whenever its health changes, and when it
  // takes over.
  driver.onCapabilitiesChange = () => {
    if (lease.leader) void publisher.put('server', serverId, health.descriptor()).catch(() => {});
    hb.beat();
  };
  health.onChange(() => {
    if (lease.leader) void publisher.put('server', serverId, health.descriptor()).catch((err) => log.warn({ err }, 'descriptor not published'));
    hb.beat();
  });

  // ProxmoxMCP-Plus: its tools (and, as the driver's server, its transport once known) in the
  // descriptor; beside the pve driver, a second server of its own, published by the leader on
  // every change of its health or tools and every 30 s (its last-seen time).
  const secondServer = proxmoxMcp && driver.kind === 'proxmox-ve';
  let secondTimer: NodeJS.Timeout | undefined;
  let secondPending = false;
  function publishSecond(): void {
    if (!secondServer || !lease.leader || secondPending) return;
    secondPending = true;
    setImmediate(() => {
      secondPending = false;
      if (!lease.leader) return;
      const d = describeProxmoxMcp(proxmoxMcp, { cluster, demo: config.MOLTEN_DEMO, reporter: instance });
      void publisher.put('server', d.id, d).catch((err) => log.warn({ err }, 'ProxmoxMCP-Plus descriptor not published'));
    });
  }
  if (proxmoxMcp) {
    proxmoxMcp.onChange(() => {
      if (secondServer) return publishSecond();
      health.tools = proxmoxMcp.tools.map(toContractTool);
      health.id.transport = proxmoxMcp.transport;
      if (lease.leader) void publisher.put('server', serverId, health.descriptor()).catch((err) => log.warn({ err }, 'descriptor not published'));
    });
    if (secondServer) {
      secondTimer = setInterval(publishSecond, 30_000);
      shutdown.add('proxmox-mcp descriptor', () => clearInterval(secondTimer));
    }
    proxmoxMcp.start();
  }

  const locate = async (vmid: number): Promise<GuestRef | undefined> => {
    const known = poller.locate(vmid);
    if (known) return known;
    for (const type of ['qemu', 'lxc'] as const) {
      const e = await bus.kv.state.get(subjects.stateKey({ domain: 'proxmox', scope: cluster, kind: type, id: String(vmid) }));
      if (e && e.operation === 'PUT' && e.length > 0) {
        const g = decodeMessage('molten.v1.Guest', e.value);
        return { vmid, node: g.node, type };
      }
    }
    return undefined;
  };

  // The guest page's reads, answered by every replica in one queue group.
  const queries = startGuestQueries(bus, { driver, locate, cluster, log });
  shutdown.add('queries', () => queries.stop());

  const worker = new CommandWorker(bus, {
    domain: 'proxmox',
    scope: cluster,
    instance,
    log,
    concurrency: config.MOLTEN_COMMAND_CONCURRENCY,
    ackWaitMs: config.MOLTEN_COMMAND_ACK_WAIT_MS,
    handler: dispatchByAction({
      power: new PowerHandler({ driver, locate, publishGuest: (g) => poller.publishGuest(g) }),
      toolCalls: proxmoxMcp
        ? new ToolCallHandler({ client: proxmoxMcp, serverId: `proxmox-mcp-${cluster}`, name: `ProxmoxMCP-Plus (${cluster})` })
        : undefined,
    }),
  });


  lease.start();
  shutdown.add('lease', async () => {
    await poller.stop();
    await lease.stop();
  });
  await worker.start();
  shutdown.add('commands', () => worker.stop(8_000));
  log.info(
    { cluster, instance, driver: driver.kind, endpoint: driver.endpoint, pollMs, proxmoxMcp: proxmoxMcp && driver.kind === 'proxmox-ve' ? proxmoxMcp.endpoint : undefined },
    'proxmox-adapter running',
  );
  return {
    instance,
    poller,
    lease,
    worker,
    driver,
    proxmoxMcp,
    async stop() {
      for (const step of steps.reverse()) {
        try {
          await step.run();
        } catch (err) {
          log.warn({ step: step.name, err }, 'stop step failed');
        }
      }
    },
  };
}

if (isMain(import.meta.url)) {
  const log = createLogger('proxmox-adapter');
  try {
    const adapter = await startProxmoxAdapter(loadConfig(), log);
    // Commands in flight get 8 s (+2 s to hand the rest back), then the lease, heartbeats and the
    // bus drain: more than onShutdown's default 10 s per step, within the 30 s deploy/ allows.
    onShutdown(log, { timeoutMs: 25_000 }).add('adapter', () => adapter.stop());
  } catch (err) {
    log.fatal({ err }, 'proxmox-adapter failed to start');
    process.exit(1);
  }
}
