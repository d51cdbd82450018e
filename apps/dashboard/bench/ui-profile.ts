/**
 * Where the dashboard's time goes while guest updates stream in: a CPU profile of the page
 * (Chromium's sampling profiler over CDP) for a few seconds of 500 updates/s, printed as the
 * functions with the most self time. Build the dashboard unminified first to read the names:
 *
 *   (cd apps/dashboard && npx vite build --minify false)
 *   npx tsx apps/dashboard/bench/ui-profile.ts [--guests 15000] [--query '?sort=-cpu'] [--seconds 6]
 *
 * (then `npx vite build` again for the real bundle). BENCH_UI_BUILD picks another build.
 */
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startSyntheticApi } from './synthetic-api.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const GUESTS = Number(arg('guests', '15000'));
const QUERY = arg('query', '?sort=-cpu');
const SECONDS = Number(arg('seconds', '6'));
const buildDir = process.env.BENCH_UI_BUILD ? path.resolve(process.env.BENCH_UI_BUILD) : path.join(import.meta.dirname, '..', 'build');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const api = await startSyntheticApi({ buildDir, guestCount: GUESTS });
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  // tsx names functions with a helper (__name) that the page does not have.
  await page.addInitScript('globalThis.__name = (f) => f');
  await page.goto(api.url + QUERY);
  await page.waitForSelector('[role="row"][data-vmid]');
  await page.waitForTimeout(1000);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  api.startUpdates(500);
  await cdp.send('Profiler.start');
  await page.waitForTimeout(SECONDS * 1000);
  const { profile } = await cdp.send('Profiler.stop');
  api.stopUpdates();
  const nodes = new Map((profile.nodes as ProfileNode[]).map((n) => [n.id, n]));
  const selfUs = new Map<string, number>();
  let busyUs = 0;
  profile.samples!.forEach((id, i) => {
    const f = nodes.get(id)!.callFrame;
    if (f.functionName === '(idle)' || f.functionName === '(program)') return;
    const key = `${f.functionName || '(anonymous)'} ${path.basename(f.url)}:${f.lineNumber + 1}`;
    const dt = profile.timeDeltas![i] ?? 0;
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
    busyUs += dt;
  });
  process.stdout.write(`${GUESTS.toLocaleString('en-US')} guests, ${QUERY || 'default sort'}, 500 updates/s: busy ${(busyUs / 1000).toFixed(0)} ms of ${SECONDS * 1000} ms\n`);
  for (const [k, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`${(us / 1000).toFixed(1).padStart(8)} ms  ${k}\n`);
} finally {
  await browser.close();
  await api.close();
}
