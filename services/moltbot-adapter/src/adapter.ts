import { readFileSync } from 'node:fs';
import { CommandWorker, DEFAULT_LEASE_TTL_MS, Lease, startHeartbeat, type Bus } from '@molten/bus';
import type { Logger } from '@molten/kit';
import { AgentRunner, type AgentRunnerOptions } from './agent-runner.js';
import type { AdapterConfig } from './config.js';
import { DeviceIdentity } from './device-identity.js';
import { GatewayClient, type GatewayClientOptions } from './gateway-client.js';
import { DOMAIN, GatewayState } from './gateway-state.js';

export { loadConfig, type AdapterConfig } from './config.js';
export { DeviceIdentity } from './device-identity.js';
export { GatewayClient } from './gateway-client.js';
export { GatewayState } from './gateway-state.js';
export type { AgentRunResult } from './agent-runner.js';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Knobs tests turn; production uses the defaults. */
export interface AdapterTuning {
  client?: Partial<Pick<GatewayClientOptions, 'requestTimeoutMs' | 'reconnect' | 'refusedRetry' | 'challengeWaitMs'>>;
  runner?: Partial<Omit<AgentRunnerOptions, 'client' | 'log'>>;
  /** How soon an uncertain command is looked at again (worker default 5 s). */
  reconcileEveryMs?: number;
  /** Must match the molten-leases bucket TTL. */
  leaseTtlMs?: number;
  eventRefreshDelayMs?: number;
}

export interface MoltbotAdapter {
  client: GatewayClient;
  state: GatewayState;
  worker: CommandWorker;
  device: DeviceIdentity | undefined;
  /** Stops taking commands (in-flight ones finish or are handed back), then heartbeats, lease and connection. */
  stop(): Promise<void>;
}

/** Starts everything the adapter does for one gateway on an open bus. */
export async function startMoltbotAdapter(bus: Bus, config: AdapterConfig, log: Logger, tuning: AdapterTuning = {}): Promise<MoltbotAdapter> {
  const device = config.deviceAuth ? await DeviceIdentity.open(config.dataDir, log) : undefined;
  const client = new GatewayClient({
    url: config.gatewayUrl,
    token: config.token,
    gatewayId: config.gatewayId,
    device,
    log: log.child({ component: 'gateway-client' }),
    version: VERSION,
    instanceId: config.instance,
    ...tuning.client,
  });
  const state = new GatewayState({
    bus,
    client,
    gatewayId: config.gatewayId,
    instance: config.instance,
    refreshMs: config.refreshMs,
    demo: config.demo,
    log: log.child({ component: 'gateway-state' }),
    eventRefreshDelayMs: tuning.eventRefreshDelayMs,
  });
  const lease = new Lease(bus.kv.leases, {
    domain: DOMAIN,
    scope: config.gatewayId,
    what: 'poll',
    holder: config.instance,
    ttlMs: tuning.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
    log,
    onChange: (leader) => state.setLeader(leader),
  });
  const worker = new CommandWorker(bus, {
    domain: DOMAIN,
    scope: config.gatewayId,
    instance: config.instance,
    handler: new AgentRunner({ client, log, ...tuning.runner }),
    log: log.child({ component: 'agent-runs' }),
    ...(tuning.reconcileEveryMs ? { reconcileEveryMs: tuning.reconcileEveryMs } : {}),
  });

  state.start();
  client.start();
  lease.start();
  await worker.start();
  const heartbeat = startHeartbeat(bus, {
    domain: DOMAIN,
    instance: config.instance,
    version: VERSION,
    intervalMs: config.heartbeatMs,
    upstreams: () => [state.health()],
  });
  log.info({ gateway: client.endpoint, gatewayId: config.gatewayId, instance: config.instance, deviceId: device?.deviceId }, 'moltbot-adapter started');

  return {
    client,
    state,
    worker,
    device,
    async stop() {
      await worker.stop();
      heartbeat.stop();
      await lease.stop();
      await state.stop();
      await client.stop();
    },
  };
}
