import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig as loadApiConfig } from '@molten/api/config';
import { startApi, type RunningApi } from '@molten/api';
import { loadConfig as loadAdapterConfig } from '@molten/proxmox-adapter/config';
import { startProxmoxAdapter, type RunningAdapter } from '@molten/proxmox-adapter';
import { DEMO_TOKEN, startPveSimulator, type PveSimulator, type PveSimulatorOptions } from '@molten/simulators/pve';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const OPERATOR = 'system-test-operator-token-0123456789';
export const VIEWER = 'system-test-viewer-token-0123456789';

export interface StackOptions {
  sim?: PveSimulatorOptions;
  pollMs?: number;
  /** Extra env for the adapter(s) and the api. */
  env?: Record<string, string>;
  /** Start the proxmox-adapter in this process (default true). */
  adapter?: boolean;
}

/**
 * The environment of the stack's api and proxmox-adapter: a PVE at `pve` (the simulator's demo
 * token), a poll every `pollMs` (default 1 s), generous rate limits, the built dashboard.
 */
export function stackEnv(o: { natsUrl: string; pve: { url: string; caFile?: string }; dataDir: string; pollMs?: number; env?: Record<string, string> }): Record<string, string> {
  // Not faster: three intervals is the staleness bound, and a loaded CI machine needs slack.
  const pollMs = o.pollMs ?? 1000;
  return {
    NATS_URL: o.natsUrl,
    MOLTEN_CLUSTER: 'homelab',
    PVE_URL: o.pve.url,
    PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`,
    PVE_CA_FILE: o.pve.caFile ?? '',
    PVE_POLL_MS: String(pollMs),
    MOLTEN_HEARTBEAT_MS: String(Math.min(pollMs, 500)),
    MOLTEN_LEASE_TTL_MS: '3000',
    MOLTEN_COMMAND_ACK_WAIT_MS: '3000',
    MOLTEN_PORT: '0',
    MOLTEN_GRPC_PORT: '0',
    MOLTEN_TOKEN: OPERATOR,
    MOLTEN_VIEWER_TOKEN: VIEWER,
    MOLTEN_DATA_DIR: o.dataDir,
    MOLTEN_DASHBOARD_DIR: path.join(ROOT, 'apps/dashboard/build'),
    MOLTEN_RATE_LIMIT: '100000',
    MOLTEN_RATE_BURST: '10000',
    ...o.env,
  };
}

/**
 * The whole Proxmox slice on real components: a nats-server on a free port, the Proxmox VE
 * simulator over HTTPS, the proxmox-adapter and the api (in this process, or adapters as child
 * processes for crash tests).
 */
export async function startStack(o: StackOptions = {}) {
  const nats = await NatsServer.start();
  const sim = await startPveSimulator({ loadIntervalMs: 0, taskDurations: { start: 150, stop: 100, shutdown: 200, reboot: 200 }, ...o.sim });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-stack-'));
  const env = stackEnv({ natsUrl: nats.url, pve: sim, dataDir, pollMs: o.pollMs, env: o.env });
  const adapters: RunningAdapter[] = [];
  const processes: AdapterProcess[] = [];
  const startAdapter = async (extra: Record<string, string> = {}) => {
    const a = await startProxmoxAdapter(loadAdapterConfig({ ...env, ...extra }), testLogger('proxmox-adapter'));
    adapters.push(a);
    return a;
  };
  if (o.adapter !== false) await startAdapter({ MOLTEN_INSTANCE: 'adapter-1' });
  let api: RunningApi = await startApi(loadApiConfig(env), testLogger('api'));

  const call = (p: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? OPERATOR : init.token;
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(`${api.url}${p}`, { ...init, headers });
  };
  const json = async <T = any>(p: string, init: RequestInit & { token?: string | null } = {}) => {
    const res = await call(p, init);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
  };

  return {
    nats,
    sim,
    /** The running api (a new one after restartApi()). */
    get api() {
      return api;
    },
    env,
    adapters,
    processes,
    call,
    json,
    startAdapter,
    /** Starts a proxmox-adapter replica as a child process (for SIGKILL and restart tests). */
    spawnAdapter(instance: string, extra: Record<string, string> = {}) {
      const p = spawnAdapterProcess({ ...env, MOLTEN_INSTANCE: instance, ...extra });
      processes.push(p);
      return p;
    },
    /** Stops the api and starts a new one on the same port, as a process restart would. */
    async restartApi(downMs = 1_000) {
      const port = api.port;
      await api.stop();
      await new Promise((r) => setTimeout(r, downMs));
      api = await startApi(loadApiConfig({ ...env, MOLTEN_PORT: String(port) }), testLogger('api'));
    },
    /** Waits for a command to reach one of the statuses and returns it. */
    async waitCommand(id: string, statuses: string[], timeoutMs = 15_000) {
      return waitFor(async () => {
        const c = (await json(`/api/commands/${id}`)).body?.data;
        return c && statuses.includes(c.status) ? c : undefined;
      }, { timeoutMs, message: `command ${id} reaches ${statuses.join('/')}` });
    },
    async stop() {
      for (const p of processes) await p.stop();
      await api.stop();
      for (const a of adapters) await a.stop();
      await sim.close();
      await nats.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;

export interface AdapterProcess {
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export function spawnAdapterProcess(env: Record<string, string>): AdapterProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'services/proxmox-adapter/src/main.ts')], {
    env: { ...process.env, ...env, LOG_LEVEL: process.env.TEST_LOG || 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: ROOT,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => out,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** What a check needs to know to act on a guest. */
interface ActableGuest {
  vmid: number;
  type: string;
  status: string;
  qmpstatus?: string;
  lock?: string;
  template?: boolean | number;
  hastate?: string;
}

/** A VM that is running and not paused: start/stop/shutdown/reboot all apply. */
export const isRunningVm = (g: ActableGuest) => g.type === 'qemu' && g.status === 'running' && g.qmpstatus !== 'paused';

/**
 * Hands out guests a check may act on, each to one check: not a template, not locked, not
 * managed by HA (whose manager would carry the action out later), and not handed out before.
 */
export function guestPicker() {
  const used = new Set<number>();
  const find = <G extends ActableGuest>(guests: readonly G[], want: (g: G) => boolean): G => {
    const g = guests.find((x) => want(x) && !x.lock && !x.template && !x.hastate && !used.has(x.vmid));
    if (!g) throw new Error('no guest left for this check in the demo cluster');
    return g;
  };
  return {
    /** The first fitting guest; it is not handed out again. */
    take<G extends ActableGuest>(guests: readonly G[], want: (g: G) => boolean = () => true): G {
      const g = find(guests, want);
      used.add(g.vmid);
      return g;
    },
    /** A fitting guest for a check that changes nothing (it stays available). */
    peek<G extends ActableGuest>(guests: readonly G[], want: (g: G) => boolean = () => true): G {
      return find(guests, want);
    },
    /** Marks a guest as handed out (found by other means). */
    use(vmid: number): void {
      used.add(vmid);
    },
    isUsed: (vmid: number) => used.has(vmid),
  };
}
