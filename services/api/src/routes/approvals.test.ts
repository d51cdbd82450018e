import { describe, expect, it } from 'vitest';
import type * as Rest from '@molten/contracts/rest';
import { ApiError, notFound } from '../errors.js';
import type { Approvals } from '../ports.js';
import { expectRoles, routeApp } from '../test/fake-ports.js';

const ID = '01J0000000000000000000000A';
const OTHER = '01J0000000000000000000000B';

const approval = (id: string, status: Rest.ApprovalStatus): Rest.Approval => ({
  id,
  status,
  safety: 'destructive',
  requestedBy: { actor: 'claude', client: 'claude-code' },
  summary: 'hard stop VM 200',
  target: { kind: 'guest', cluster: 'homelab', vmid: 200, node: 'pve1', type: 'qemu', action: 'stop' },
  arguments: { vmid: 200, action: 'stop' },
  argumentsDigest: 'a'.repeat(64),
  requestedAt: '2026-12-04T01:00:00.000Z',
  expiresAt: '2026-12-04T01:10:00.000Z',
});

/** An in-memory Approvals with the port's contract: 404 unknown, 409 decided, one decision. */
function fakeApprovals() {
  const items = new Map<string, Rest.Approval>([
    [ID, approval(ID, 'pending')],
    [OTHER, approval(OTHER, 'denied')],
  ]);
  const decisions: { id: string; by: string; reason?: string; to: string }[] = [];
  const decide = (to: 'approved' | 'denied') => async (id: string, by: { name: string }, reason?: string) => {
    const a = items.get(id);
    if (!a) throw notFound(`no approval ${id}`);
    if (a.status !== 'pending') throw new ApiError(409, 'conflict', `approval ${id} is ${a.status} already`, { status: a.status });
    decisions.push({ id, by: by.name, reason, to });
    const next = { ...a, status: to, decidedBy: by.name, ...(reason ? { reason } : {}) };
    items.set(id, next);
    return next;
  };
  const port: Approvals = {
    list: (status) => [...items.values()].filter((a) => !status || a.status === status).sort((a, b) => b.id.localeCompare(a.id)),
    get: async (id) => items.get(id),
    approve: decide('approved'),
    deny: decide('denied'),
  };
  return Object.assign(port, { decisions });
}

const app = () => {
  const approvals = fakeApprovals();
  return { approvals, ...routeApp({ app: { approvals } }) };
};

describe('/api/approvals', () => {
  it('lets viewers and agents read, and only operators decide', async () => {
    const { request } = app();
    await expectRoles(request, 'GET', '/api/approvals', 'viewer');
    await expectRoles(request, 'GET', `/api/approvals/${ID}`, 'viewer');
    expect((await request('/api/approvals', { as: 'agent' })).status).toBe(200);
    for (const d of ['approve', 'deny']) {
      for (const as of ['viewer', 'agent'] as const) {
        const r = await request(`/api/approvals/${ID}/${d}`, { method: 'POST', as, body: '{}' });
        expect(r.status, `${as} ${d}`).toBe(403);
        expect(r.body.error.code).toBe('forbidden');
      }
    }
  });

  it('lists what is pending; ?all=1 adds the decided, newest first; ?status= narrows', async () => {
    const { request } = app();
    const inbox = await request('/api/approvals');
    expect(inbox.body.data.map((a: Rest.Approval) => a.id)).toEqual([ID]);
    const all = await request('/api/approvals?all=1');
    expect(all.body.data.map((a: Rest.Approval) => a.id)).toEqual([OTHER, ID]);
    const pending = await request('/api/approvals?status=pending');
    expect(pending.body.data.map((a: Rest.Approval) => a.id)).toEqual([ID]);
    expect((await request('/api/approvals?all=yes')).status).toBe(400);
    const bad = await request('/api/approvals?status=maybe');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe('status');
  });

  it('approves with the operator as decidedBy and the reason, then answers 409 naming the status', async () => {
    const { request, approvals } = app();
    const r = await request(`/api/approvals/${ID}/approve`, { method: 'POST', body: JSON.stringify({ reason: 'maintenance window' }) });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ id: ID, status: 'approved', decidedBy: 'operator', reason: 'maintenance window' });
    expect(approvals.decisions).toEqual([{ id: ID, by: 'operator', reason: 'maintenance window', to: 'approved' }]);
    const late = await request(`/api/approvals/${ID}/deny`, { method: 'POST' });
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: 'conflict', details: { status: 'approved' } });
    expect(late.body.error.message).toMatch(/approved/);
  });

  it('denies with an empty body', async () => {
    const { request } = app();
    const r = await request(`/api/approvals/${ID}/deny`, { method: 'POST' });
    expect(r.status).toBe(200);
    expect(r.body.data.status).toBe('denied');
  });

  it.each([
    ['/api/approvals/nope/approve', '{}', 400, 'id'],
    [`/api/approvals/${ID}/approve`, '{"reason": 5}', 400, 'reason'],
    [`/api/approvals/${ID}/approve`, '{"reason": "x", "extra": 1}', 400, 'body'],
    [`/api/approvals/${ID}/deny`, JSON.stringify({ reason: 'x'.repeat(1001) }), 400, 'reason'],
  ])('%s %s → %i naming %s', async (path, body, status, field) => {
    const { request, approvals } = app();
    const r = await request(path, { method: 'POST', body });
    expect(r.status).toBe(status);
    expect(r.body.error.details.field).toBe(field);
    expect(approvals.decisions).toEqual([]);
  });

  it('answers 404 for an unknown approval', async () => {
    const { request } = app();
    const unknown = '01J0000000000000000000000C';
    expect((await request(`/api/approvals/${unknown}`)).status).toBe(404);
    const r = await request(`/api/approvals/${unknown}/approve`, { method: 'POST' });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
  });
});
