/**
 * The session page (issue 13): a session on the Agents page opens a page with what the gateway
 * reports of it and the runs Molten started in it, each task with its answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { api, launchChromium, signedIn, type DashboardStack } from './harness.js';

export function sessionSpecs(getStack: () => DashboardStack) {
  let stack: DashboardStack;
  let browser: Browser;

  beforeAll(async () => {
    stack = getStack();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe('session page', () => {
    it('opens from the Agents page and shows the run Molten started in the session, with its answer', async () => {
      const task = `Session page check ${Date.now()}`;
      const started = await api<{ data: { id: string } }>(stack, '/api/agents/main/run', { method: 'POST', body: JSON.stringify({ message: task }) });
      expect(started.status).toBe(202);
      await expect
        .poll(async () => (await api<{ data: { status: string } }>(stack, `/api/commands/${started.body.data.id}`)).body.data.status, { timeout: 30_000 })
        .toBe('succeeded');

      const { context, page } = await signedIn(browser, stack, stack.operatorToken);
      try {
        await page.goto(`${stack.url}/agents`);
        const sessions = page.locator('section[aria-labelledby="sessions-title"]');
        const row = sessions.locator('tbody tr', { has: page.locator('code', { hasText: /^agent:main:main$/ }) });
        await row.getByRole('link').click();
        await page.waitForURL(/\/agents\/sessions\/default\/agent%3Amain%3Amain$/);
        await expect.poll(() => page.locator('main code.key').textContent()).toBe('agent:main:main');
        const runs = page.locator('section[aria-labelledby="runs-title"]');
        const item = runs.locator('li', { hasText: task });
        await item.waitFor();
        // What the agent wrote (the simulated gateway echoes the task), not the gateway's bare summary.
        await expect.poll(() => item.locator('.answer p').textContent()).toContain(task);
        await item.getByRole('link', { name: 'the run’s output' }).or(item.getByRole('link', { name: "the run's output" })).click();
        await page.waitForURL(new RegExp(`/commands/${started.body.data.id}$`));
      } finally {
        await context.close();
      }
    });
  });
}
