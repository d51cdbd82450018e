/**
 * Layout checks (issue 13): at 1440 × 900 the guest list is in view without scrolling, above it
 * a compact summary whose node cards show their text whole, and the table shows tags; at 390 px
 * no page scrolls sideways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { api, launchChromium, signedIn, type DashboardStack } from './harness.js';

/** How far the page, or its main area (a scroll container of its own), scrolls sideways (0 when it fits). */
const overflowX = (page: Page) =>
  page.locator('html').evaluate((h) => Math.max(...[h, h.querySelector('main')].map((el) => (el ? el.scrollWidth - el.clientWidth : 0))));

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

  describe('layout', () => {
    it('at 1440 × 900 shows the guest list without scrolling, node cards whole, and the tags column', async () => {
      const { context, page } = await signedIn(browser, stack, stack.operatorToken, { width: 1440, height: 900 });
      try {
        const table = page.getByRole('table', { name: 'Guests' });
        const rows = table.locator('[role="row"][data-vmid]');
        await rows.nth(2).waitFor();
        // The first guests are in the viewport, with no scrolling.
        expect(await page.locator('html').evaluate((h) => h.scrollTop)).toBe(0);
        const third = (await rows.nth(2).boundingBox())!;
        expect(third.y + third.height).toBeLessThanOrEqual(900);
        // Node cards: no text cut off.
        const cards = page.getByRole('article', { name: /^Node / });
        expect(await cards.count()).toBeGreaterThan(0);
        for (const card of await cards.all()) {
          const cut = await card.locator('.sub').evaluate((el) => el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight + 1);
          expect(cut, (await card.getAttribute('aria-label')) ?? 'a node card').toBe(false);
          expect(await card.locator('.sub').textContent()).toMatch(/PVE \d+\.\d+(\.\d+)? · \d+ CPUs/);
        }
        await expect.poll(() => table.getByRole('columnheader', { name: 'Tags' }).isVisible()).toBe(true);
      } finally {
        await context.close();
      }
    });

    it('fits a phone: the guests first, and no page overflows sideways at 390 px', async () => {
      const { context, page } = await signedIn(browser, stack, stack.operatorToken, { width: 390, height: 844 });
      try {
        // The guests come first on a phone: the table above the node cards.
        const guests = await page.getByRole('table', { name: 'Guests' }).boundingBox();
        const nodes = await page.getByRole('region', { name: 'Nodes' }).boundingBox();
        expect(guests!.y).toBeLessThan(nodes!.y);
        const commands = (await api<{ data: { id: string; action: string }[] }>(stack, '/api/commands')).body.data;
        // Each page with what shows it filled in from the live state (its widest part).
        const paths: [string, string][] = [
          ['/', '[role="row"][data-vmid]'],
          ['/servers', 'main .grid > *'],
          ['/agents', 'section[aria-labelledby="sessions-title"] tbody tr'],
          ['/approvals', 'main h1'],
        ];
        // A command page of each kind the other specs left (an agent run's output, a tool call's result, a guest action's UPID).
        const kinds = new Map(commands.map((c) => [c.action, c.id]));
        for (const id of kinds.values()) paths.push([`/commands/${id}`, 'main h1']);
        paths.push(['/agents/sessions/default/agent%3Amain%3Amain', 'section[aria-labelledby="runs-title"]']);
        for (const [path, ready] of paths) {
          await page.goto(`${stack.url}${path}`);
          await page.locator(ready).first().waitFor();
          expect(await overflowX(page), path).toBe(0);
        }
      } finally {
        await context.close();
      }
    });
  });
}
