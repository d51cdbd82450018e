import { afterEach, expect, test } from 'vitest';
import { page } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import { clockTime } from '$lib/util/format';
import ConnectionBanner from './ConnectionBanner.svelte';

afterEach(() => cleanup());
const now = Date.parse('2030-01-01T12:00:00Z');
const base = { status: 'live' as const, downSince: null, problem: null, attempts: 0, problems: [], now, onretry: () => {} };

test('silent while everything is live', async () => {
  await render(ConnectionBanner, base);
  expect(document.querySelectorAll('[role="alert"], [role="status"]').length).toBe(0);
});

test('a blip shorter than the grace period shows nothing; a longer outage says since when, and retries on demand', async () => {
  let retried = 0;
  const r = await render(ConnectionBanner, { ...base, status: 'reconnecting', downSince: now - 500, problem: 'the connection to the Molten api was lost', attempts: 1 });
  expect(document.querySelectorAll('[role="alert"]').length).toBe(0);
  await r.rerender({ downSince: now - 35_000, attempts: 3, onretry: () => retried++ });
  const alert = page.getByRole('alert');
  await expect.element(alert).toHaveTextContent(/Not connected to the Molten api/);
  await expect.element(alert).toHaveTextContent(`since ${clockTime(now - 35_000, now)} (35 s ago)`);
  await expect.element(alert).toHaveTextContent(/The connection to the Molten api was lost\. Reconnecting… \(attempt 3\)/);
  await page.getByRole('button', { name: 'Retry now' }).click();
  expect(retried).toBe(1);
});

test('an upstream problem names it, since when, and what to check', async () => {
  await render(ConnectionBanner, {
    ...base,
    problems: [{ id: 'x', tone: 'danger', title: 'Proxmox cluster “homelab” refuses Molten’s credentials', detail: '401 authentication failure', remedy: 'Check PVE_TOKEN.', since: now - 120_000, href: '/servers' }],
  });
  const alert = page.getByRole('alert');
  await expect.element(alert).toHaveTextContent(/refuses Molten’s credentials\s*since .*\(2 min ago\)/);
  await expect.element(alert).toHaveTextContent('401 authentication failure');
  await expect.element(alert).toHaveTextContent(/What to check:\s*Check PVE_TOKEN\./);
});
