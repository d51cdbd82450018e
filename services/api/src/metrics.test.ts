import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandWorker, StatePublisher, connectBus, encodeBus, type Bus } from '@molten/bus';
import { ServerStatus, commandError, subjects, type Guest } from '@molten/contracts';
import { testLogger, waitFor } from '@molten/testkit';
import { VIEWER, apiFixture, sseReader } from './test/api-fixture.js';

const guest = (vmid: number, over: Partial<Guest> = {}): Guest => ({
  cluster: 'homelab', vmid, name: `vm${vmid}`, node: 'pve1', type: 'qemu', status: 'running', qmpstatus: 'running',
  cpu: 0.1, maxcpu: 2, mem: 1, maxmem: 2, disk: 0, maxdisk: 10, uptime: 100, tags: [], template: false,
  netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [], ...over,
});

/** Parses the Prometheus text format into "name{labels}" → value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('GET /metrics', () => {
  let fx: Awaited<ReturnType<typeof apiFixture>>;
  let bus: Bus;
  let worker: CommandWorker;
  const scrape = async () => parse(await (await fx.call('/metrics', { token: VIEWER })).text());

  beforeAll(async () => {
    fx = await apiFixture({ MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS: '3000' });
    bus = await connectBus({ servers: fx.nats.url, name: 'fake-adapter', log: testLogger() });
    await new StatePublisher(bus, 'proxmox', 'homelab').put('qemu', '101', guest(101));
    worker = new CommandWorker(bus, {
      domain: 'proxmox', scope: 'homelab', instance: 'fake-1', log: testLogger(),
      handler: {
        execute: async (ctx) => (ctx.command.payload?.$case === 'power' && ctx.command.payload.value.action === 'stop' ? { status: 'succeeded', message: 'ok' } : { status: 'failed', message: 'no', error: commandError('locked', 'VM is locked (backup)', { upstreamStatus: '500' }) }),
        resume: async () => ({ status: 'succeeded', message: 'ok' }),
      },
    });
    await worker.start();
    await waitFor(async () => (await fx.json('/api/vms')).body.data.length === 1, { message: 'guest visible' });
  });
  afterAll(async () => {
    await worker?.stop(1_000);
    await bus?.close();
    await fx?.dispose();
  });

  it('needs a token', async () => {
    const res = await fx.call('/metrics', { token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
  });

  it('counts HTTP requests by matched route and status, not by raw path', async () => {
    await fx.json('/api/vms/101/status');
    await fx.json('/api/vms/999/status');
    const m = await scrape();
    expect(m.get('molten_http_requests_total{method="GET",route="/api/vms/:vmid/status",status="200"}')).toBe(1);
    expect(m.get('molten_http_requests_total{method="GET",route="/api/vms/:vmid/status",status="404"}')).toBe(1);
    expect([...m.keys()].some((k) => k.includes('/api/vms/101'))).toBe(false);
  });

  it('counts commands by outcome with their duration', async () => {
    const stop = await fx.json('/api/vms/101/stop', { method: 'POST' });
    await waitFor(async () => (await fx.json(`/api/commands/${stop.body.data.id}`)).body.data.status === 'succeeded');
    const start = await fx.json('/api/vms/101/start', { method: 'POST' });
    await waitFor(async () => (await fx.json(`/api/commands/${start.body.data.id}`)).body.data.status === 'failed');
    const m = await waitFor(async () => {
      const s = await scrape();
      return s.get('molten_commands_total{domain="proxmox",action="vm-start",outcome="failed"}') === 1 ? s : undefined;
    });
    expect(m.get('molten_commands_total{domain="proxmox",action="vm-stop",outcome="succeeded"}')).toBe(1);
    expect(m.get('molten_command_duration_seconds_count{domain="proxmox",action="vm-stop",outcome="succeeded"}')).toBe(1);
    expect(m.get('molten_command_transitions_total{status="accepted"}')).toBe(2);
  });

  it('reports SSE clients, events published, and upstream latency from heartbeats', async () => {
    const sse = sseReader(await fx.call('/api/events', { token: VIEWER }));
    await waitFor(() => sse.events.some((e) => e.event === 'snapshot'));
    expect((await scrape()).get('molten_sse_clients')).toBe(1);
    const before = (await scrape()).get('molten_events_published_total') ?? 0;
    await new StatePublisher(bus, 'proxmox', 'homelab').put('qemu', '101', guest(101, { cpu: 0.7 }));
    await waitFor(() => sse.events.some((e) => e.event === 'guest' && e.data.value.cpu === 0.7));
    expect((await scrape()).get('molten_events_published_total')).toBeGreaterThan(before);
    sse.close();

    const { data, headers } = encodeBus('molten.v1.Heartbeat', {
      domain: 'proxmox', instance: 'fake-1', version: 't', startedAtMs: Date.now(), atMs: Date.now(), intervalMs: 5_000,
      upstreams: [{ serverId: 'pve-homelab', scope: 'homelab', status: ServerStatus.SERVER_STATUS_CONNECTED, lastOkMs: Date.now(), pollMs: 2000, latencyMs: 42, leader: true, capabilities: [], privileges: [] }],
    });
    bus.nc.publish(subjects.heartbeat('proxmox', 'fake-1'), data, { headers });
    const m = await waitFor(async () => {
      const s = await scrape();
      return s.has('molten_upstream_latency_seconds{domain="proxmox",scope="homelab",server="pve-homelab",instance="fake-1"}') ? s : undefined;
    });
    expect(m.get('molten_upstream_latency_seconds{domain="proxmox",scope="homelab",server="pve-homelab",instance="fake-1"}')).toBeCloseTo(0.042);
    expect(m.get('molten_upstream_up{domain="proxmox",scope="homelab",server="pve-homelab"}')).toBe(1);
    expect(m.get('molten_adapter_replicas{domain="proxmox"}')).toBe(1);
    expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('counts NATS reconnects', async () => {
    expect((await scrape()).get('molten_nats_reconnects_total')).toBe(0);
    await fx.nats.restart();
    const m = await waitFor(async () => {
      const s = await scrape();
      return s.get('molten_nats_reconnects_total') === 1 ? s : undefined;
    }, { timeoutMs: 20_000, message: 'reconnect counted' });
    expect(m.get('molten_nats_disconnects_total')).toBe(1);
    expect(m.get('molten_nats_connected')).toBe(1);
  });
});
