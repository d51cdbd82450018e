/**
 * Issue 13's layout in Chromium: at 1440 × 900 the guests are visible without scrolling, with their
 * tags; at 390 px the guest list comes before the nodes and no page scrolls sideways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, signedIn, type DashboardStack } from './harness.js';

export function layoutSpecs(getStack: () => DashboardStack) {
  let stack: DashboardStack;
  let browser: Browser;
  beforeAll(async () => {
    stack = getStack();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe('Layout', () => {
    it('at 1440 × 900 the guest list starts above the fold, with the tags column', async () => {
      const { context, page } = await signedIn(browser, stack, stack.operatorToken, { width: 1440, height: 900 });
      try {
        const first = await page.getByRole('table', { name: 'Guests' }).locator('[role="row"][data-vmid]').first().boundingBox();
        expect(first!.y + first!.height).toBeLessThanOrEqual(900);
        expect(await page.getByRole('columnheader', { name: 'Tags' }).isVisible()).toBe(true);
      } finally {
        await context.close();
      }
    });

    it('at 390 px the guests come before the nodes, and no page scrolls sideways', async () => {
      const { context, page } = await signedIn(browser, stack, stack.operatorToken, { width: 390, height: 844 });
      try {
        const guests = await page.getByRole('table', { name: 'Guests' }).boundingBox();
        const nodes = await page.getByRole('region', { name: 'Nodes' }).boundingBox();
        expect(guests!.y).toBeLessThan(nodes!.y);
        const vmid = await page.locator('[role="row"][data-vmid]').first().getAttribute('data-vmid');
        const node = (await page.getByRole('region', { name: 'Nodes' }).getByRole('heading').first().textContent())!.trim();
        for (const path of ['/', '/servers', '/agents', '/approvals', `/guests/homelab/${vmid}`, `/nodes/homelab/${node}`]) {
          await page.goto(`${stack.url}${path}`);
          await page.locator('main h1, main h2, main [role="table"]').first().waitFor();
          expect(await page.locator('html').evaluate((h) => h.scrollWidth - h.clientWidth), path).toBe(0);
        }
      } finally {
        await context.close();
      }
    });
  });
}
