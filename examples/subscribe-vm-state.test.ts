import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatePublisher, connectBus, type Bus } from '@molten/bus';
import type { Guest } from '@molten/contracts';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';
import { subscribeVmState, type VmStateChange } from './subscribe-vm-state.js';

const guest = (vmid: number, status: string, over: Partial<Guest> = {}): Guest => ({
  cluster: 'homelab', vmid, name: `vm${vmid}`, node: 'pve1', type: 'qemu', status, qmpstatus: status,
  cpu: 0, maxcpu: 2, mem: 1, maxmem: 2, disk: 0, maxdisk: 10, uptime: 0, tags: [], template: false,
  netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [], ...over,
});

const EXAMPLE = fileURLToPath(new URL('./subscribe-vm-state.ts', import.meta.url));

/** Runs the example as a program and collects the JSON lines it prints. */
function runExample(env: Record<string, string>) {
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', EXAMPLE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  proc.stdout!.on('data', (d) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { lines, stderr: () => stderr, ready: () => stderr.includes('following VM state changes'), stop: () => (proc.kill('SIGTERM'), exited) };
}

describe('docs/events.md example: a service following VM state with its own durable consumer', () => {
  let nats: NatsServer;
  let bus: Bus;
  let proxmox: StatePublisher;

  beforeAll(async () => {
    nats = await NatsServer.start();
    // What an adapter does: provision the streams and publish state.
    bus = await connectBus({ servers: nats.url, name: 'adapter', log: testLogger() });
    proxmox = new StatePublisher(bus, 'proxmox', 'homelab');
    await proxmox.put('qemu', '101', guest(101, 'running'));
  });
  afterAll(async () => {
    await bus?.close();
    await nats?.dispose();
  });

  it('runs as a program: prints guest changes, skips other kinds, and resumes after a restart', async () => {
    const env = { NATS_URL: nats.url, DURABLE: 'example-program' };
    const first = runExample(env);
    await waitFor(first.ready, { message: 'example ready', timeoutMs: 20_000 });
    await proxmox.put('node', 'pve1', { cluster: 'homelab', node: 'pve1', status: 'online', cpu: 0, maxcpu: 1, mem: 0, maxmem: 1, disk: 0, maxdisk: 1, uptime: 1, level: '', loadavg: [], imprecise: [] });
    await proxmox.put('qemu', '101', guest(101, 'stopped'));
    await proxmox.put('lxc', '200', guest(200, 'running', { type: 'lxc', qmpstatus: undefined }));
    await waitFor(() => first.lines.length >= 2, { message: `two changes printed (stderr: ${first.stderr()})` });
    expect(first.lines).toMatchObject([
      { cluster: 'homelab', kind: 'qemu', vmid: 101, removed: false, status: 'stopped', name: 'vm101', node: 'pve1' },
      { cluster: 'homelab', kind: 'lxc', vmid: 200, removed: false, status: 'running' },
    ]);
    expect(await first.stop()).toBe(0);

    // While it is down, a guest starts and another goes away; after a restart it gets exactly those.
    await proxmox.put('qemu', '101', guest(101, 'running'));
    await proxmox.remove('lxc', '200');
    const second = runExample(env);
    await waitFor(() => second.lines.length >= 2, { message: `missed changes printed (stderr: ${second.stderr()})`, timeoutMs: 20_000 });
    expect(second.lines).toMatchObject([
      { kind: 'qemu', vmid: 101, removed: false, status: 'running' },
      { kind: 'lxc', vmid: 200, removed: true },
    ]);
    expect(second.lines[0]!.seq as number).toBeGreaterThan(first.lines[1]!.seq as number);
    await second.stop();
  });

  it('spreads changes over the replicas of one service that share the durable, each change once', async () => {
    const got: VmStateChange[] = [];
    const stop = new AbortController();
    let ready = 0;
    const replicas = [1, 2].map(() =>
      subscribeVmState({ servers: nats.url, durable: 'example-shared', cluster: 'homelab', signal: stop.signal, onReady: () => ready++, onChange: (c) => void got.push(c) }),
    );
    await waitFor(() => ready === 2, { message: 'both replicas ready' });
    for (let i = 0; i < 50; i++) await proxmox.put('qemu', String(300 + i), guest(300 + i, 'running'));
    await waitFor(() => got.length >= 50, { message: 'every change delivered' });
    expect(got.map((c) => c.vmid).sort()).toEqual(Array.from({ length: 50 }, (_, i) => 300 + i));
    stop.abort();
    await Promise.all(replicas);
  });
});
