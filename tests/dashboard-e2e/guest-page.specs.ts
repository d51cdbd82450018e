/**
 * Issue 12 in Chromium: a guest opened from the table shows its history drawn with data, its
 * addresses and config; a snapshot is taken through the dialog and rolled back; a paused VM is
 * resumed; the page does not overflow a phone's width.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { api, launchChromium, row, signedIn, type DashboardStack } from './harness.js';

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

const until = async <T>(fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> => {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
};

export function guestPageSpecs(getStack: () => DashboardStack) {
  let stack: DashboardStack;
  let browser: Browser;

  /** A running VM from the middle of the list: the other specs take theirs from its ends. */
  async function pick(skip: number): Promise<ApiGuest> {
    const guests = (await api<{ data: ApiGuest[] }>(stack, '/api/vms')).body.data;
    const fit = guests.filter((g) => g.type === 'qemu' && g.status === 'running' && g.qmpstatus !== 'paused' && !g.lock && !g.template && !g.hastate);
    const g = fit[Math.min(fit.length - 1, Math.floor(fit.length / 2) + skip)];
    if (!g) throw new Error('no running VM for the guest page specs');
    return g;
  }
  const confirmIn = async (page: Page, button: string) => {
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: button, exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
  };

  beforeAll(async () => {
    stack = getStack();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe('Guest page', () => {
    it('opens from the table with its history drawn, addresses and config; a snapshot is taken through the dialog and rolled back', async () => {
      const vm = await pick(0);
      const { context, page } = await signedIn(browser, stack, stack.operatorToken);
      try {
        await row(page, vm.vmid).getByRole('link', { name: vm.name }).click();
        await page.waitForURL(new RegExp(`/guests/[^/]+/${vm.vmid}$`));
        await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(vm.name);
        // uPlot draws on a canvas: the charts say they have data and hold a sized canvas.
        await page.locator('figure[aria-label="CPU"][data-drawn="yes"] canvas').waitFor();
        expect(Number(await page.locator('figure[aria-label="CPU"]').getAttribute('data-points'))).toBeGreaterThan(50);
        expect(await page.locator('figure[data-drawn="yes"]').count()).toBe(4);
        await expect.poll(() => page.getByRole('region', { name: 'Configuration' }).textContent()).toMatch(/cores/);
        await expect.poll(() => page.getByRole('region', { name: 'Addresses' }).textContent()).toMatch(/\d+\.\d+\.\d+\.\d+|agent/);

        const snaps = page.getByRole('region', { name: 'Snapshots' });
        await snaps.getByLabel('Name').fill('e2e-before');
        await snaps.getByRole('button', { name: 'Take snapshot' }).click();
        expect(await page.getByRole('dialog').getByRole('heading').textContent()).toBe(`Take snapshot "e2e-before" of ${vm.name}?`);
        await confirmIn(page, 'Take snapshot');
        await snaps.locator('[data-snapshot="e2e-before"]').waitFor({ timeout: 20_000 });
        await expect.poll(() => snaps.getByRole('status').textContent(), { timeout: 20_000 }).toMatch(/Succeeded/);

        await snaps.locator('[data-snapshot="e2e-before"]').getByRole('button', { name: 'Roll back' }).click();
        const dialog = page.getByRole('dialog');
        expect(await dialog.textContent()).toMatch(/is lost/);
        // A rollback is destructive: the dialog opens on Cancel.
        expect(await dialog.getByRole('button', { name: 'Cancel' }).evaluate((b) => b === b.ownerDocument.activeElement)).toBe(true);
        await confirmIn(page, 'Roll back');
        const rollback = await until(async () => (await api<{ data: { id: string; action: string; status: string }[] }>(stack, `/api/commands?vmid=${vm.vmid}`)).body.data.find((c) => c.action === 'snapshot-rollback' && c.status === 'succeeded'));

        // The command's page: its Proxmox task's log, and no step still spinning once it ended.
        await page.goto(`${stack.url}/commands/${rollback.id}`);
        const log = page.getByRole('region', { name: 'Proxmox task log' });
        await expect.poll(() => log.textContent(), { timeout: 15_000 }).toMatch(/TASK OK/);
        expect(await page.locator('.timeline .spinner, .timeline [role="progressbar"]').count()).toBe(0);
      } finally {
        await context.close();
      }
    });

    it('a paused VM offers Resume, and resumes', async () => {
      const vm = await pick(1);
      expect((await api(stack, `/api/vms/${vm.vmid}/suspend`, { method: 'POST', body: '{}' })).status).toBe(202);
      await expect.poll(async () => (await api<{ data: ApiGuest }>(stack, `/api/vms/${vm.vmid}/status`)).body.data.qmpstatus, { timeout: 20_000 }).toBe('paused');
      const { context, page } = await signedIn(browser, stack, stack.operatorToken);
      try {
        await page.goto(`${stack.url}/guests/homelab/${vm.vmid}`);
        const actions = page.getByRole('group', { name: 'Actions' });
        const resume = actions.getByRole('button', { name: 'Resume' });
        await resume.waitFor();
        await resume.click();
        await confirmIn(page, 'Resume');
        await expect.poll(async () => (await api<{ data: ApiGuest }>(stack, `/api/vms/${vm.vmid}/status`)).body.data.qmpstatus, { timeout: 20_000 }).toBe('running');
        await actions.getByRole('button', { name: 'Pause' }).waitFor();
      } finally {
        await context.close();
      }
    });

    it('the history follows the guest’s live values after Proxmox’s last step', async () => {
      const vm = await pick(2);
      const { context, page } = await signedIn(browser, stack, stack.operatorToken);
      try {
        await page.goto(`${stack.url}/guests/homelab/${vm.vmid}`);
        const cpu = page.locator('figure[aria-label="CPU"][data-drawn="yes"]');
        await cpu.waitFor();
        const first = Number(await cpu.getAttribute('data-points'));
        // The adapter publishes a guest when it changes (state, or CPU/memory by a step): pausing
        // it sends the SSE state a new reading, which the charts add after Proxmox's last step.
        expect((await api(stack, `/api/vms/${vm.vmid}/suspend`, { method: 'POST', body: '{}' })).status).toBe(202);
        await expect.poll(async () => Number(await cpu.getAttribute('data-points')), { timeout: 20_000 }).toBeGreaterThan(first);
      } finally {
        await context.close();
        await api(stack, `/api/vms/${vm.vmid}/resume`, { method: 'POST', body: '{}' });
      }
    });

    it('fits a phone: no horizontal overflow at 390 px on the guest and node pages', async () => {
      const vm = await pick(0);
      const { context, page } = await signedIn(browser, stack, stack.operatorToken, { width: 390, height: 844 });
      try {
        for (const path of [`/guests/homelab/${vm.vmid}`, `/nodes/homelab/${vm.node}`]) {
          await page.goto(`${stack.url}${path}`);
          await page.locator('figure[data-drawn="yes"]').first().waitFor();
          expect(await page.locator('html').evaluate((h) => h.scrollWidth - h.clientWidth), path).toBe(0);
        }
      } finally {
        await context.close();
      }
    });
  });
}
