import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchTicks } from './tick-watchdog.js';

describe('tick watchdog', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('stays quiet while ticks arrive and calls once after two intervals of silence', () => {
    let lastTick = Date.now();
    const onSilence = vi.fn();
    watchTicks({ tickIntervalMs: 1_000, lastTickAtMs: () => lastTick, onSilence });
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(1_000);
      lastTick = Date.now();
    }
    expect(onSilence).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2_000);
    expect(onSilence).not.toHaveBeenCalled();
    vi.advanceTimersByTime(500);
    expect(onSilence).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(onSilence).toHaveBeenCalledTimes(1);
  });

  it('checks at least every 5 s on a long interval, and never after stop()', () => {
    const start = Date.now();
    const onSilence = vi.fn();
    const stop = watchTicks({ tickIntervalMs: 30_000, lastTickAtMs: () => start, onSilence });
    vi.advanceTimersByTime(65_000);
    expect(onSilence).toHaveBeenCalledTimes(1);

    const other = vi.fn();
    const stopOther = watchTicks({ tickIntervalMs: 100, lastTickAtMs: () => start, onSilence: other });
    stopOther();
    vi.advanceTimersByTime(1_000);
    expect(other).not.toHaveBeenCalled();
    stop();
  });
});
