import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig as apiConfig } from '@molten/api/config';
import { startApi, type RunningApi } from '@molten/api';
import { loadConfig as proxmoxConfig } from '@molten/proxmox-adapter/config';
import { startProxmoxAdapter, type RunningAdapter } from '@molten/proxmox-adapter';
import { DEMO_TOKEN, startPveSimulator, type PveSimulator } from '@molten/simulators/pve';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';

const OPERATOR = 'operator-token-for-the-grpc-example';
const EXAMPLE = fileURLToPath(new URL('./grpc-watch-and-stop.ts', import.meta.url));

describe('examples/grpc-watch-and-stop.ts against the whole stack', () => {
  let nats: NatsServer;
  let sim: PveSimulator;
  let api: RunningApi;
  let adapter: RunningAdapter;
  let dataDir: string;

  beforeAll(async () => {
    nats = await NatsServer.start();
    sim = await startPveSimulator({ taskDurations: { stop: 300 }, loadIntervalMs: 0 });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-grpc-example-'));
    api = await startApi(
      apiConfig({ NATS_URL: nats.url, MOLTEN_PORT: '0', MOLTEN_GRPC_PORT: '0', MOLTEN_TOKEN: OPERATOR, MOLTEN_DATA_DIR: dataDir, MOLTEN_DASHBOARD_DIR: path.join(dataDir, 'none') }),
      testLogger('api'),
    );
    adapter = await startProxmoxAdapter(
      proxmoxConfig({ NATS_URL: nats.url, PVE_URL: sim.url, PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, PVE_CA_FILE: sim.caFile, PVE_POLL_MS: '300', MOLTEN_INSTANCE: 'example-adapter' }),
      testLogger('proxmox-adapter'),
    );
    await waitFor(() => api.plane.state.guests('homelab').length > 0, { message: 'cluster published', timeoutMs: 20_000 });
  });
  afterAll(async () => {
    await adapter?.stop();
    await api?.stop();
    await sim?.close();
    await nats?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('watches events, stops a VM, prints each transition and exits 0', async () => {
    // Not an HA-managed guest: for those Proxmox answers with an hastop task and the HA stack stops the VM later.
    const vm = sim.guests({ type: 'qemu' }).find((g) => g.status === 'running' && !g.template && !g.lock && !g.hastate)!;
    const proc = spawn(process.execPath, ['--import', 'tsx', EXAMPLE], {
      env: { ...process.env, MOLTEN_GRPC: api.grpcUrl, MOLTEN_TOKEN: OPERATOR, VMID: String(vm.vmid) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(code, out).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^guest ${vm.vmid} ".+" on \\S+ is running$`));
    expect(lines.filter((l) => / command (requested|accepted|running|succeeded):/.test(l)).map((l) => /command (\w+):/.exec(l)![1])).toEqual(['requested', 'accepted', 'running', 'succeeded']);
    expect(out).toContain(`guest ${vm.vmid} is now stopped`);
    // Only a change of status is told: the guest events before the stop (cpu, memory) are not.
    expect(lines.filter((l) => l.includes(' is now ')).map((l) => l.replace(/^#\d+ /, ''))).toEqual([`guest ${vm.vmid} is now stopped`]);
    expect(lines.at(-1)).toMatch(/succeeded \(upstream task UPID:/);
    expect(sim.guest(vm.vmid)!.status).toBe('stopped');
    expect(sim.countRequests({ method: 'POST', vmid: vm.vmid, action: 'stop' })).toBe(1);
  });

  it('exits 1 with the status code when the token may not act', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', EXAMPLE], {
      env: { ...process.env, MOLTEN_GRPC: api.grpcUrl, MOLTEN_TOKEN: 'not-the-token-0123456789', VMID: '100' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(code).toBe(1);
    expect(err).toMatch(/^UNAUTHENTICATED: the token is not valid/);
  });
});
