import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy, JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { loadConfig as apiConfig } from '@molten/api/config';
import { startApi, type RunningApi } from '@molten/api';
import { connectBus, encodeBus, requestQuery, type Bus } from '@molten/bus';
import { STREAMS, subjects, type Guest } from '@molten/contracts';
import { loadConfig as proxmoxConfig } from '@molten/proxmox-adapter/config';
import { startProxmoxAdapter, type RunningAdapter } from '@molten/proxmox-adapter';
import { loadConfig as homelabConfig } from '../../services/homelab-adapter/src/config.js';
import { startHomelabAdapter } from '@molten/homelab-adapter';
import { loadConfig as moltbotConfig } from '../../services/moltbot-adapter/src/config.js';
import { startMoltbotAdapter } from '@molten/moltbot-adapter';
import { startGatewaySimulator } from '@molten/simulators/gateway';
import { startHomelabMcpSimulator } from '@molten/simulators/homelab-mcp';
import { DEMO_TOKEN, startPveSimulator, type PveSimulator } from '@molten/simulators/pve';
import { publishDenied, testLogger, waitFor } from '@molten/testkit';
import { subscribeVmState, type VmStateChange } from '../../examples/subscribe-vm-state.js';
import { DeployedNats, type NatsUser } from './support/deploy-nats.js';

const OPERATOR = 'operator-token-for-permission-tests';

const guest = (vmid: number, cluster = 'homelab'): Guest => ({
  cluster, vmid, name: `vm${vmid}`, node: 'pve1', type: 'qemu', status: 'running', qmpstatus: 'running',
  cpu: 0, maxcpu: 1, mem: 0, maxmem: 1, disk: 0, maxdisk: 1, uptime: 0, tags: [], template: false,
  netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [],
});

