import { describe, expect, test } from 'vitest';
import { ApiError, type Api } from '$lib/api/client';
import { Panel, panelError } from './panel.svelte';

/** An api whose answers the test gives, one per path, resolved when it says so. */
function fakeApi(answers: Record<string, () => Promise<unknown>>): Api {
  return {
    get: <T>(path: string) => (answers[path] ?? (() => Promise.reject(new ApiError(404, 'not_found', `no ${path}`))))() as Promise<T>,
    post: () => Promise.reject(new Error('not here')),
    delete: () => Promise.reject(new Error('not here')),
  };
}

describe('a page panel', () => {
  test('holds the data and until when it is current', async () => {
    const p = new Panel<{ n: number }>(fakeApi({ '/a': async () => ({ data: { n: 1 }, meta: { freshUntil: '2026-12-04T05:00:00.000Z' } }) }));
    await p.load('/a');
    expect(p.data).toEqual({ n: 1 });
    expect(p.error).toBeUndefined();
    expect(p.freshUntil).toBe(Date.parse('2026-12-04T05:00:00.000Z'));
    expect(p.loading).toBe(false);
  });

  test('a failed read is that panel’s error; another panel reads on', async () => {
    const api = fakeApi({
      '/addresses': () => Promise.reject(new ApiError(403, 'forbidden', 'Proxmox refused the read', { privilege: 'VM.GuestAgent.Audit', remedy: 'pveum acl modify / --tokens molten@pve!molten --roles MoltenAgent' })),
      '/config': async () => ({ data: { cores: 2 } }),
    });
    const addresses = new Panel(api);
    const config = new Panel(api);
    await Promise.all([addresses.load('/addresses'), config.load('/config')]);
    expect(addresses.data).toBeUndefined();
    expect(addresses.error?.status).toBe(403);
    expect(config.data).toEqual({ cores: 2 });
    expect(panelError(addresses.error!)).toBe('Proxmox refused the read (needs VM.GuestAgent.Audit) pveum acl modify / --tokens molten@pve!molten --roles MoltenAgent');
  });

  test('a reload that keeps shows the last data while it runs, and an older answer never overwrites a newer one', async () => {
    let release!: (v: unknown) => void;
    const slow = new Promise((r) => (release = r));
    const p = new Panel<{ v: string }>(fakeApi({ '/slow': () => slow, '/fast': async () => ({ data: { v: 'fast' } }) }));
    await p.load('/fast');
    const first = p.load('/slow', { keep: true });
    expect(p.data).toEqual({ v: 'fast' });
    expect(p.loading).toBe(true);
    await p.load('/fast');
    release({ data: { v: 'slow' } });
    await first;
    expect(p.data).toEqual({ v: 'fast' });
    expect(p.loading).toBe(false);
  });

  test('the privilege is not named twice; a 503 says what to start', () => {
    expect(panelError(new ApiError(403, 'forbidden', 'The token lacks VM.Snapshot', { privilege: 'VM.Snapshot' }))).toBe('The token lacks VM.Snapshot');
    expect(panelError(new ApiError(503, 'upstream_unavailable', 'No proxmox-adapter answers for homelab.', { reason: 'no_adapter', remedy: 'Start the proxmox-adapter.' }))).toBe(
      'No proxmox-adapter answers for homelab. Start the proxmox-adapter.',
    );
  });
});
