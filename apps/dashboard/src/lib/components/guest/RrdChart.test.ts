import { afterEach, describe, expect, test } from 'vitest';
import { page } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import RrdChart from './RrdChart.svelte';

const pct = (v: number) => `${Math.round(v * 100)}%`;
/** An hour by column, as the api answers it (null: a gap). */
const hour = (cpu: (i: number) => number | null) => ({
  time: Array.from({ length: 70 }, (_, i) => 1_764_800_000 + i * 60),
  series: [{ label: 'CPU', color: '#f97316', values: Array.from({ length: 70 }, (_, i) => cpu(i)) }],
});

/** How many pixels uPlot painted on the chart's canvas (not transparent). */
function paintedPixels(fig: Element): number {
  const c = fig.querySelector('canvas');
  if (!c || !c.width || !c.height) return 0;
  const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
  return n;
}
const painted = (fig: Element) => paintedPixels(fig) > 0;

/** Resolves after `n` frames: a ResizeObserver reports before the frame it was due in is painted. */
const frames = (n: number) => new Promise<void>((resolve) => {
  const step = (k: number) => (k === 0 ? resolve() : requestAnimationFrame(() => step(k - 1)));
  step(n);
});

/** Counts uPlot's draws per canvas (each one starts by clearing it). */
function countDraws() {
  const draws = new Map<HTMLCanvasElement, number>();
  const clear = CanvasRenderingContext2D.prototype.clearRect;
  CanvasRenderingContext2D.prototype.clearRect = function (this: CanvasRenderingContext2D, ...a: [number, number, number, number]) {
    draws.set(this.canvas, (draws.get(this.canvas) ?? 0) + 1);
    return clear.apply(this, a);
  };
  return { of: (c: HTMLCanvasElement | null) => (c ? (draws.get(c) ?? 0) : 0), restore: () => void (CanvasRenderingContext2D.prototype.clearRect = clear) };
}

afterEach(() => cleanup());

describe('history chart', () => {
  test('draws the points with uPlot, the axis in the given unit', async () => {
    await render(RrdChart, { title: 'CPU', ...hour((i) => (i % 10) / 10), format: pct, max: 1 });
    const fig = page.getByRole('figure', { name: 'CPU' });
    await expect.element(fig).toHaveAttribute('data-drawn', 'yes');
    await expect.element(fig).toHaveAttribute('data-points', '70');
    await expect.poll(() => painted(fig.element())).toBe(true);
    await expect.element(fig.getByText('CPU', { exact: true }).last()).toBeInTheDocument(); // uPlot's legend
    await expect.element(page.getByText(/No data for this period/)).not.toBeInTheDocument();
  });

  test('drawn once, at its width; drawn again only when the width changes', async () => {
    const draws = countDraws();
    try {
      await render(RrdChart, { title: 'CPU', ...hour((i) => (i % 10) / 10), format: pct, max: 1 });
      const fig = page.getByRole('figure', { name: 'CPU' });
      await expect.poll(() => painted(fig.element())).toBe(true);
      const canvas = fig.element().querySelector('canvas');
      // The observer's first report (the size it was built at) draws nothing more.
      await frames(3);
      expect(draws.of(canvas)).toBe(1);
      await page.viewport(600, 800);
      await expect.poll(() => draws.of(canvas)).toBe(2);
      expect(canvas!.getBoundingClientRect().width).toBeLessThanOrEqual(600);
    } finally {
      draws.restore();
    }
  });

  test('a period with no values says so', async () => {
    await render(RrdChart, { title: 'CPU', ...hour(() => null), format: pct });
    await expect.element(page.getByRole('figure', { name: 'CPU' })).toHaveAttribute('data-drawn', 'no');
    await expect.element(page.getByText(/No data for this period/)).toBeVisible();
  });

  test('new points redraw the same chart; it never overflows a narrow container', async () => {
    const r = await render(RrdChart, { title: 'CPU', ...hour(() => null), format: pct });
    const fig = page.getByRole('figure', { name: 'CPU' });
    const canvas = fig.element().querySelector('canvas');
    const gridOnly = paintedPixels(fig.element());
    await r.rerender(hour((i) => i / 100));
    await expect.element(fig).toHaveAttribute('data-drawn', 'yes');
    expect(fig.element().querySelector('canvas')).toBe(canvas);
    // The new series is drawn on it (a line and its fill over the grid).
    await expect.poll(() => paintedPixels(fig.element())).toBeGreaterThan(gridOnly + 500);
    await page.viewport(390, 800);
    await expect.poll(() => document.documentElement.scrollWidth).toBeLessThanOrEqual(390);
  });
});
