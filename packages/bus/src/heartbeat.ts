import { subjects, type Heartbeat, type UpstreamHealth } from '@molten/contracts';
import type { Bus } from './connect.js';
import { encodeBus } from './messages.js';

export interface HeartbeatOptions {
  domain: string;
  instance: string;
  version: string;
  intervalMs: number;
  /** Called at every beat: the health of each upstream this replica talks to. */
  upstreams: () => UpstreamHealth[];
}

/**
 * Publishes this replica's heartbeat every interval (core NATS, not stored: a heartbeat is
 * only worth its freshness). The api counts a replica gone after three missed beats.
 */
export function startHeartbeat(bus: Bus, o: HeartbeatOptions): { beat(): void; stop(): void } {
  const startedAtMs = Date.now();
  const subject = subjects.heartbeat(o.domain, o.instance);
  const beat = () => {
    if (bus.nc.isClosed() || bus.nc.isDraining()) return;
    const hb: Heartbeat = {
      domain: o.domain,
      instance: o.instance,
      version: o.version,
      startedAtMs,
      atMs: Date.now(),
      intervalMs: o.intervalMs,
      upstreams: o.upstreams(),
    };
    const { data, headers } = encodeBus('molten.v1.Heartbeat', hb);
    try {
      bus.nc.publish(subject, data, { headers });
    } catch (err) {
      bus.log.debug({ err }, 'heartbeat not sent');
    }
  };
  beat();
  const timer = setInterval(beat, o.intervalMs);
  return {
    beat,
    stop: () => clearInterval(timer),
  };
}
