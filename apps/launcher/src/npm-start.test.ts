import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { subjects } from '@molten/contracts';
import { startHomelabMcpSimulator } from '@molten/simulators/homelab-mcp';
import { DEMO_TOKEN, startPveSimulator } from '@molten/simulators/pve';
import { freePort, publishDenied, waitFor } from '@molten/testkit';
import { readDeployNatsConf } from './deploy-nats-conf.js';
import { PASSWORDS_FILE } from './local-nats-passwords.js';
import { portFree, SERVER_CONF_FILE } from './local-nats.js';
import { guestPicker, isRunningVm } from '../../../tests/src/stack.js';

/**
 * `npm start` as a person or a supervisor runs it: the real npm, the real launcher, a local
 * nats-server, the built services, each run with its own data directory and free ports, and
 * stopped the two ways it is stopped: SIGTERM to the npm process (systemd, a container runtime)
 * and SIGINT to the whole foreground process group (Ctrl-C in a terminal).
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
/**
 * How long the launcher may take to stop, at the most: the api and then the adapters each get
 * 10 s before SIGKILL, the simulators are bounded by the launcher's 15 s step bound, nats-server
 * by 5 s. A clean stop takes about a second.
 */
const SHUTDOWN_BOUND_MS = 45_000;
const SERVICES = ['api', 'proxmox-adapter', 'homelab-adapter', 'moltbot-adapter'];
const LOG_LINE = /^\d\d:\d\d:\d\d (\S+)\s+(trace|debug|info|warn|error|fatal)\s/;
const READY = '  Ctrl-C stops everything.';
const REFUSED = 'the local nats-server refused a client';

interface Line {
  at: number;
  text: string;
}

