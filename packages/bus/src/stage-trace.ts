import type { Bus } from './connect.js';

/**
 * Stage timestamps of a command, for the benchmark's per-stage trace (bench/run.ts). Off unless
 * MOLTEN_STAGE_TRACE=1; when on, each mark is one core-NATS publish on
 * molten.trace.<commandId> ("<stage> <epoch ms, fractional>"), fire and forget: nothing in
 * Molten listens, and nothing waits for it.
 */
const enabled = process.env.MOLTEN_STAGE_TRACE === '1';
const encoder = new TextEncoder();

export const STAGE_TRACE_SUBJECT = 'molten.trace';

export function stageTraceEnabled(): boolean {
  return enabled;
}

export function markStage(bus: Pick<Bus, 'nc'>, commandId: string, stage: string): void {
  if (!enabled) return;
  try {
    bus.nc.publish(`${STAGE_TRACE_SUBJECT}.${commandId}`, encoder.encode(`${stage} ${performance.timeOrigin + performance.now()}`));
  } catch {
    // A trace is never worth a failure.
  }
}
