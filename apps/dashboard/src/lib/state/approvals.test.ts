import { describe, expect, test } from 'vitest';
import type { Approval } from '@molten/contracts/rest';
import { ApiError, type Api } from '$lib/api/client';
import { Approvals, conflictMessage } from './approvals.svelte';

const approval = (id: string, p: Partial<Approval> = {}): Approval => ({
  id,
  status: 'pending',
  safety: 'destructive',
  requestedBy: { actor: 'agent' },
  summary: `hard stop VM ${id}`,
  target: { kind: 'guest', cluster: 'homelab', vmid: 200, node: 'pve1', type: 'qemu', action: 'stop' },
  arguments: {},
  argumentsDigest: '00'.repeat(32),
  requestedAt: '2030-01-01T00:00:00Z',
  expiresAt: '2030-01-01T00:10:00Z',
  ...p,
});

/** An api whose answers the test decides. */
function fakeApi(o: { post?: (path: string, body: unknown) => unknown; get?: (path: string) => unknown }): Api & { posts: { path: string; body: unknown }[] } {
  const posts: { path: string; body: unknown }[] = [];
  return {
    posts,
    get: async <T>(path: string) => o.get!(path) as T,
    post: async <T>(path: string, body?: unknown) => {
      posts.push({ path, body });
      return o.post!(path, body) as T;
    },
    delete: async <T>() => undefined as T,
  };
}

describe('Approvals (the inbox store)', () => {
  test('keeps pending ones newest first, and a late pending copy never undoes a decision', () => {
    const s = new Approvals(fakeApi({}));
    s.replaceAll([approval('01A'), approval('01C'), approval('01B', { status: 'denied' })]);
    expect(s.pending.map((a) => a.id)).toEqual(['01C', '01A']);
    s.put(approval('01C', { status: 'approved', decidedBy: 'ana' }));
    s.put(approval('01C'));
    expect(s.get('01C')!.status).toBe('approved');
    expect(s.pending.map((a) => a.id)).toEqual(['01A']);
  });

  test('decides with the trimmed reason and keeps the answer', async () => {
    const api = fakeApi({ post: () => ({ data: approval('01A', { status: 'denied', decidedBy: 'operator', reason: 'no' }) }) });
    const s = new Approvals(api);
    s.replaceAll([approval('01A')]);
    expect(await s.decide('01A', 'deny', '  no  ')).toBe(true);
    expect(api.posts).toEqual([{ path: '/api/approvals/01A/deny', body: { reason: 'no' } }]);
    expect(s.get('01A')!.status).toBe('denied');
    expect(s.busy.size).toBe(0);
  });

  test('a 409 says in words who decided first, and shows their decision', async () => {
    const first = approval('01A', { status: 'approved', decidedBy: 'ana', reason: 'ok' });
    const api = fakeApi({
      post: () => {
        throw new ApiError(409, 'conflict', 'approval 01A is approved already', { status: 'approved' });
      },
      get: () => ({ data: first }),
    });
    const s = new Approvals(api);
    s.replaceAll([approval('01A')]);
    expect(await s.decide('01A', 'deny')).toBe(false);
    expect(s.errors['01A']).toBe('Already approved by ana (“ok”): your decision was not needed.');
    expect(s.get('01A')!.status).toBe('approved');
  });

  test('an expired one says the agent was told', () => {
    expect(conflictMessage(undefined, 'expired')).toMatch(/expired before your decision/);
  });
});