class NpmStart {
  readonly lines: Line[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stack: Map<number, string> = new Map();
  readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NATS_URL|MOLTEN_|PVE_|PROXMOX_MCP_|HOMELAB_MCP_|MOLTBOT_|LOG_LEVEL)/.test(k)));
    // Its own process group, as a terminal's foreground job is: a signal to the group is Ctrl-C.
    this.child = spawn('npm', ['start'], { cwd: ROOT, env: { ...clean, LOG_LEVEL: 'info', ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let partial = '';
    const take = (d: Buffer) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop()!;
      for (const text of parts) this.lines.push({ at: Date.now(), text });
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    running.add(this);
  }

  text(from = 0): string {
    return this.lines.filter((l) => l.at >= from).map((l) => l.text).join('\n');
  }

  /** Waits for the closing block, then notes every process npm start runs (the whole tree under npm). */
  async ready(): Promise<void> {
    await waitFor(() => this.lines.some((l) => l.text === READY) || this.child.exitCode !== null, { timeoutMs: 180_000, intervalMs: 100, message: 'npm start printed its closing block' });
    expect(this.child.exitCode, this.text()).toBeNull();
    this.stack = descendants(this.child.pid!);
  }

  write(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Waits until no process of the stack is left, and returns how long that took. */
  async gone(since: number): Promise<number> {
    await waitFor(() => [...this.stack.keys()].every((pid) => !alive(pid)), {
      timeoutMs: SHUTDOWN_BOUND_MS,
      intervalMs: 50,
      message: `every process of the stack gone (left: ${[...this.stack].filter(([pid]) => alive(pid)).map(([pid, cmd]) => `${pid} ${cmd}`).join('; ')})`,
    });
    return Date.now() - since;
  }

  kill(): void {
    const pids = new Set([...descendants(this.child.pid!).keys(), ...this.stack.keys(), this.child.pid!]);
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}

const running = new Set<NpmStart>();
const cleanups: (() => unknown)[] = [];
afterEach(() => {
  // A failed test must not leave a stack behind for the next one.
  for (const n of running) n.kill();
  running.clear();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-npm-start-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every process below `root`, by pid, with its command line (from /proc). */
function descendants(root: number): Map<number, string> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const out = new Map<number, string>();
  const todo = [...(children.get(root) ?? [])];
  while (todo.length) {
    const pid = todo.pop()!;
    try {
      out.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim());
    } catch {
      continue;
    }
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** A zombie has exited: only its parent's bookkeeping is left. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function logLines(text: string): { service: string; level: string; text: string }[] {
  return text.split('\n').flatMap((l) => {
    const m = LOG_LINE.exec(l);
    return m ? [{ service: m[1]!, level: m[2]!, text: l }] : [];
  });
}

/** What breaks a quiet log: anything at warn or above, from the launcher or a service. */
function quietness(text: string): string[] {
  return logLines(text)
    .filter((l) => !['trace', 'debug', 'info'].includes(l.level))
    .map((l) => l.text);
}

/**
 * Lines that are neither npm's banner, a log line nor the closing block: build chatter, a token
 * box, a stack trace.
 */
function noise(text: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('  Molten is running'));
  const end = lines.indexOf(READY);
  return lines.filter((l, i) => !(l === '' || l.startsWith('> ') || LOG_LINE.test(l) || (i >= start && i <= end && start >= 0)));
}

function expectStopInOrder(text: string): void {
  const lines = text.split('\n');
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const apiStopped = at(/^\S+ api\s+info\s+stopped/);
  expect(apiStopped, text).toBeGreaterThanOrEqual(0);
  for (const s of SERVICES.slice(1)) {
    const shutting = at(new RegExp(`^\\S+ ${s}\\s+info\\s+shutting down`));
    // Only the adapters that run (a kind with no upstream has none).
    if (shutting >= 0) expect(shutting, `${s} stops after the api`).toBeGreaterThan(apiStopped);
  }
  const last = lines.findLastIndex((l) => /^\S+ molten\s+info\s+stopped/.test(l));
  expect(last, text).toBeGreaterThan(Math.max(...SERVICES.map((s) => lines.findLastIndex((l) => new RegExp(`^\\S+ ${s}\\s+info\\s+stopped`).test(l)))));
}

/** The local bus's passwords as npm start keeps them, by variable. */
function natsPasswords(dataDir: string): Record<string, string> {
  const lines = readFileSync(path.join(dataDir, PASSWORDS_FILE), 'utf8').split('\n').filter((l) => /^[A-Z]/.test(l));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** Each service's NATS_URL, read from its process's environment. */
function servicesNatsUrls(stack: Map<number, string>): Map<string, { url: URL; environ: string }> {
  const out = new Map<string, { url: URL; environ: string }>();
  for (const [pid, cmd] of stack) {
    const service = SERVICES.find((s) => cmd.endsWith(`dist/${s}.mjs`));
    if (!service) continue;
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    const url = environ.split('\0').find((e) => e.startsWith('NATS_URL='))?.slice('NATS_URL='.length);
    expect(url, `${service} has a NATS_URL`).toBeDefined();
    out.set(service, { url: new URL(url!), environ });
  }
  return out;
}

/** Stops a running guest of the demo cluster through the api and waits for the command to end. */
async function stopAGuest(base: string, token: string): Promise<string> {
  const api = (p: string, init: RequestInit = {}) => fetch(`${base}${p}`, { ...init, headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const guest = await waitFor(async () => guestPicker().take((await api('/api/vms')).body.data, isRunningVm), {
    timeoutMs: 60_000,
    message: 'the demo cluster is published with a running VM',
  });
  const cmd = await api(`/api/vms/${guest.vmid}/stop`, { method: 'POST' });
  expect(cmd.status, JSON.stringify(cmd.body)).toBe(202);
  const done = await waitFor(
    async () => {
      const r = await api(`/api/commands/${cmd.body.data.id}`);
      return ['succeeded', 'failed', 'timed_out', 'uncertain'].includes(r.body.data?.status) ? r.body.data : undefined;
    },
    { timeoutMs: 60_000, message: 'the stop command ended' },
  );
  return done.status;
}

describe('npm start', () => {
  it('SIGTERM to the npm process stops every process of the stack in order, with a quiet log, on a first start and on a restart; the bus is locked with the same passwords both times', { timeout: 600_000 }, async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const env = { MOLTEN_DATA_DIR: dataDir, MOLTEN_PORT: String(port), MOLTEN_GRPC_PORT: String(await freePort()) };
    const passwordVars = readDeployNatsConf().passwordVars;
    let firstPasswords: Record<string, string> | undefined;

    for (const run of ['first start', 'restart']) {
      const npm = new NpmStart(env);
      await npm.ready();
      const started = npm.text();
      const commands = [...npm.stack.values()];
      expect(commands.some((c) => c.includes('apps/launcher/src/main.ts')), commands.join('\n')).toBe(true);
      expect(commands.some((c) => c.endsWith(`nats-server -c ${path.join(dataDir, SERVER_CONF_FILE)}`)), commands.join('\n')).toBe(true);
      for (const s of SERVICES) expect(commands.some((c) => c.endsWith(`dist/${s}.mjs`)), `${s} runs`).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBe(200);

      // Quiet: no build chatter, no token box, the token once.
      expect(noise(started), `${run}:\n${started}`).toEqual([]);
      const token = readFileSync(path.join(dataDir, 'operator-token'), 'utf8').trim();
      expect(started.split(token).length - 1, `${run}: the token is printed once`).toBe(1);
      expect(started).toContain(run === 'first start' ? '(operator; generated now, kept in' : `${token}   (operator; kept in`);
      expect(quietness(started), `${run}:\n${started}`).toEqual([]);

      // The bus is locked (issue 14): passwords generated once into 0600 files and kept; each
      // service holds its own user's and no other; a client without credentials is refused, and
      // the proxmox-adapter's user cannot publish a command; the api's power command still runs.
      const passwords = natsPasswords(dataDir);
      expect(Object.keys(passwords).sort()).toEqual(Object.values(passwordVars).sort());
      if (firstPasswords) expect(passwords, 'the restart reuses the passwords').toEqual(firstPasswords);
      firstPasswords = passwords;
      for (const f of [PASSWORDS_FILE, SERVER_CONF_FILE]) expect(statSync(path.join(dataDir, f)).mode & 0o777, f).toBe(0o600);
      const urls = servicesNatsUrls(npm.stack);
      expect([...urls.keys()].sort()).toEqual([...SERVICES].sort());
      for (const [service, { url, environ }] of urls) {
        expect(url.username).toBe(service);
        expect(url.password).toBe(passwords[passwordVars[service]!]);
        for (const [v, p] of Object.entries(passwords)) if (v !== passwordVars[service]) expect(environ.includes(p), `${service} holds ${v}`).toBe(false);
      }
      const bus = /^ {2}NATS +(nats:\/\/127\.0\.0\.1:\d+) {3}\(local, data in /m.exec(started)?.[1];
      expect(bus, started).toBeDefined();
      expect(started).toContain(`passwords in ${path.join(dataDir, PASSWORDS_FILE)}`);
      await expect(connect({ servers: bus!, reconnect: false })).rejects.toThrow(/Authorization Violation/);
      const adapter = await connect({ servers: bus!, user: 'proxmox-adapter', pass: passwords[passwordVars['proxmox-adapter']!], reconnect: false });
      expect(await publishDenied(adapter, subjects.command('proxmox', 'homelab', 'vm-stop'))).toBe(true);
      await adapter.close();
      await waitFor(() => npm.text().split(REFUSED).length - 1 >= 2, { message: 'both refusals logged by npm start' });
      expect(await stopAGuest(`http://127.0.0.1:${port}`, token)).toBe('succeeded');
      // Nothing else was refused while the whole stack ran: every service has the permissions it needs.
      const refusals = quietness(npm.text());
      expect(refusals.filter((l) => !l.includes(REFUSED)), npm.text()).toEqual([]);
      expect(refusals.map((l) => /authentication error|Publish Violation - User "proxmox-adapter", Subject "molten\.cmd\./.exec(l)?.[0])).toEqual(['authentication error', 'Publish Violation - User "proxmox-adapter", Subject "molten.cmd.']);

      const signalled = Date.now();
      process.kill(npm.child.pid!, 'SIGTERM');
      const tookMs = await npm.gone(signalled);
      expect(await npm.exited).toEqual({ code: 0, signal: null });
      const stopped = npm.text(signalled);
      expectStopInOrder(stopped);
      expect(noise(stopped), stopped).toEqual([]);
      expect(stopped).not.toMatch(/connection lost/i);
      expect(quietness(stopped), stopped).toEqual([]);
      expect(await portFree(port), 'the api port is free again').toBe(true);
      for (const p of Object.values(passwords)) expect(npm.text().includes(p), `${run}: a NATS password in the output`).toBe(false);
      console.info(`npm start (${run}): every process gone ${tookMs} ms after SIGTERM`);
    }
  });

  it('with upstreams configured, lists each with its address and the simulated one as such; a simulated upstream can be stopped and brought back; Ctrl-C stops the services before the bus', { timeout: 600_000 }, async () => {
    const pve = await startPveSimulator({ port: 0, loadIntervalMs: 0 });
    cleanups.push(() => pve.close());
    const mcp = await startHomelabMcpSimulator({ port: 0 });
    cleanups.push(() => mcp.close());
    const port = await freePort();
    const operator = 'npm-start-test-operator-token-0123456789';
    const npm = new NpmStart({
      MOLTEN_DATA_DIR: tempDir(),
      MOLTEN_PORT: String(port),
      MOLTEN_GRPC_PORT: String(await freePort()),
      MOLTEN_TOKEN: operator,
      MOLTEN_DEMO: '1',
      PVE_URL: pve.url,
      PVE_TOKEN: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`,
      PVE_CA_FILE: pve.caFile!,
      HOMELAB_MCP_URL: mcp.url,
    });
    await npm.ready();
    const block = npm.text().split('\n');
    const row = (label: string) => block.find((l) => l.startsWith(`  ${label} `))?.replace(/\s+/g, ' ').trim();
    expect(row('Proxmox VE')).toBe(`Proxmox VE ${pve.url} configured (PVE_URL)`);
    expect(row('Homelab MCP')).toBe(`Homelab MCP ${mcp.url} configured (HOMELAB_MCP_URL)`);
    expect(row('Agent gateway')).toMatch(/^Agent gateway ws:\/\/127\.0\.0\.1:\d+ simulated: Moltbot\/OpenClaw, protocol \d$/);
    expect(row('Not configured')).toBe('Not configured ProxmoxMCP-Plus (PROXMOX_MCP_URL)');
    expect(row('Services')).toBe('Services api, proxmox-adapter, homelab-adapter, moltbot-adapter');
    expect(row('Token')).toBe('Token (your MOLTEN_TOKEN)');
    expect(npm.text()).not.toContain(DEMO_TOKEN.secret);
    expect(npm.text()).not.toContain(operator);

    // Demo degradation: the simulated gateway down, then back, through the launcher's console.
    const gateway = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/servers/gateway-default`, { headers: { authorization: `Bearer ${operator}` } });
      return res.ok ? ((await res.json()) as { data: { status: string } }).data.status : undefined;
    };
    await waitFor(async () => (await gateway()) === 'connected', { timeoutMs: 30_000, message: 'the simulated gateway connected' });
    npm.write('stop gateway');
    await waitFor(async () => (await gateway()) !== 'connected', { timeoutMs: 30_000, message: 'the gateway shown down after "stop gateway"' });
    npm.write('start gateway');
    await waitFor(async () => (await gateway()) === 'connected', { timeoutMs: 60_000, message: 'the gateway connected again after "start gateway"' });

    const signalled = Date.now();
    process.kill(-npm.child.pid!, 'SIGINT');
    const tookMs = await npm.gone(signalled);
    expect(await npm.exited).toEqual({ code: 0, signal: null });
    const stopped = npm.text(signalled);
    expectStopInOrder(stopped);
    for (const s of SERVICES) expect(stopped, `${s} stopped`).toMatch(new RegExp(`^\\S+ ${s}\\s+info\\s+stopped`, 'm'));
    // The bus outlived every service: none lost its NATS connection or failed a last publish.
    expect(stopped).not.toMatch(/connection lost/i);
    expect(quietness(stopped), stopped).toEqual([]);
    console.info(`npm start (configured upstreams): every process gone ${tookMs} ms after Ctrl-C`);
  });
});
