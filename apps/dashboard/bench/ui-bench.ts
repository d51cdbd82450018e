/**
 * bench:ui — the dashboard's speed in Chromium (Debian's, via playwright-core), on the built app,
 * at 5,000 and at 15,000 guests (one size each, in turn):
 *
 *   data → table        from the snapshot's arrival to the first render of the table (parsing,
 *                       stores, filter/sort, virtual rows); target ≤ 300 ms
 *   frames under load   while 500 guest updates/s arrive: frame interval (rAF to rAF) and frame
 *                       work (rAF start → rendering done); target p95 ≤ 8 ms — sorted by vmid
 *                       (rows change in place) and by CPU (every frame re-sorts every guest)
 *
 * Run: npx tsx apps/dashboard/bench/ui-bench.ts [--guests 5000,15000] [--rate 500] [--seconds 10]
 * (BENCH_UI_BUILD=<dir> measures another build of the dashboard instead of apps/dashboard/build)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startSyntheticApi } from './synthetic-api.ts';

const here = import.meta.dirname;
const appDir = path.resolve(here, '..');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SIZES = (() => {
  const i = process.argv.indexOf('--guests');
  return (i > 0 ? process.argv[i + 1]! : process.env.BENCH_UI_GUESTS ?? '5000,15000').split(',').map(Number);
})();
const FIRST_RENDER_TARGET_MS = 300;
const FRAME_P95_TARGET_MS = 8;
const RATE = arg('rate', 500);
const SECONDS = arg('seconds', 10);
const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! : NaN;
}
const f = (v: number) => `${v.toFixed(1)} ms`;

/** Installed before the app: notes when the snapshot arrives and when the table shows it. */
function probe(expected: number) {
  const w = window as unknown as Record<string, unknown>;
  const NativeES = window.EventSource;
  w.__bench = { snapshotAt: 0, tableAt: 0 };
  const b = w.__bench as { snapshotAt: number; tableAt: number };
  window.EventSource = class extends NativeES {
    constructor(url: string | URL, init?: EventSourceInit) {
      super(url, init);
      // Registered before the app's own listener, so it runs first: the clock starts at arrival.
      this.addEventListener('snapshot', () => {
        b.snapshotAt = performance.now();
        b.tableAt = 0;
      });
    }
  } as typeof EventSource;
  const label = `Guests ${expected.toLocaleString('en-US')}`;
  new MutationObserver(() => {
    if (!b.snapshotAt || b.tableAt) return;
    const heading = document.getElementById('guests-title');
    if (document.querySelector('[role="row"][data-vmid]') && heading?.textContent?.replace(/\s+/g, ' ').trim() === label) b.tableAt = performance.now();
  }).observe(document, { childList: true, subtree: true, characterData: true });
}

/** Frame intervals and per-frame work, for `ms` milliseconds. */
function measureFrames(ms: number): Promise<{ intervals: number[]; work: number[] }> {
  return new Promise((resolve) => {
    const intervals: number[] = [];
    const work: number[] = [];
    const channel = new MessageChannel();
    let frameStart = 0;
    // A message posted during rAF is handled after this frame's rendering: its time marks the
    // end of the frame's work (our flush, Svelte's updates, style, layout, paint).
    channel.port1.onmessage = () => work.push(performance.now() - frameStart);
    let last = 0;
    const end = performance.now() + ms;
    const tick = (t: number) => {
      frameStart = performance.now();
      if (last) intervals.push(t - last);
      last = t;
      channel.port2.postMessage(0);
      if (performance.now() < end) requestAnimationFrame(tick);
      else setTimeout(() => resolve({ intervals, work }), 50);
    };
    requestAnimationFrame(tick);
  });
}

