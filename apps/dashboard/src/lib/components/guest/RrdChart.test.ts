import { afterEach, describe, expect, test } from 'vitest';
import { page } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import RrdChart from './RrdChart.svelte';

type P = { time: number; cpu?: number };
const series = [{ label: 'CPU', color: '#f97316', value: (p: P) => p.cpu }];
const pct = (v: number) => `${Math.round(v * 100)}%`;
const hour = (cpu: (i: number) => number | undefined): P[] => Array.from({ length: 70 }, (_, i) => ({ time: 1_764_800_000 + i * 60, cpu: cpu(i) }));

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

afterEach(() => cleanup());

describe('history chart', () => {
  test('draws the points with uPlot, the axis in the given unit', async () => {
    await render(RrdChart<P>, { title: 'CPU', points: hour((i) => (i % 10) / 10), series, format: pct, max: 1 });
    const fig = page.getByRole('figure', { name: 'CPU' });
    await expect.element(fig).toHaveAttribute('data-drawn', 'yes');
    await expect.element(fig).toHaveAttribute('data-points', '70');
    await expect.poll(() => painted(fig.element())).toBe(true);
    await expect.element(fig.getByText('CPU', { exact: true }).last()).toBeInTheDocument(); // uPlot's legend
    await expect.element(page.getByText(/No data for this period/)).not.toBeInTheDocument();
  });

  test('a period with no values says so', async () => {
    await render(RrdChart<P>, { title: 'CPU', points: hour(() => undefined), series, format: pct });
    await expect.element(page.getByRole('figure', { name: 'CPU' })).toHaveAttribute('data-drawn', 'no');
    await expect.element(page.getByText(/No data for this period/)).toBeVisible();
  });

  test('new points redraw the same chart; it never overflows a narrow container', async () => {
    const r = await render(RrdChart<P>, { title: 'CPU', points: hour(() => undefined), series, format: pct });
    const fig = page.getByRole('figure', { name: 'CPU' });
    const canvas = fig.element().querySelector('canvas');
    const gridOnly = paintedPixels(fig.element());
    await r.rerender({ points: hour((i) => i / 100) });
    await expect.element(fig).toHaveAttribute('data-drawn', 'yes');
    expect(fig.element().querySelector('canvas')).toBe(canvas);
    // The new series is drawn on it (a line and its fill over the grid).
    await expect.poll(() => paintedPixels(fig.element())).toBeGreaterThan(gridOnly + 500);
    await page.viewport(390, 800);
    await expect.poll(() => document.documentElement.scrollWidth).toBeLessThanOrEqual(390);
  });
});
