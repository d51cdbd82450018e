import { afterEach, describe, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import type { PowerActionName } from '$lib/api/types';
import ActionConfirm from './ActionConfirm.svelte';

const guest = { vmid: 101, name: 'web-01', node: 'pve2', type: 'qemu' as const };

async function open(action: PowerActionName) {
  const calls = { confirm: 0, cancel: 0, reasons: [] as (string | undefined)[] };
  const r = await render(ActionConfirm, {
    request: { guest, action },
    onconfirm: (req: { reason?: string }) => {
      calls.confirm++;
      calls.reasons.push(req.reason);
    },
    oncancel: () => {
      calls.cancel++;
      void r.rerender({ request: null });
    },
  });
  return { calls, r };
}

afterEach(() => cleanup());

describe('confirmation dialog', () => {
  test('names the guest, its node and the action, and opens on Cancel', async () => {
    await open('shutdown');
    const dialog = page.getByRole('dialog', { name: 'Shut down web-01?' });
    await expect.element(dialog).toBeVisible();
    await expect.element(dialog).toHaveTextContent(/web-01.*VM 101.*on node pve2/);
    await expect.element(page.getByRole('button', { name: 'Cancel' })).toHaveFocus();
  });

  test('Enter on the opening focus cancels, it does not act', async () => {
    const { calls } = await open('shutdown');
    await userEvent.keyboard('{Enter}');
    expect(calls).toMatchObject({ confirm: 0, cancel: 1 });
  });

  test('Escape closes', async () => {
    const { calls } = await open('reboot');
    await userEvent.keyboard('{Escape}');
    expect(calls.cancel).toBe(1);
    await expect.element(page.getByRole('dialog')).not.toBeInTheDocument();
  });

  test('a hard stop says what it does, and Enter never confirms it', async () => {
    const { calls } = await open('stop');
    const dialog = page.getByRole('dialog', { name: 'Hard stop web-01?' });
    await expect.element(dialog).toHaveTextContent(/pulling the plug/);
    const confirm = page.getByRole('button', { name: 'Hard stop' });
    (confirm.element() as HTMLElement).focus();
    await userEvent.keyboard('{Enter}');
    expect(calls.confirm).toBe(0);
    await userEvent.keyboard(' ');
    expect(calls.confirm).toBe(1);
  });

  test('Enter confirms a gentle action once the person moved to its button', async () => {
    const { calls } = await open('start');
    await userEvent.keyboard('{Tab}');
    await expect.element(page.getByRole('button', { name: 'Start' })).toHaveFocus();
    await userEvent.keyboard('{Enter}');
    expect(calls.confirm).toBe(1);
  });

  test('a click on the button confirms', async () => {
    const { calls } = await open('stop');
    await page.getByRole('button', { name: 'Hard stop' }).click();
    expect(calls.confirm).toBe(1);
  });

  test('passes on the reason typed, trimmed, and none when the field is left empty', async () => {
    const { calls } = await open('shutdown');
    await page.getByRole('textbox', { name: /Reason/ }).fill('  replacing its disk ');
    await page.getByRole('button', { name: 'Shut down' }).click();
    expect(calls.reasons).toEqual(['replacing its disk']);
    cleanup();
    const second = await open('reboot');
    await page.getByRole('button', { name: 'Reboot' }).click();
    expect(second.calls.reasons).toEqual([undefined]);
  });
});
