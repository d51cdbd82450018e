import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommandWorker, StatePublisher, connectBus, type CommandHandler } from '@molten/bus';
import type { Guest } from '@molten/contracts';
import type * as Rest from '@molten/contracts/rest';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';
import { AGENT, VIEWER, apiFixture, sseReader } from '../test/api-fixture.js';
import type { Principal } from '../auth/tokens.js';

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

  it('two api replicas on one bus share the inbox: asked on one, listed and decided on the other, seen decided on both', async () => {
    const one = await apiFixture({}, nats);
    const two = await apiFixture({}, nats);
    try {
      const id = (await ask(one, 303)).command!.id;
      await waitFor(async () => ((await two.json('/api/approvals')).body.data as Rest.Approval[]).some((a) => a.id === id), { message: 'the other replica lists it' });
      expect((await two.json(`/api/approvals/${id}/deny`, { method: 'POST', body: '{"reason":"from two"}' })).status).toBe(200);
      await waitFor(async () => ((await one.json('/api/approvals?all=1')).body.data as Rest.Approval[]).find((a) => a.id === id)?.status === 'denied', {
        message: 'the first replica sees it denied',
      });
      expect(((await one.json('/api/approvals')).body.data as Rest.Approval[]).some((a) => a.id === id)).toBe(false);
      expect((await one.json(`/api/approvals/${id}/approve`, { method: 'POST' })).status).toBe(409);
    } finally {
      await one.dispose();
      await two.dispose();
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

  it('puts an agent’s power action up for approval through the Commands port; approve runs it once, deny never; policy deny refuses everyone', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-policy-'));
    const configFile = path.join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ policy: { molten: { reboot: 'deny', start: 'allow' } } }));
    const fx = await apiFixture({ MOLTEN_CONFIG: configFile }, nats);
    const adapterBus = await connectBus({ servers: nats.url, name: 'fake-adapter', log: testLogger() });
    const ran: number[] = [];
    const handler: CommandHandler = {
      async execute(ctx) {
        const p = ctx.command.payload;
        // The earlier test's approved command (301) is still queued on this bus: count only ours.
        if (p?.$case === 'power' && p.value.vmid >= 310) ran.push(p.value.vmid);
        return { status: 'succeeded', message: 'done' };
      },
      resume: async () => ({ status: 'failed', message: 'unexpected' }),
    };
    const worker = new CommandWorker(adapterBus, { domain: 'proxmox', scope: 'homelab', instance: 'fake', handler, log: testLogger() });
    try {
      const publisher = new StatePublisher(adapterBus, 'proxmox', 'homelab');
      const g = (vmid: number): Guest => ({
        cluster: 'homelab', vmid, name: `vm${vmid}`, node: 'pve1', type: 'qemu', status: 'running', qmpstatus: 'running',
        cpu: 0, maxcpu: 1, mem: 0, maxmem: 1, disk: 0, maxdisk: 1, uptime: 1, tags: [], template: false,
        netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [],
      });
      for (const vmid of [310, 311, 312]) await publisher.put('qemu', String(vmid), g(vmid));
      await waitFor(async () => (await fx.json('/api/vms')).body.data.length >= 3);
      await worker.start();
      const agent: Principal = { name: 'agent', role: 'agent', key: 'agentkey' };
      const power = (vmid: number, action: 'stop' | 'start' | 'reboot', principal = agent) =>
        fx.api.commands.power({ principal, via: 'mcp', client: 'claude-code' }, { vmid, action });

      // Destructive, no rule: waits; nothing runs until approved, then exactly once.
      const asked = (await power(310, 'stop')).record;
      expect((await fx.json(`/api/commands/${asked.command!.id}`)).body.data.status).toBe('awaiting_approval');
      const a = (await fx.json(`/api/approvals/${asked.command!.id}`)).body.data as Rest.Approval;
      expect(a).toMatchObject({ status: 'pending', safety: 'destructive', requestedBy: { actor: 'agent', client: 'claude-code' }, summary: 'hard stop vm310 (VM 310) on pve1' });
      expect(ran).toEqual([]);
      expect((await fx.json(`/api/approvals/${a.id}/approve`, { method: 'POST' })).status).toBe(200);
      await waitFor(async () => (await fx.json(`/api/commands/${a.id}`)).body.data.status === 'succeeded', { timeoutMs: 15_000 });
      expect(ran).toEqual([310]);

      // Denied: never runs.
      const other = (await power(311, 'stop')).record.command!.id;
      expect((await fx.json(`/api/approvals/${other}/deny`, { method: 'POST', body: '{"reason":"no"}' })).status).toBe(200);
      expect((await fx.json(`/api/commands/${other}`)).body.data.status).toBe('denied');

      // allow: an agent's start runs without asking.
      const started = (await power(312, 'start')).record.command!.id;
      await waitFor(async () => (await fx.json(`/api/commands/${started}`)).body.data.status === 'succeeded', { timeoutMs: 15_000 });
      expect(ran.sort()).toEqual([310, 312]);

      // deny: refused to everyone, the operator too (REST).
      await expect(power(311, 'reboot')).rejects.toMatchObject({ status: 403 });
      const refused = await fx.json('/api/vms/311/reboot', { method: 'POST' });
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toMatch(/policy denies "reboot"/);
    } finally {
      await worker.stop();
      await adapterBus.close();
      await fx.dispose();
    }
  });
});
