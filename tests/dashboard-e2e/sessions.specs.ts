/**
 * The session page (issue 13): a session on the Agents page opens a page with what the gateway
 * reports of it, its transcript as the gateway keeps it (chat.history: the simulator's demo
 * transcripts, and every run's turn), and the runs Molten started in it, each task with its answer.
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
        // The gateway's transcript holds the same turn: the task as the user's message, then the answer.
        const transcript = page.locator('section[aria-labelledby="transcript-title"]');
        const prompt = transcript.locator('li[data-role="user"]', { hasText: task });
        await prompt.waitFor();
        await expect.poll(() => prompt.locator('xpath=following-sibling::li[1]').getAttribute('data-role')).toBe('assistant');
        await expect.poll(() => prompt.locator('xpath=following-sibling::li[1]').textContent()).toContain(task);
        await item.getByRole('link', { name: 'the run’s output' }).or(item.getByRole('link', { name: "the run's output" })).click();
        await page.waitForURL(new RegExp(`/commands/${started.body.data.id}$`));
      } finally {
        await context.close();
      }
    });

    it("shows a demo session's transcript from the gateway: messages in order, a tool call that opens to its arguments and result, a long answer folded", async () => {
      const { context, page } = await signedIn(browser, stack, stack.viewerToken);
      try {
        await page.goto(`${stack.url}/agents/sessions/default/${encodeURIComponent('agent:homelab-ops:main')}`);
        const transcript = page.locator('section[aria-labelledby="transcript-title"]');
        const messages = transcript.locator('ol.messages > li');
        await messages.first().waitFor();
        await expect.poll(() => messages.first().textContent()).toContain('Why is pve2 swapping?');
        // Tool results are folded under their calls: prompt, two calls, the answer.
        await expect.poll(() => messages.evaluateAll((els) => els.map((e) => e.getAttribute('data-role')))).toEqual(['user', 'assistant', 'assistant', 'assistant']);
        const call = transcript.locator('details.tool', { hasText: 'command: "ssh root@pve2 free -m"' });
        await call.locator('summary').click();
        await expect.poll(() => call.getByLabel('Result of exec').textContent()).toContain('Swap:');
        await expect.poll(() => call.getByLabel('Arguments of exec').textContent()).toContain('"command": "ssh root@pve2 free -m"');
        const answer = messages.last();
        const show = answer.getByRole('button', { name: 'Show all' });
        await expect.poll(() => show.getAttribute('aria-expanded')).toBe('false');
        await show.click();
        await expect.poll(() => answer.getByRole('button', { name: 'Show less' }).getAttribute('aria-expanded')).toBe('true');
        await expect.poll(() => answer.textContent()).toContain('lowering it to 8 GiB frees enough memory on pve2.');
      } finally {
        await context.close();
      }
    });

    it('keeps a wide tool result inside the page on a phone: it scrolls sideways within its box', async () => {
      const { context, page } = await signedIn(browser, stack, stack.viewerToken, { width: 390, height: 844 });
      try {
        await page.goto(`${stack.url}/agents/sessions/default/${encodeURIComponent('agent:homelab-ops:main')}`);
        const call = page.locator('details.tool', { hasText: 'free -m' });
        await call.locator('summary').click();
        const result = call.getByLabel('Result of exec');
        await result.waitFor();
        const widths = await result.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
        expect(widths.scroll).toBeGreaterThan(widths.client);
        const overflow = await page.locator('html').evaluate((h) => Math.max(...[h, h.querySelector('main')].map((el) => (el ? el.scrollWidth - el.clientWidth : 0))));
        expect(overflow).toBe(0);
      } finally {
        await context.close();
      }
    });

    it('says so when the gateway holds no messages for a session', async () => {
      const { context, page } = await signedIn(browser, stack, stack.viewerToken);
      try {
        await page.goto(`${stack.url}/agents/sessions/default/${encodeURIComponent('agent:main:never-used')}`);
        const transcript = page.locator('section[aria-labelledby="transcript-title"]');
        await transcript.getByText(/The gateway holds no messages in this session/).waitFor();
      } finally {
        await context.close();
      }
    });
  });
}
