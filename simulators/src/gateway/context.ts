import type { Logger } from '@molten/kit';
import type { Connections } from './connections.js';
import type { DeviceRegistry } from './pairing.js';
import type { GatewaySimulatorOptions } from './types.js';
import type { GatewayWorld } from './world.js';

/** What the handshake, the methods and the runs share: one simulated gateway process. */
export interface GatewayContext {
  readonly protocol: number;
  readonly v4: boolean;
  readonly token: string;
  readonly tickIntervalMs: number;
  readonly world: GatewayWorld;
  readonly conns: Connections;
  readonly devices: DeviceRegistry;
  readonly options: GatewaySimulatorOptions;
  readonly log: Logger;
}
