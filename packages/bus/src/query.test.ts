import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers } from '@nats-io/nats-core';
import { encodeMessage, subjects, type Command } from '@molten/contracts';
import { testLogger, waitFor } from '@molten/testkit';
import type { Bus } from './connect.js';
import { MalformedMessageError, decodeBus } from './messages.js';
import { requestQuery, serveQueries, type QueryHandlers } from './query.js';
import { busFixture } from './test/fixtures.js';

const log = testLogger('query');
let fx: Awaited<ReturnType<typeof busFixture>>;
let a: Bus;
let b: Bus;
let asker: Bus;

beforeAll(async () => {
  fx = await busFixture();
  a = await fx.connect('replica-a');
  b = await fx.connect('replica-b');
  asker = await fx.connect('asker');
});
afterAll(() => fx?.dispose());

const snapshots = (name: string): QueryHandlers => ({
  'guest-snapshots': async (req) => ({
    result: { $case: 'snapshots', value: { vmid: req.guest?.vmid ?? 0, snapshots: [{ name, description: '', parent: '', vmstate: false, snapstate: '' }], currentParent: name, running: true } },
    fetchedAtMs: 1,
  }),
});

describe('queries over request/reply', () => {
  it('answers with the typed reply; a queue group answers each read once', async () => {
    const sa = serveQueries(a, { domain: 'proxmox', scope: 'q1', handlers: snapshots('from-a'), log });
    const sb = serveQueries(b, { domain: 'proxmox', scope: 'q1', handlers: snapshots('from-b'), log });
    await Promise.all([a.nc.flush(), b.nc.flush()]);
    const replies = await Promise.all(
      Array.from({ length: 20 }, () =>
        requestQuery(asker, { domain: 'proxmox', scope: 'q1', what: 'guest-snapshots', request: { guest: { vmid: 101, node: '', type: '' } } }),
      ),
    );
    for (const r of replies) expect(r.result?.$case).toBe('snapshots');
    const first = replies[0]!.result;
    expect(first?.$case === 'snapshots' && first.value.vmid).toBe(101);
    await waitFor(() => sa.answered + sb.answered === 20);
    await Promise.all([sa.stop(), sb.stop()]);
  });

  it('no replica: a no_adapter error with what to do, at once', async () => {
    const t0 = Date.now();
    const r = await requestQuery(asker, { domain: 'proxmox', scope: 'nobody', what: 'guest-config', request: { guest: { vmid: 101, node: '', type: '' } }, timeoutMs: 5_000 });
    expect(r.result).toEqual({ $case: 'error', value: expect.objectContaining({ code: 'no_adapter', remedy: expect.stringContaining('MOLTEN_CLUSTER=nobody') }) });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('a slow replica: deadline', async () => {
    const s = serveQueries(a, {
      domain: 'proxmox',
      scope: 'slow',
      handlers: { 'ha-status': () => new Promise((r) => setTimeout(() => r({ result: { $case: 'status', value: { entries: [], managed: false } }, fetchedAtMs: 1 }), 1_000)) },
      log,
    });
    await a.nc.flush();
    const r = await requestQuery(asker, { domain: 'proxmox', scope: 'slow', what: 'ha-status', request: { vmid: 0 }, timeoutMs: 150 });
    expect(r.result).toMatchObject({ $case: 'error', value: { code: 'deadline' } });
    await s.stop();
  });

  it('a handler that throws, a query without handler, and a malformed request each get an error reply', async () => {
    const s = serveQueries(a, {
      domain: 'proxmox',
      scope: 'q2',
      handlers: { 'task-log': async () => { throw new Error('boom'); } },
      log,
    });
    await a.nc.flush();
    const thrown = await requestQuery(asker, { domain: 'proxmox', scope: 'q2', what: 'task-log', request: { upid: 'x', start: 0, limit: 0 } });
    expect(thrown.result).toMatchObject({ $case: 'error', value: { code: 'upstream', message: 'task-log failed inside the adapter: boom' } });
    const missing = await requestQuery(asker, { domain: 'proxmox', scope: 'q2', what: 'node-rrd', request: { node: 'pve1', timeframe: 'hour', cf: '' } });
    expect(missing.result).toMatchObject({ $case: 'error', value: { code: 'unsupported' } });

    // Bytes that are not the named request: answered, not crashed on.
    const h = headers();
    h.set('molten-type', 'molten.v1.Guest');
    const raw = await asker.nc.request(subjects.query('proxmox', 'q2', 'task-log'), new Uint8Array([1, 2, 3]), { timeout: 5_000, headers: h });
    const bad = decodeBus(raw, ['molten.v1.TaskLogReply']).value;
    expect(bad.result).toMatchObject({ $case: 'error', value: { code: 'invalid', message: expect.stringContaining('expected molten.v1.TaskLogRequest') } });
    // An unknown query name: an empty answer, which requestQuery would report.
    const unknown = await asker.nc.request('molten.query.proxmox.q2.nope', new Uint8Array(), { timeout: 5_000 });
    expect(unknown.data.length).toBe(0);
    // The replica still answers.
    expect((await requestQuery(asker, { domain: 'proxmox', scope: 'q2', what: 'task-log', request: { upid: 'x', start: 0, limit: 0 } })).result?.$case).toBe('error');
    await s.stop();
  });
});

describe('guest command payloads', () => {
  const base: Command = {
    id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
    correlationId: 'c',
    domain: 'proxmox',
    scope: 'homelab',
    action: 'snapshot-create',
    createdAtMs: 1,
    acceptByMs: 2,
    deadlineMs: 3,
    idempotencyKey: '', reason: '',
    payload: { $case: 'snapshot', value: { vmid: 101, action: 'create', name: 'before-upgrade', description: '', vmstate: true, node: 'pve1', type: 'qemu' } },
  };
  const msg = (c: Command) => {
    const h = headers();
    h.set('molten-type', 'molten.v1.Command');
    return { subject: 's', data: encodeMessage('molten.v1.Command', c), headers: h };
  };

  it('accepts a snapshot and a suspend/resume payload', () => {
    expect(decodeBus(msg(base), ['molten.v1.Command']).value.payload).toEqual(base.payload);
    const suspend: Command = { ...base, action: 'vm-suspend', payload: { $case: 'suspendResume', value: { vmid: 101, action: 'suspend', todisk: true, node: '', type: '' } } };
    expect(decodeBus(msg(suspend), ['molten.v1.Command']).value.payload?.$case).toBe('suspendResume');
  });

  it.each([
    ['a name Proxmox refuses', { name: '1st' }, /snapshot name "1st" must start with a letter/],
    ['a reserved name', { name: 'current' }, /reserved/],
    ['RAM for a container', { type: 'lxc', vmstate: true }, /containers have no RAM snapshots/],
    ['an unknown action', { action: 'clone' }, /action/],
  ])('rejects %s', (_n, change, reason) => {
    const c: Command = { ...base, payload: { $case: 'snapshot', value: { ...(base.payload as { value: object }).value, ...change } as never } };
    expect(() => decodeBus(msg(c), ['molten.v1.Command'])).toThrow(MalformedMessageError);
    expect(() => decodeBus(msg(c), ['molten.v1.Command'])).toThrow(reason);
  });
});