async function main() {
  // BENCH_UI_BUILD: another build of the dashboard (to compare two builds, interleaved).
  const buildDir = process.env.BENCH_UI_BUILD ? path.resolve(process.env.BENCH_UI_BUILD) : path.join(appDir, 'build');
  if (!existsSync(path.join(buildDir, 'index.html'))) {
    process.stdout.write('building the dashboard…\n');
    const r = spawnSync(process.execPath, [path.join(appDir, '../../node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: appDir, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('dashboard build failed');
  }
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ARGS });
  const summary: string[] = [];
  try {
    for (const guests of SIZES) summary.push(...(await measure(browser, buildDir, guests)));
  } finally {
    await browser.close();
  }
  process.stdout.write(`\nbench:ui summary\n${summary.join('\n')}\n`);
}

/** Both figures at one size; returns its summary lines. */
async function measure(browser: Browser, buildDir: string, GUESTS: number): Promise<string[]> {
  const api = await startSyntheticApi({ buildDir, guestCount: GUESTS });
  const lines: string[] = [];
  const say = (l: string) => process.stdout.write(`${l}\n`);
  try {
    say(`bench:ui — ${GUESTS.toLocaleString('en-US')} guests, snapshot ${(api.snapshotBytes / 1024 / 1024).toFixed(1)} MiB, ${RATE} updates/s for ${SECONDS} s, Chromium ${browser.version()}`);

    // 1. Data → first render of the table (median of a few cold loads).
    const firstRender: number[] = [];
    for (let i = 0; i < 5; i++) {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      // tsx names functions with a helper (__name) that the page does not have.
      await page.addInitScript('globalThis.__name = (f) => f');
      await page.addInitScript(probe, GUESTS);
      await page.goto(api.url);
      await page.waitForFunction(() => (window as unknown as { __bench: { tableAt: number } }).__bench.tableAt > 0, null, { timeout: 30_000 });
      const t = await page.evaluate(() => {
        const b = (window as unknown as { __bench: { snapshotAt: number; tableAt: number } }).__bench;
        return b.tableAt - b.snapshotAt;
      });
      firstRender.push(t);
      await page.close();
    }
    const med = pct(firstRender, 50);
    say(`data → table          median ${f(med)}  (runs: ${firstRender.map((v) => v.toFixed(0)).join(', ')} ms)  target ≤ ${FIRST_RENDER_TARGET_MS} ms: ${med <= FIRST_RENDER_TARGET_MS ? 'met' : 'MISSED'}`);
    lines.push(`${GUESTS.toLocaleString('en-US').padStart(6)} guests  data → table median ${f(med)} (target ≤ ${FIRST_RENDER_TARGET_MS} ms: ${med <= FIRST_RENDER_TARGET_MS ? 'met' : 'MISSED'})`);

    // 2. Frames while updates stream in, sorted by vmid and by CPU.
    for (const [label, query] of [
      ['sorted by vmid', ''],
      ['sorted by CPU', '?sort=-cpu'],
    ] as const) {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      // tsx names functions with a helper (__name) that the page does not have.
      await page.addInitScript('globalThis.__name = (f) => f');
      await page.addInitScript(probe, GUESTS);
      await page.goto(api.url + query);
      await page.waitForFunction(() => (window as unknown as { __bench: { tableAt: number } }).__bench.tableAt > 0, null, { timeout: 30_000 });
      await page.waitForTimeout(500);
      const before = api.sent();
      api.startUpdates(RATE);
      const m = await page.evaluate(measureFrames, SECONDS * 1000);
      api.stopUpdates();
      const rate = (api.sent() - before) / SECONDS;
      const dropped = m.intervals.filter((v) => v > 1.5 * pct(m.intervals, 50)).length;
      const p95 = pct(m.work, 95);
      say(
        `frames, ${label.padEnd(14)} ${Math.round(rate)} updates/s · work p50 ${f(pct(m.work, 50))} p95 ${f(p95)} max ${f(Math.max(...m.work))} · interval p50 ${f(pct(m.intervals, 50))} p95 ${f(pct(m.intervals, 95))} · ${dropped}/${m.intervals.length} frames late · target p95 ≤ ${FRAME_P95_TARGET_MS} ms: ${p95 <= FRAME_P95_TARGET_MS ? 'met' : 'MISSED'}`,
      );
      lines.push(`${GUESTS.toLocaleString('en-US').padStart(6)} guests  frames ${label}: work p95 ${f(p95)}, ${dropped}/${m.intervals.length} late (target p95 ≤ ${FRAME_P95_TARGET_MS} ms: ${p95 <= FRAME_P95_TARGET_MS ? 'met' : 'MISSED'})`);
      await page.close();
    }
  } finally {
    await api.close();
  }
  return lines;
}

await main();
