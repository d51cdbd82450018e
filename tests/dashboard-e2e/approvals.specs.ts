/**
 * Issue 11 in Chromium: an agent's call through Molten's MCP endpoint waits in the Approvals
 * inbox of every signed-in operator; one approves; both see it decided; the agent gets its result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { api, launchChromium, signedIn, type DashboardStack } from './harness.js';

interface ApiGuest {
  vmid: number;
  name: string;
  node: string;
  type: string;
  status: string;
  lock?: string;
  template: boolean;
  hastate?: string;
}

export function approvalSpecs(getStack: () => DashboardStack) {
  let stack: DashboardStack;
  let browser: Browser;
  let agent: Client;

  beforeAll(async () => {
    stack = getStack();
    if (!stack.agentToken) throw new Error('the approvals specs need a stack with MOLTEN_AGENT_TOKEN');
    browser = await launchChromium();
    agent = new Client({ name: 'e2e-agent', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await agent.connect(new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${stack.agentToken}` } } }));
  });
  afterAll(async () => {
    await agent?.close();
    await browser?.close();
  });

  describe('Approvals inbox', () => {
    it("an agent's stop waits in two operators' inboxes; one approves, both see it decided, and the agent gets its result", async () => {
      // The last running VM: the other specs take guests from the front of the list.
      const guests = (await api<{ data: ApiGuest[] }>(stack, '/api/vms')).body.data;
      const vm = guests.filter((g) => g.type === 'qemu' && g.status === 'running' && !g.lock && !g.template && !g.hastate).at(-1)!;
      const one = await signedIn(browser, stack, stack.operatorToken);
      const two = await signedIn(browser, stack, stack.operatorToken);
      try {
        const call = agent.callTool({ name: 'guest_power', arguments: { vmid: vm.vmid, action: 'stop', reason: 'e2e: free its memory' } }, { timeout: 60_000 });

        // Both see the count in the top bar, live, without reloading.
        for (const { page } of [one, two]) {
          await expect.poll(() => page.getByTestId('approvals-badge').textContent(), { timeout: 15_000 }).toBe('1');
          await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Approvals/ }).click();
          await page.waitForURL(/\/approvals/);
          const card = page.locator('[data-status="pending"]');
          await expect.poll(() => card.count(), { timeout: 10_000 }).toBe(1);
          expect(await card.textContent()).toContain(`hard stop ${vm.name} (VM ${vm.vmid}) on ${vm.node}`);
          expect(await card.textContent()).toContain('e2e-agent');
          expect(await card.textContent()).toMatch(/Expires in \d+ (min|s)/);
        }

        const card = one.page.locator('[data-status="pending"]');
        await card.getByLabel(/Reason/).fill('fine, it is idle');
        await card.getByRole('button', { name: 'Approve' }).click();

        // Both inboxes show it decided, by whom and why; nothing waits any more.
        for (const { page } of [one, two]) {
          const decided = page.locator('[data-status="approved"]').first();
          await expect.poll(() => decided.textContent(), { timeout: 15_000 }).toMatch(/Approved\s*by\s*operator.*fine, it is idle/s);
          await expect.poll(() => page.getByTestId('pending-count').textContent()).toBe('0');
          expect(await page.getByTestId('approvals-badge').count()).toBe(0);
        }

        const r = await call;
        expect(r.isError).toBeFalsy();
        expect((r.structuredContent as { command: { status: string } }).command.status).toBe('succeeded');
        const now = (await api<{ data: ApiGuest }>(stack, `/api/vms/${vm.vmid}/status`)).body.data;
        expect(now.status).toBe('stopped');
      } finally {
        await one.context.close();
        await two.context.close();
      }
    });
  });
}