describe('deploy/nats/nats.conf: each component holds only the subjects it needs', () => {
  let nats: DeployedNats;
  let api: RunningApi;
  let sim: PveSimulator;
  let adapter: RunningAdapter;
  let dataDir: string;
  const conns: NatsConnection[] = [];
  const as = async (user: NatsUser) => {
    const nc = await connect({ servers: `127.0.0.1:${nats.port}`, user, pass: nats.passwords[user] });
    conns.push(nc);
    return nc;
  };
  const apiCall = (p: string, init: RequestInit = {}) =>
    fetch(`${api.url}${p}`, { ...init, headers: { authorization: `Bearer ${OPERATOR}`, ...init.headers } }).then(async (r) => ({ status: r.status, body: await r.json() as any }));

  beforeAll(async () => {
    nats = await DeployedNats.start();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-perm-'));
    // The api provisions the streams and buckets with its own user.
    api = await startApi(
      apiConfig({ NATS_URL: nats.url('api'), MOLTEN_PORT: '0', MOLTEN_GRPC_PORT: '0', MOLTEN_TOKEN: OPERATOR, MOLTEN_DATA_DIR: dataDir, MOLTEN_DASHBOARD_DIR: path.join(dataDir, 'none'), MOLTEN_HEARTBEAT_MS: '200' }),
      testLogger('api'),
    );
    sim = await startPveSimulator({ taskDurations: { start: 50, stop: 50, shutdown: 50, reboot: 50 }, loadIntervalMs: 0 });
    adapter = await startProxmoxAdapter(
      proxmoxConfig({
        NATS_URL: nats.url('proxmox-adapter'),
        PVE_URL: sim.url,
        PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`,
        PVE_CA_FILE: sim.caFile,
        PVE_POLL_MS: '300',
        MOLTEN_HEARTBEAT_MS: '200',
        MOLTEN_INSTANCE: 'perm-proxmox-1',
      }),
      testLogger('proxmox-adapter'),
    );
  });

  afterAll(async () => {
    if (process.env.SHOW_NATS_LOG) console.log(nats.log.split('\n').filter((l) => /Violation/.test(l)).join('\n'));
    for (const nc of conns) await nc.close().catch(() => {});
    await adapter?.stop();
    await api?.stop();
    await sim?.close();
    await nats?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lets the api and the proxmox-adapter do their whole job with their own users', async () => {
    const vms = await waitFor(async () => {
      const r = await apiCall('/api/vms');
      return r.status === 200 && r.body.data.length > 0 ? r.body.data : undefined;
    }, { message: 'the adapter published the cluster', timeoutMs: 20_000 });
    const running = vms.find((g: { status: string; template: boolean; lock?: string; hastate?: string }) => g.status === 'running' && !g.template && !g.lock && !g.hastate);
    const cmd = await apiCall(`/api/vms/${running.vmid}/stop`, { method: 'POST' });
    expect(cmd.status).toBe(202);
    const done = await waitFor(async () => {
      const r = await apiCall(`/api/commands/${cmd.body.data.id}`);
      return ['succeeded', 'failed', 'timed_out'].includes(r.body.data.status) ? r.body.data : undefined;
    }, { message: 'the command ended', timeoutMs: 20_000 });
    expect(done.status).toBe('succeeded');
    expect(sim.guest(running.vmid)!.status).toBe('stopped');
    expect(nats.log).not.toMatch(/Violation/);
  });

  it('lets the api ask the proxmox-adapter for a guest page read, answered on its reply subject only', async () => {
    const apiBus = await connectBus({ servers: nats.url('api'), name: 'perm-api-query', log: testLogger() });
    try {
      await waitFor(async () => (await apiCall('/api/vms')).body.data?.length > 0, { message: 'the cluster is published', timeoutMs: 20_000 });
      const reply = await requestQuery(apiBus, { domain: 'proxmox', scope: 'homelab', what: 'guest-snapshots', request: { guest: { vmid: 304, node: '', type: '' } } });
      expect(reply.result?.$case).toBe('snapshots');
      expect(nats.log).not.toMatch(/Violation/);
    } finally {
      await apiBus.close();
    }
  });

  it('lets the homelab-adapter (an MCP tool call) and the moltbot-adapter (an agent run) work with their own users', async () => {
    const mcp = await startHomelabMcpSimulator();
    const homelab = await startHomelabAdapter(
      homelabConfig({ NATS_URL: nats.url('homelab-adapter'), HOMELAB_MCP_URL: mcp.url, MOLTEN_HEARTBEAT_MS: '200', MOLTEN_INSTANCE: 'perm-homelab-1' }),
      testLogger('homelab-adapter'),
    );
    const gateway = await startGatewaySimulator({ token: 'gateway-token-for-permission-tests', agentStepMs: 10 });
    const dataDir2 = mkdtempSync(path.join(os.tmpdir(), 'molten-perm-moltbot-'));
    const moltbot = await startMoltbotAdapter(
      { ...moltbotConfig({ NATS_URL: nats.url('moltbot-adapter'), MOLTBOT_URL: gateway.url, MOLTBOT_TOKEN: 'gateway-token-for-permission-tests', MOLTEN_HEARTBEAT_MS: '200', MOLTEN_DATA_DIR: dataDir2, MOLTEN_INSTANCE: 'perm-moltbot-1' }) },
      testLogger('moltbot-adapter'),
    );
    try {
      const tool = await waitFor(async () => {
        const r = await apiCall('/api/servers/mcp-homelab');
        return r.status === 200 && r.body.data.status === 'connected' && r.body.data.tools.some((t: { name: string }) => t.name === 'list_containers') ? r.body.data : undefined;
      }, { message: 'the MCP server is published as connected', timeoutMs: 20_000 });
      expect(tool.id).toBe('mcp-homelab');
      const call = await apiCall('/api/servers/mcp-homelab/tools/list_containers/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ arguments: {} }) });
      expect(call.status).toBe(202);
      const toolDone = await waitFor(async () => {
        const r = await apiCall(`/api/commands/${call.body.data.id}`);
        return ['succeeded', 'failed', 'timed_out'].includes(r.body.data.status) ? r.body.data : undefined;
      }, { message: 'the tool call ended', timeoutMs: 20_000 });
      expect(toolDone.status).toBe('succeeded');

      const agents = await waitFor(async () => {
        const r = await apiCall('/api/agents');
        return r.body.data.gateways.some((g: { connection: string }) => g.connection === 'connected') && r.body.data.agents.length > 0 ? r.body.data.agents : undefined;
      }, { message: 'the gateway is published as connected', timeoutMs: 20_000 });
      const run = await apiCall(`/api/agents/${agents[0].id}/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'say hello' }) });
      expect(run.status).toBe(202);
      const runDone = await waitFor(async () => {
        const r = await apiCall(`/api/commands/${run.body.data.id}`);
        return ['succeeded', 'failed', 'timed_out'].includes(r.body.data.status) ? r.body.data : undefined;
      }, { message: 'the agent run ended', timeoutMs: 20_000 });
      expect(runDone.status).toBe('succeeded');
      // The run's session transcript: the api asks the moltbot-adapter, which answers on the reply subject.
      const history = await apiCall(`/api/agents/sessions/default/${encodeURIComponent(`agent:${agents[0].id}:main`)}/history`);
      expect(history.status).toBe(200);
      expect(history.body.data.messages.some((m: { role: string; text: string }) => m.role === 'user' && m.text === 'say hello')).toBe(true);
      expect(nats.log).not.toMatch(/Violation/);
    } finally {
      await moltbot.stop();
      await homelab.stop();
      await gateway.close();
      await mcp.close();
      rmSync(dataDir2, { recursive: true, force: true });
    }
  });

  it('keeps an adapter from publishing another domain\'s state, KV entries or commands', async () => {
    const proxmox = await as('proxmox-adapter');
    const mcpState = subjects.state({ domain: 'mcp', scope: 'homelab', kind: 'server', id: 'forged-by-proxmox' });
    expect(await publishDenied(proxmox, mcpState)).toBe(true);
    expect(await publishDenied(proxmox, subjects.state({ domain: 'moltbot', scope: 'default', kind: 'gateway', id: 'default' }))).toBe(true);
    expect(await publishDenied(proxmox, `$KV.molten-state.${subjects.stateKey({ domain: 'mcp', scope: 'homelab', kind: 'server', id: 'x' })}`)).toBe(true);
    expect(await publishDenied(proxmox, subjects.heartbeat('mcp', 'fake'))).toBe(true);
    expect(await publishDenied(proxmox, subjects.command('proxmox', 'homelab', 'vm-stop'))).toBe(true);
    // Its own domain is fine.
    expect(await publishDenied(proxmox, subjects.state({ domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '999' }), encodeBus('molten.v1.Guest', guest(999)).data)).toBe(false);
    // It cannot make a consumer that would take another domain's commands.
    const jsm = await jetstreamManager(proxmox);
    await expect(jsm.consumers.add(STREAMS.commands, { durable_name: 'cmd-proxmox-sneaky', filter_subject: 'molten.cmd.mcp.>', ack_policy: AckPolicy.Explicit })).rejects.toThrow();
    await expect(jsm.streams.purge(STREAMS.events)).rejects.toThrow();

    const homelab = await as('homelab-adapter');
    expect(await publishDenied(homelab, subjects.state({ domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '101' }))).toBe(true);
    expect(await publishDenied(homelab, subjects.state({ domain: 'mcp', scope: 'homelab', kind: 'server', id: 'x' }))).toBe(false);
    const moltbot = await as('moltbot-adapter');
    expect(await publishDenied(moltbot, subjects.state({ domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '101' }))).toBe(true);
    expect(await publishDenied(moltbot, subjects.event({ domain: 'mcp', scope: 'homelab', kind: 'server', id: 'x' }, 'changed'))).toBe(true);

    // Nothing denied reached the events stream.
    const apiJsm = await jetstreamManager(await as('api'));
    expect(await apiJsm.streams.getMessage(STREAMS.events, { last_by_subj: mcpState }).catch((e) => e)).toSatisfy((r: unknown) => r === null || r instanceof JetStreamApiError);
  });

  it('lets the api do what the api does and nothing an adapter does', async () => {
    const nc = await as('api');
    expect(await publishDenied(nc, subjects.state({ domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '101' }))).toBe(true);
    expect(await publishDenied(nc, subjects.heartbeat('proxmox', 'forged'))).toBe(true);
  });

  it('lets the read-only user subscribe and follow events with its own durable consumer, and publish nothing', async () => {
    const reader = await as('reader');
    for (const subject of [
      subjects.state({ domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '101' }),
      subjects.command('proxmox', 'homelab', 'vm-stop'),
      subjects.commandStatus('01ARZ3NDEKTSV4RRFFQ69G5FAV'),
      subjects.heartbeat('proxmox', 'forged'),
      subjects.query('proxmox', 'homelab', 'guest-config'),
      `$KV.molten-state.${subjects.stateKey({ domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '101' })}`,
      '$KV.molten-commands.cmd.01ARZ3NDEKTSV4RRFFQ69G5FAV',
      'anything.else',
    ]) {
      expect(await publishDenied(reader, subject), subject).toBe(true);
    }
    await expect(jetstream(reader).publish(subjects.state({ domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '101' }), new Uint8Array([1]), { timeout: 1_000 })).rejects.toThrow();
    const jsm = await jetstreamManager(reader);
    await expect(jsm.streams.delete(STREAMS.events)).rejects.toThrow();

    // The example of docs/events.md, as the reader, sees a VM the adapter stops.
    const changes: VmStateChange[] = [];
    const stop = new AbortController();
    let ready = false;
    const following = subscribeVmState({
      servers: `127.0.0.1:${nats.port}`, user: 'reader', pass: nats.passwords.reader, durable: 'permissions-test',
      signal: stop.signal, onReady: () => (ready = true), onChange: (c) => void changes.push(c),
    });
    await waitFor(() => ready, { message: 'reader consumer ready' });
    const target = sim.guests({ type: 'qemu' }).find((g) => g.status === 'running' && !g.template && !g.lock && !g.hastate)!;
    const cmd = await apiCall(`/api/vms/${target.vmid}/stop`, { method: 'POST' });
    expect(cmd.status).toBe(202);
    await waitFor(() => changes.some((c) => c.vmid === target.vmid && c.guest?.status === 'stopped'), { message: 'reader saw the VM stop', timeoutMs: 20_000 });
    stop.abort();
    await following;
    // And it may watch heartbeats, as a monitoring service would.
    const sub = reader.subscribe(subjects.all.heartbeats, { max: 1 });
    for await (const m of sub) expect(m.subject).toMatch(/^molten\.adapter\.proxmox\./);
  });

  it('still lets the adapter bus connect when credentials are in NATS_URL, and refuses a wrong password', async () => {
    const bus: Bus = await connectBus({ servers: nats.url('homelab-adapter'), name: 'homelab-check', log: testLogger() });
    expect(bus.connected()).toBe(true);
    await bus.close();
    await expect(connect({ servers: `127.0.0.1:${nats.port}`, user: 'reader', pass: 'wrong', reconnect: false })).rejects.toThrow(/Authorization/i);
  });
});
