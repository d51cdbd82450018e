import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Rest from '@molten/contracts/rest';
import { NatsServer, waitFor } from '@molten/testkit';
import { AGENT, VIEWER, apiFixture, sseReader } from '../test/api-fixture.js';

/** The api with approvals wired: a real nats-server, REST decisions, the SSE stream, a restart. */
describe('approvals in the running api', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await NatsServer.start();
  });
  afterAll(async () => {
    await nats.dispose();
  });

  const ask = (fx: Awaited<ReturnType<typeof apiFixture>>, vmid: number) =>
    fx.api.approvals.request({
      input: {
        domain: 'proxmox',
        scope: 'homelab',
        action: 'vm-stop',
        payload: { $case: 'power', value: { vmid, action: 'stop', node: 'pve1', type: 'qemu' } },
        actor: { kind: 'agent', name: 'agent', role: 'agent' },
        acceptTimeoutMs: 15_000,
        timeoutMs: 300_000,
      },
      safety: 'destructive',
      summary: `hard stop VM ${vmid}`,
      arguments: { cluster: 'homelab', vmid, action: 'stop' },
    });

  it('shows a pending approval in the list, the command and the SSE stream; an operator decides it once', async () => {
    const fx = await apiFixture({}, nats);
    try {
      const sse = sseReader(await fx.call('/api/events', { headers: { accept: 'text/event-stream' } }));
      await waitFor(() => sse.events.find((e) => e.event === 'snapshot'));
      expect(Array.isArray(sse.events.find((e) => e.event === 'snapshot')!.data.approvals)).toBe(true);

      const id = (await ask(fx, 300)).command!.id;
      const list = await fx.json<Rest.Data<Rest.Approval[]>>('/api/approvals?status=pending', { token: AGENT });
      expect(list.status).toBe(200);
      expect(list.body.data.map((a) => a.id)).toContain(id);
      expect((await fx.json(`/api/commands/${id}`)).body.data.status).toBe('awaiting_approval');
      await waitFor(() => sse.events.find((e) => e.event === 'approval' && e.data.id === id && e.data.status === 'pending'));

      expect((await fx.json(`/api/approvals/${id}/approve`, { method: 'POST', token: VIEWER, body: '{}' })).status).toBe(403);
      expect((await fx.json(`/api/approvals/${id}/approve`, { method: 'POST', token: AGENT, body: '{}' })).status).toBe(403);
      const denied = await fx.json(`/api/approvals/${id}/deny`, { method: 'POST', body: JSON.stringify({ reason: 'not now' }) });
      expect(denied.status).toBe(200);
      expect(denied.body.data).toMatchObject({ status: 'denied', decidedBy: 'operator', reason: 'not now' });
      await waitFor(() => sse.events.find((e) => e.event === 'approval' && e.data.id === id && e.data.status === 'denied'));
      const late = await fx.json(`/api/approvals/${id}/approve`, { method: 'POST' });
      expect(late.status).toBe(409);
      expect(late.body.error.details.status).toBe('denied');
      expect((await fx.json(`/api/commands/${id}`)).body.data.status).toBe('denied');
    } finally {
      await fx.dispose();
    }
  });

  it('keeps a pending approval across an api restart, and approves it after', async () => {
    const first = await apiFixture({}, nats);
    const id = (await ask(first, 301)).command!.id;
    await first.dispose();
    const second = await apiFixture({}, nats);
    try {
      const got = await second.json(`/api/approvals/${id}`);
      expect(got.status).toBe(200);
      expect(got.body.data.status).toBe('pending');
      const ok = await second.json(`/api/approvals/${id}/approve`, { method: 'POST' });
      expect(ok.status).toBe(200);
      expect(ok.body.data.status).toBe('approved');
      expect((await second.json(`/api/commands/${id}`)).body.data.status).not.toBe('awaiting_approval');
    } finally {
      await second.dispose();
    }
  });

  it('expires after MOLTEN_APPROVAL_TTL_MS', async () => {
    const fx = await apiFixture({ MOLTEN_APPROVAL_TTL_MS: '1000' }, nats);
    try {
      const id = (await ask(fx, 302)).command!.id;
      await waitFor(async () => (await fx.json(`/api/approvals/${id}`)).body.data.status === 'expired', { timeoutMs: 15_000 });
      expect((await fx.json(`/api/commands/${id}`)).body.data.status).toBe('expired');
    } finally {
      await fx.dispose();
    }
  });
});
