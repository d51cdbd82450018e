/**
 * Screenshots of the Infrastructure view for the README, from a running stack (npm start):
 * light and dark, desktop and phone width, into docs/screenshots/.
 *
 *   MOLTEN_URL=http://127.0.0.1:3003 MOLTEN_TOKEN=<operator token> npx tsx apps/dashboard/scripts/screenshots.ts
 *
 * The token defaults to the one npm start keeps in the data directory (.molten/operator-token).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '../../..');
const url = process.env.MOLTEN_URL ?? 'http://127.0.0.1:3003';
const tokenFile = path.join(process.env.MOLTEN_DATA_DIR ?? path.join(root, '.molten'), 'operator-token');
const token = process.env.MOLTEN_TOKEN ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '');
if (!token) throw new Error(`no token: set MOLTEN_TOKEN, or start the stack with npm start (it writes ${tokenFile})`);
const out = path.join(root, 'docs/screenshots');
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--hide-scrollbars'],
});
try {
  for (const scheme of ['light', 'dark'] as const) {
    for (const [size, viewport, scale] of [
      ['desktop', { width: 1440, height: 900 }, 1],
      ['phone', { width: 390, height: 844 }, 2],
    ] as const) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: scale, colorScheme: scheme, reducedMotion: 'reduce' });
      const page = await context.newPage();
      await page.goto(`${url}/signin`);
      await page.getByLabel('Token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
      await page.locator('[role="row"][data-vmid]').first().waitFor();
      await page.locator('header .conn.live').waitFor();
      // Let a poll or two land, so the ages read "updated 1 s ago", not "never".
      await page.waitForTimeout(2500);
      const file = path.join(out, `infrastructure-${size}-${scheme}.png`);
      await page.screenshot({ path: file, fullPage: size === 'phone' });
      process.stdout.write(`${path.relative(root, file)}\n`);
      await context.close();
    }
  }
} finally {
  await browser.close();
}
