/**
 * The dashboard's end-to-end checks (issues 3, 4 and 5), in Chromium against a running stack:
 * real nats-server, adapters, simulators and the api serving the built dashboard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { api, launchChromium, row, signedIn, type DashboardStack } from './harness.js';
import { guestPicker } from '../src/stack.js';

interface ApiGuest {
  vmid: number;
  name: string;
  node: string;
  type: string;
  status: string;
  qmpstatus?: string;
  lock?: string;
  template: boolean;
  hastate?: string;
}

const until = async <T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> => {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

export function dashboardSpecs(getStack: () => DashboardStack) {
  let stack: DashboardStack;
  let browser: Browser;
  const picker = guestPicker();
  /** A guest no other check has used, fit for power actions. */
  async function take(pred: (g: ApiGuest) => boolean): Promise<ApiGuest> {
    return picker.take((await api<{ data: ApiGuest[] }>(stack, '/api/vms')).body.data, pred);
  }
  async function act(page: Page, g: ApiGuest, menuItem: RegExp, confirm: string) {
    await row(page, g.vmid).getByRole('button', { name: `Actions for ${g.name}` }).click();
    await page.getByRole('menu').getByRole('menuitem', { name: menuItem }).click();
    const dialog = page.getByRole('dialog');
    await expect(await dialog.textContent()).toContain(g.node);
    await dialog.getByRole('button', { name: confirm, exact: true }).click();
  }

  beforeAll(async () => {
    stack = getStack();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe('Infrastructure view', () => {
    it('signs in and lists the guests /api/vms lists, with their state', async () => {
      const { context, page } = await signedIn(browser, stack, stack.operatorToken);
      const guests = (await api<{ data: ApiGuest[] }>(stack, '/api/vms')).body.data;
      await until(async () => (await page.locator('#guests-title').textContent())?.replace(/\s+/g, ' ').trim() === `Guests ${guests.length}`, 'the guest count');
      for (const g of guests) {
        const r = row(page, g.vmid);
        await r.waitFor();
        const text = (await r.textContent())!;
        expect(text, `row ${g.vmid}`).toContain(g.name);
        expect(text).toContain(g.node);
        const state = g.template ? 'Template' : g.status === 'stopped' ? 'Stopped' : g.qmpstatus === 'paused' ? 'Paused' : 'Running';
        expect(text, `state of ${g.vmid}`).toContain(state);
        if (g.lock) expect(text).toContain(g.lock);
      }
      await expect(await page.getByRole('heading', { level: 1 }).textContent()).toBeTruthy();
      await context.close();
    });

    it('stops a running VM through the dialog: the row shows stopping, then stopped', async () => {
      const vm = await take((g) => g.type === 'qemu' && g.status === 'running' && g.qmpstatus !== 'paused');
      stack.pve.setTaskDuration('stop', 1500);
      const { context, page } = await signedIn(browser, stack, stack.operatorToken);
      await act(page, vm, /Hard stop/, 'Hard stop');
      await until(async () => (await row(page, vm.vmid).textContent())?.includes('stopping…'), 'the optimistic "stopping…"', 5_000);
      await until(async () => (await row(page, vm.vmid).textContent())?.includes('Stopped'), 'the row to read Stopped', 20_000);
      expect((await api<{ data: ApiGuest }>(stack, `/api/vms/${vm.vmid}/status`)).body.data.status).toBe('stopped');
      await page.getByRole('region', { name: 'Activity' }).getByText(`${vm.name}`).first().waitFor();
      await context.close();
    });

    it('rolls a failed action back and shows the upstream’s reason with a link to the command', async () => {
      const vm = await take((g) => g.status === 'running' && g.qmpstatus !== 'paused');
      stack.pve.failNextAction(vm.vmid, 'shutdown', 403, `Permission check failed (/vms/${vm.vmid}, VM.PowerMgmt)`);
      const { context, page } = await signedIn(browser, stack, stack.operatorToken);
      await act(page, vm, /Shut down/, 'Shut down');
      const toast = page.getByRole('alert').filter({ hasText: `Shut down of ${vm.name}` });
      await toast.waitFor({ timeout: 20_000 });
      expect(await toast.textContent()).toContain('VM.PowerMgmt');
      expect(await toast.getByRole('link', { name: 'View command' }).getAttribute('href')).toMatch(/^\/commands\/[0-9A-Z]{26}$/);
      await until(async () => {
        const t = await row(page, vm.vmid).textContent();
        return t?.includes('Running') && !t.includes('shutting down…');
      }, 'the row rolled back to Running');
      await context.close();
    });

    it('shows a viewer no actions at all, and signs out', async () => {
      const { context, page } = await signedIn(browser, stack, stack.viewerToken);
      await page.getByText('Read-only').waitFor();
      expect(await page.locator('button[aria-label^="Actions for"], button[aria-label^="No actions"]').count()).toBe(0);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/signin/);
      expect(await page.evaluate(async () => (await fetch('/api/session')).status)).toBe(401);
      await context.close();
    });

    it('reconnects after the api restarts and shows the current state without a reload', async () => {
      const vm = await take((g) => g.status === 'running' && g.qmpstatus !== 'paused');
      const { context, page } = await signedIn(browser, stack, stack.operatorToken);
      await page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));
      const restarting = stack.restartApi();
      await page.getByText('Reconnecting…').first().waitFor({ timeout: 10_000 });
      // Changed while the api was away: the page must catch up, not show what it had.
      stack.pve.setGuestStatus(vm.vmid, 'stopped');
      await restarting;
      await page.locator('header .conn.live').waitFor({ timeout: 30_000 });
      await until(async () => (await row(page, vm.vmid).textContent())?.includes('Stopped'), 'the state changed during the restart', 20_000);
      expect(await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
      await context.close();
    });
  });

  describe('MCP Overview', () => {
    it('shows every server of the stack, and a tool call from the form shows its result', async () => {
      const servers = (await api<{ data: { id: string; name: string; tools?: { name: string }[] }[] }>(stack, '/api/servers')).body.data;
      const { context, page } = await signedIn(browser, stack, stack.operatorToken);
      await page.getByRole('link', { name: 'Connections' }).click();
      for (const s of servers) await page.getByRole('heading', { name: s.name, exact: true }).waitFor();
      const mcp = servers.find((s) => s.tools?.some((t) => t.name === 'list_containers'));
      if (mcp) {
        const card = page.getByRole('article', { name: mcp.name });
        await card.getByRole('button', { name: /Show \d+ tools/ }).click();
        await card.getByRole('button', { name: /list_containers/ }).click();
        await card.getByRole('button', { name: 'Call list_containers' }).click();
        const result = card.getByRole('region', { name: 'Result of list_containers' });
        await result.getByText('Succeeded').waitFor({ timeout: 20_000 });
        expect((await result.textContent())!.length).toBeGreaterThan(20);
      }
      await context.close();
    });

    it('shows a tool added at run time without a reload', async () => {
      if (!stack.mcp) return;
      const { context, page } = await signedIn(browser, stack, stack.operatorToken);
      await page.getByRole('link', { name: 'Connections' }).click();
      const servers = (await api<{ data: { name: string; tools?: { name: string }[] }[] }>(stack, '/api/servers')).body.data;
      const mcp = servers.find((s) => s.tools?.some((t) => t.name === 'list_containers'))!;
      const card = page.getByRole('article', { name: mcp.name });
      await card.getByRole('button', { name: /Show \d+ tools/ }).click();
      const added = Date.now();
      stack.mcp.addTool('e2e_probe', 'Added by the dashboard e2e test');
      await card.getByRole('button', { name: /e2e_probe/ }).waitFor({ timeout: 10_000 });
      process.stdout.write(`tool added → shown in the dashboard: ${Date.now() - added} ms\n`);
      stack.mcp.removeTool('e2e_probe');
      await context.close();
    });
  });

  describe('Agents view', () => {
    it('shows the gateway’s agents, and a run from the form streams its output and ends succeeded, its answer not repeated as a Result', async () => {
      const agents = (await api<{ data: { agents: { id: string; name: string }[] } }>(stack, '/api/agents')).body.data.agents;
      if (agents.length === 0) return;
      const { context, page } = await signedIn(browser, stack, stack.operatorToken);
      await page.getByRole('link', { name: 'Agents' }).click();
      for (const a of agents) await page.getByRole('region', { name: /^Agents/ }).getByText(a.name || a.id, { exact: true }).first().waitFor();
      await page.getByLabel(/^Task/).fill('Say hello to the e2e test');
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      const log = page.getByRole('log', { name: 'Output' });
      await until(async () => ((await log.textContent()) ?? '').length > 10, 'streamed output', 20_000);
      await page.getByRole('region', { name: 'Run a task' }).getByText('Succeeded').waitFor({ timeout: 30_000 });
      // The answer streamed above is not repeated as a Result, and the run's lifecycle reads in words.
      const text = (await log.textContent()) ?? '';
      expect(text).toMatch(/Run started/);
      expect(text).not.toMatch(/\blifecycle\b/i);
      expect(await page.getByRole('region', { name: 'Run a task' }).getByText('Result', { exact: true }).count()).toBe(0);
      await page.getByRole('region', { name: 'Activity' }).getByText('Agent run').first().waitFor();
      await context.close();
    });
  });
}
