/**
 * A gateway that stops ticking is dead even when its socket looks open (a hung process, a
 * half-open TCP connection): clients close after two tick intervals without one (the v4
 * reference client uses close code 4000). Checks often enough to notice within a fraction of
 * an interval, and at least every 5 s.
 */
export function watchTicks(o: { tickIntervalMs: number; lastTickAtMs: () => number; onSilence: () => void; now?: () => number }): () => void {
  const now = o.now ?? Date.now;
  const limit = 2 * o.tickIntervalMs;
  const timer = setInterval(
    () => {
      if (now() - o.lastTickAtMs() <= limit) return;
      clearInterval(timer);
      o.onSilence();
    },
    Math.max(50, Math.min(Math.floor(o.tickIntervalMs / 2), 5_000)),
  );
  return () => clearInterval(timer);
}
