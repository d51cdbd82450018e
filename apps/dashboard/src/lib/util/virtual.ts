/** The rows a virtual list renders: those in view plus a few either side, never all of them. */
export function visibleRange(o: { scrollTop: number; viewport: number; rowHeight: number; count: number; overscan?: number }): { start: number; end: number } {
  const overscan = o.overscan ?? 6;
  if (o.count === 0 || o.rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, o.scrollTop) / o.rowHeight);
  const inView = Math.ceil(Math.max(o.viewport, o.rowHeight) / o.rowHeight) + 1;
  const start = Math.max(0, Math.min(first - overscan, o.count - 1));
  const end = Math.min(o.count, first + inView + overscan);
  return { start, end: Math.max(start, end) };
}
