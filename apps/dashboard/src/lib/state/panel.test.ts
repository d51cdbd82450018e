import { describe, expect, test } from 'vitest';
import { ApiError, type Api } from '$lib/api/client';
import { Panel, panelError } from './panel.svelte';
import { PRELOAD_FRESH_MS, preload, takePreloaded } from './preload';

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

describe('reads started by a page’s load', () => {
  /** An api that counts its reads of each path. */
  function countingApi() {
    const reads: string[] = [];
    const api = fakeApi({});
    api.get = <T>(path: string) => {
      reads.push(path);
      return Promise.resolve({ data: { path, n: reads.length } } as T);
    };
    return { api, reads };
  }

  test('the panel takes the read already under way instead of starting another, once', async () => {
    const { api, reads } = countingApi();
    preload(api, '/api/vms/101/rrd?cluster=c&timeframe=day');
    preload(api, '/api/vms/101/rrd?cluster=c&timeframe=day'); // hovered twice: still one read
    const p = new Panel<{ path: string; n: number }>(api);
    await p.load('/api/vms/101/rrd?cluster=c&timeframe=day');
    expect(reads).toEqual(['/api/vms/101/rrd?cluster=c&timeframe=day']);
    expect(p.data).toEqual({ path: '/api/vms/101/rrd?cluster=c&timeframe=day', n: 1 });
    // Taken once: the next load reads again, and a reload that keeps its data never takes one.
    preload(api, '/x');
    await p.load('/api/vms/101/rrd?cluster=c&timeframe=day');
    await p.load('/x', { keep: true });
    expect(reads).toEqual(['/api/vms/101/rrd?cluster=c&timeframe=day', '/x', '/api/vms/101/rrd?cluster=c&timeframe=day', '/x']);
  });

  test('a read for another path, or one too old, is not used', async () => {
    const { api, reads } = countingApi();
    preload(api, '/a?timeframe=hour');
    expect(takePreloaded('/a?timeframe=day')).toBeUndefined();
    const started = Date.now();
    preload(api, '/old');
    const realNow = Date.now;
    Date.now = () => started + PRELOAD_FRESH_MS + 1;
    try {
      expect(takePreloaded('/old')).toBeUndefined();
    } finally {
      Date.now = realNow;
    }
    expect(reads).toEqual(['/a?timeframe=hour', '/old']);
  });

  test('a failed read started early is the panel’s error when it takes it, and nobody’s when none does', async () => {
    const api = fakeApi({ '/gone': () => Promise.reject(new ApiError(404, 'not_found', 'no guest 999')) });
    preload(api, '/gone');
    const p = new Panel(api);
    await p.load('/gone');
    expect(p.error?.message).toBe('no guest 999');
  });
});
