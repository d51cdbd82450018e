import { readFileSync } from 'node:fs';
import { runAdapter, type AdapterRuntime, type CommandWorker } from '@molten/bus';
import type { Logger } from '@molten/kit';
import { AgentRunner, type AgentRunnerOptions } from './agent-runner.js';
import type { AdapterConfig } from './config.js';
import { DeviceIdentity } from './device-identity.js';
import { GatewayClient, type GatewayClientOptions } from './gateway-client.js';
import { DOMAIN, GatewayState } from './gateway-state.js';
import { startSessionQueries } from './session-queries.js';

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
  eventRefreshDelayMs?: number;
}

export interface MoltbotAdapter {
  client: GatewayClient;
  state: GatewayState;
  worker: CommandWorker;
  device: DeviceIdentity | undefined;
  runtime: AdapterRuntime;
  /** Stops taking commands (in-flight ones finish or are handed back), then the lease, heartbeats, the connection and the bus. */
  stop(): Promise<void>;
}

/**
 * Starts the moltbot-adapter in this process: one gateway connection per replica (for agent
 * runs and its heartbeat), the gateway's state published by the replica that holds the lease
 * `moltbot.<gatewayId>.poll`, agent-run commands taken from the gateway's shared consumer, and
 * the gateway's reads (a session's transcript) answered on request.
 */
export async function startMoltbotAdapter(config: AdapterConfig, log: Logger, tuning: AdapterTuning = {}): Promise<MoltbotAdapter> {
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
  const scope = config.gatewayId;
  let state!: GatewayState;
  const runtime = await runAdapter({
    service: 'moltbot-adapter',
    domain: DOMAIN,
    version: VERSION,
    settings: config,
    log,
    reconcileEveryMs: tuning.reconcileEveryMs,
    setup(rt) {
      state = new GatewayState({
        publisher: rt.publisher(scope),
        changed: () => rt.changed(scope),
        client,
        gatewayId: scope,
        instance: config.instance,
        refreshMs: config.refreshMs,
        demo: config.demo,
        log: log.child({ component: 'gateway-state' }),
        eventRefreshDelayMs: tuning.eventRefreshDelayMs,
      });
      state.start();
      client.start();
      // A session's transcript, read from the gateway when asked: by every replica, in one queue group.
      const queries = startSessionQueries(rt.bus, { client, gatewayId: scope, log: log.child({ component: 'session-queries' }) });
      return {
        scopes: [
          {
            scope,
            lease: 'poll',
            handler: new AgentRunner({ client, log, ...tuning.runner }),
            health: () => state.health(),
            descriptors: () => [state.server()],
            onLeader: (leader) => state.setLeader(leader),
          },
        ],
        close: async () => {
          await queries.stop();
          await state.stop();
          await client.stop();
        },
        about: { gateway: client.endpoint, gatewayId: scope, deviceId: device?.deviceId },
      };
    },
  });
  return { client, state, worker: runtime.worker(scope)!, device, runtime, stop: () => runtime.stop() };
}
