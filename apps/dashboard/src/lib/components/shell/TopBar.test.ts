import { afterEach, expect, test } from 'vitest';
import { page } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import type { Health } from '$lib/api/types';
import { liveIndicator } from '$lib/state/live-indicator';
import { server } from '$lib/test/fixtures';
import TopBar from './TopBar.svelte';

afterEach(() => cleanup());

const health = (stale: boolean): Health => ({
  status: stale ? 'degraded' : 'ok', demo: false, uptimeSeconds: 1, bus: { connected: true, server: '' }, adapters: [], servers: [],
  clusters: [{ id: 'homelab', stale, lastSeen: null, ageSeconds: 1, pollMs: 2000, adapter: stale ? 'missing' : 'running', replicas: stale ? 0 : 1, upstream: { serverId: 'pve-homelab', status: stale ? 'down' : 'connected', reason: stale ? 'no proxmox-adapter is running' : 'connected' } }],
});
const props = (stale: boolean) => ({
  path: '/',
  session: { name: 'operator', role: 'operator' as const },
  live: { ...liveIndicator('live', health(stale), [server({ stale })]), streaming: true },
  openCommands: 0,
  demo: false,
  activityOpen: false,
  ontoggleactivity: () => {},
  onsignout: () => {},
});

test('"Live" in the quiet colour while everything shown is current', async () => {
  await render(TopBar, props(false));
  const status = page.getByRole('status');
  await expect.element(status).toHaveTextContent('Live');
  await expect.element(status).toHaveAttribute('title', 'Receiving live updates; everything shown is current');
  expect(status.element().querySelector('.dot')!.classList.contains('ok')).toBe(true);
});

test('turns to a warning, naming what is stale, while the stream is up but an adapter is frozen', async () => {
  const r = await render(TopBar, props(false));
  await r.rerender(props(true));
  const status = page.getByRole('status');
  await expect.element(status).toHaveTextContent('Live · 1 stale');
  await expect.element(status).toHaveAttribute('title', 'Receiving live updates, but not everything shown is current: Proxmox cluster “homelab” (no proxmox-adapter is running)');
  expect(status.element().querySelector('.dot')!.classList.contains('warn')).toBe(true);
  await expect.element(status).toHaveClass(/stale/);
});
