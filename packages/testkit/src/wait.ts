/**
 * Polls until check() returns a truthy value and returns it; fails with the message and the
 * last value seen after timeoutMs. For behaviour that settles over time (events, polls), not
 * for measuring speed.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await check();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      const seen = lastErr ? `last error: ${(lastErr as Error).message}` : `last value: ${JSON.stringify(last)?.slice(0, 500)}`;
      throw new Error(`${opts.message ?? 'condition not met'} within ${timeoutMs} ms (${seen})`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}
