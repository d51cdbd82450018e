import { afterEach, describe, expect, test, vi } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import { guestActions } from '$lib/infra/action-rules';
import { DEFAULT_QUERY, type GuestQuery } from '$lib/infra/guest-query';
import { guest, guests } from '$lib/test/fixtures';
import GuestsHarness from '$lib/test/GuestsHarness.svelte';

const rows = () => [...document.querySelectorAll<HTMLElement>('[role="row"][data-vmid]')];
const vmids = () => rows().map((r) => Number(r.dataset.vmid));
const operator = (g: Parameters<typeof guestActions>[0]) => guestActions(g, { role: 'operator' });
const viewer = (g: Parameters<typeof guestActions>[0]) => guestActions(g, { role: 'viewer' });

afterEach(() => cleanup());

describe('guest table', () => {
  test('renders the columns a person needs, with numbers for people', async () => {
    await render(GuestsHarness, { guests: [guest({ vmid: 101, name: 'web-01', tags: ['prod', 'web'] })], actionsFor: operator });
    const row = page.getByRole('row', { name: /web-01/ });
    await expect.element(row).toBeVisible();
    await expect.element(row).toHaveTextContent('101');
    await expect.element(row).toHaveTextContent('pve1');
    await expect.element(row).toHaveTextContent('VM');
    await expect.element(row).toHaveTextContent('Running');
    await expect.element(row).toHaveTextContent('12%');
    await expect.element(row).toHaveTextContent('2 / 8 GiB');
    await expect.element(row).toHaveTextContent('3 d 4 h');
    await expect.element(row).toHaveTextContent('prod');
    await expect.element(page.getByRole('button', { name: 'Actions for web-01' })).toBeVisible();
  });

  test('virtualises: 5,000 guests render a window of rows, and scrolling moves the window', async () => {
    const all = guests(5000);
    await render(GuestsHarness, { guests: all });
    await expect.element(page.getByRole('heading', { name: 'Guests 5,000' })).toBeVisible();
    const table = page.getByRole('table', { name: 'Guests' });
    await expect.element(table).toHaveAttribute('aria-rowcount', '5001');
    expect(rows().length).toBeGreaterThan(10);
    expect(rows().length).toBeLessThan(60);
    expect(vmids()[0]).toBe(100);

    const scroller = table.element() as HTMLElement;
    scroller.scrollTop = 2500 * 40;
    scroller.dispatchEvent(new Event('scroll'));
    await vi.waitFor(() => expect(vmids()).toContain(2600));
    expect(rows().length).toBeLessThan(60);
    expect(vmids()).not.toContain(100);
  });

  test('search narrows the rows; Escape clears it', async () => {
    const changes: GuestQuery[] = [];
    await render(GuestsHarness, { guests: guests(300), onchange: (q: GuestQuery) => changes.push(q) });
    const search = page.getByRole('searchbox', { name: 'Search guests' });
    await search.fill('db-0001');
    await vi.waitFor(() => expect(vmids()).toEqual([101]));
    await expect.element(page.getByRole('heading', { name: 'Guests 1 of 300' })).toBeVisible();
    expect(changes.at(-1)?.q).toBe('db-0001');
    await userEvent.keyboard('{Escape}');
    await vi.waitFor(() => expect(rows().length).toBeGreaterThan(5));
  });

  test('"/" focuses the search box', async () => {
    await render(GuestsHarness, { guests: guests(10) });
    (document.activeElement as HTMLElement | null)?.blur();
    await userEvent.keyboard('/');
    await expect.element(page.getByRole('searchbox', { name: 'Search guests' })).toHaveFocus();
  });

  test('filters by status, node, type and tag', async () => {
    const list = guests(300);
    await render(GuestsHarness, { guests: list });
    await page.getByRole('button', { name: 'Stopped' }).click();
    await vi.waitFor(() => expect(rows().every((r) => r.textContent!.includes('Stopped'))).toBe(true));
    await page.getByRole('button', { name: 'Stopped' }).click();

    await page.getByRole('combobox', { name: 'Filter by node' }).selectOptions('pve2');
    await vi.waitFor(() => expect(vmids().every((id) => list.find((g) => g.vmid === id)!.node === 'pve2')).toBe(true));
    await page.getByRole('combobox', { name: 'Filter by type' }).selectOptions('lxc');
    await vi.waitFor(() => expect(vmids().every((id) => list.find((g) => g.vmid === id)!.type === 'lxc')).toBe(true));
    await page.getByRole('combobox', { name: 'Filter by tag' }).selectOptions('db');
    await vi.waitFor(() => {
      const shown = vmids();
      expect(shown.length).toBeGreaterThan(0);
      expect(shown.every((id) => list.find((g) => g.vmid === id)!.tags.includes('db'))).toBe(true);
    });
    const expected = list.filter((g) => g.node === 'pve2' && g.type === 'lxc' && g.tags.includes('db')).length;
    await expect.element(page.getByRole('heading', { name: `Guests ${expected} of 300` })).toBeVisible();

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.element(page.getByRole('heading', { name: 'Guests 300' })).toBeVisible();
  });

  test('sorts by a column, and again the other way', async () => {
    const list = [guest({ vmid: 101, name: 'b', cpu: 0.5 }), guest({ vmid: 102, name: 'a', cpu: 0.9 }), guest({ vmid: 103, name: 'c', cpu: 0.1 })];
    const changes: GuestQuery[] = [];
    await render(GuestsHarness, { guests: list, onchange: (q: GuestQuery) => changes.push(q) });
    expect(vmids()).toEqual([101, 102, 103]);
    await page.getByRole('button', { name: 'CPU' }).click();
    await vi.waitFor(() => expect(vmids()).toEqual([102, 101, 103]));
    expect(changes.at(-1)).toMatchObject({ sort: 'cpu', desc: true });
    await expect.element(page.getByRole('columnheader', { name: 'CPU' })).toHaveAttribute('aria-sort', 'descending');
    await page.getByRole('button', { name: 'CPU' }).click();
    await vi.waitFor(() => expect(vmids()).toEqual([103, 101, 102]));
    await page.getByRole('button', { name: 'Name' }).click();
    await vi.waitFor(() => expect(vmids()).toEqual([102, 101, 103]));
  });

  test('sorted by CPU, the order holds between re-sorts while each row shows its latest figures', async () => {
    const at = (cpu: number[]) => cpu.map((c, i) => guest({ vmid: 101 + i, name: `g${i}`, cpu: c }));
    const r = await render(GuestsHarness, { guests: at([0.5, 0.9, 0.1]), initial: { ...DEFAULT_QUERY, sort: 'cpu', desc: true } });
    expect(vmids()).toEqual([102, 101, 103]);
    // New figures within the second: same order, new numbers.
    await r.rerender({ guests: at([0.05, 0.9, 0.77]) });
    await vi.waitFor(() => expect(rows().map((row) => row.querySelector('.c-cpu')!.textContent!.trim())).toEqual(['90%', '5%', '77%']));
    expect(vmids()).toEqual([102, 101, 103]);
    // A second later the order follows.
    await vi.waitFor(async () => {
      await r.rerender({ guests: at([0.05, 0.9, 0.77]) });
      expect(vmids()).toEqual([102, 103, 101]);
    }, { timeout: 3_000 });
  });

  test('sorts on a click anywhere in the header cell, not only on its text', async () => {
    const list = [guest({ vmid: 101, name: 'b', mem: 2e9 }), guest({ vmid: 102, name: 'a', mem: 8e9 }), guest({ vmid: 103, name: 'c', mem: 1e9 })];
    await render(GuestsHarness, { guests: list });
    const cell = page.getByRole('columnheader', { name: 'Memory' });
    const box = (cell.element() as HTMLElement).getBoundingClientRect();
    // The far corner of the cell, well away from the word "Memory".
    await cell.click({ position: { x: box.width - 4, y: box.height - 3 } });
    await vi.waitFor(() => expect(vmids()).toEqual([102, 101, 103]));
    await expect.element(cell).toHaveAttribute('aria-sort', 'descending');
  });

  test('shows paused, locked and templates for what they are', async () => {
    await render(GuestsHarness, {
      guests: [
        guest({ vmid: 101, name: 'paused-vm', qmpstatus: 'paused' }),
        guest({ vmid: 102, name: 'locked-vm', lock: 'backup' }),
        guest({ vmid: 103, name: 'tpl', template: true, status: 'stopped' }),
      ],
      actionsFor: operator,
    });
    await expect.element(page.getByRole('row', { name: /paused-vm/ })).toHaveTextContent('Paused');
    await expect.element(page.getByRole('row', { name: /locked-vm/ })).toHaveTextContent('backup');
    await expect.element(page.getByRole('row', { name: /tpl/ })).toHaveTextContent('Template');
    const locked = page.getByRole('button', { name: /No actions for locked-vm/ });
    await expect.element(locked).toHaveAttribute('aria-disabled', 'true');
    await expect.element(locked).toHaveAttribute('title', expect.stringContaining('Locked (backup)'));
  });

  test('a viewer sees no action buttons', async () => {
    await render(GuestsHarness, { guests: guests(20), actionsFor: viewer });
    await expect.element(page.getByRole('row', { name: /web-0000/ })).toBeVisible();
    expect(document.querySelectorAll('button[aria-label^="Actions for"], button[aria-label^="No actions"]').length).toBe(0);
  });

  test('an action in flight shows on its row', async () => {
    await render(GuestsHarness, { guests: [guest({ vmid: 101, name: 'web-01' })], actionsFor: operator, pendingLabel: (g) => (g.vmid === 101 ? 'stopping…' : undefined) });
    await expect.element(page.getByRole('row', { name: /web-01/ })).toHaveTextContent('stopping…');
  });

  test('the action menu offers what fits and reports the choice', async () => {
    const chosen: string[] = [];
    await render(GuestsHarness, {
      guests: [guest({ vmid: 101, name: 'web-01' })],
      actionsFor: operator,
      onaction: (_g: unknown, a: string) => chosen.push(a),
    });
    await page.getByRole('button', { name: 'Actions for web-01' }).click();
    const menu = page.getByRole('menu', { name: 'Actions for web-01' });
    await expect.element(menu).toBeVisible();
    await expect.element(menu.getByRole('menuitem')).toHaveLength(3);
    await expect.element(menu.getByRole('menuitem', { name: /Hard stop/ })).toHaveTextContent('pulling the plug');
    await menu.getByRole('menuitem', { name: /Shut down/ }).click();
    expect(chosen).toEqual(['shutdown']);
    await expect.element(menu).not.toBeInTheDocument();
  });
});
