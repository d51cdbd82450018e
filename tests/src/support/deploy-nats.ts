import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATS_SERVER_MISSING, findExecutable } from '@molten/kit';
import { freePort, waitForPort } from '@molten/testkit';

export const DEPLOY_DIR = fileURLToPath(new URL('../../../deploy', import.meta.url));
export const NATS_CONF = path.join(DEPLOY_DIR, 'nats', 'nats.conf');

/** One password per user of deploy/nats/nats.conf, as its environment variable names them. */
export const PASSWORD_VARS = {
  api: 'MOLTEN_NATS_API_PASSWORD',
  'proxmox-adapter': 'MOLTEN_NATS_PROXMOX_PASSWORD',
  'homelab-adapter': 'MOLTEN_NATS_HOMELAB_PASSWORD',
  'moltbot-adapter': 'MOLTEN_NATS_MOLTBOT_PASSWORD',
  reader: 'MOLTEN_NATS_READER_PASSWORD',
  sys: 'MOLTEN_NATS_SYS_PASSWORD',
} as const;
export type NatsUser = keyof typeof PASSWORD_VARS;

/** deploy/nats/nats.conf as shipped, except where it listens and where JetStream keeps its store. */
function deployedNatsConf(o: { port: number; monitor: number; store: string }): string {
  const conf = readFileSync(NATS_CONF, 'utf8')
    .replace(/^listen: .*$/m, `listen: 127.0.0.1:${o.port}`)
    .replace(/^http: .*$/m, `http: 127.0.0.1:${o.monitor}`)
    .replace(/store_dir: .*$/m, `store_dir: ${JSON.stringify(o.store)}`);
  if (!conf.includes(`listen: 127.0.0.1:${o.port}`) || !conf.includes(`http: 127.0.0.1:${o.monitor}`) || !conf.includes(o.store)) {
    throw new Error('deploy/nats/nats.conf no longer has the listen, http and store_dir lines this test rewrites');
  }
  return conf;
}

const testPasswords = () => Object.fromEntries(Object.keys(PASSWORD_VARS).map((u) => [u, `${u}-test-password-${Math.random().toString(36).slice(2)}`])) as Record<NatsUser, string>;
const passwordEnv = (passwords: Record<NatsUser, string>) => Object.fromEntries(Object.entries(PASSWORD_VARS).map(([u, v]) => [v, passwords[u as NatsUser]]));

/**
 * A real nats-server running deploy/nats/nats.conf as shipped, except where it listens (free
 * ports on 127.0.0.1) and where JetStream keeps its store (a temp dir).
 */
export class DeployedNats {
  private constructor(
    readonly port: number,
    readonly passwords: Record<NatsUser, string>,
    private readonly proc: ChildProcess,
    private readonly dir: string,
    private readonly output: () => string,
  ) {}

  static async start(): Promise<DeployedNats> {
    const bin = findExecutable('nats-server');
    if (!bin) throw new Error(NATS_SERVER_MISSING);
    const [port, monitor] = [await freePort(), await freePort()];
    const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-deploy-nats-'));
    const file = path.join(dir, 'nats.conf');
    writeFileSync(file, deployedNatsConf({ port, monitor, store: path.join(dir, 'store') }));
    const passwords = testPasswords();
    const env = { ...process.env, ...passwordEnv(passwords) };
    let out = '';
    const proc = spawn(bin, ['-c', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    await Promise.race([waitForPort(port), exited.then(() => Promise.reject(new Error(`nats-server exited:\n${out}`)))]);
    const deadline = Date.now() + 10_000;
    while (!/Server is ready/.test(out)) {
      if (Date.now() > deadline) throw new Error(`nats-server did not get ready:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return new DeployedNats(port, passwords, proc, dir, () => out);
  }

  /** NATS_URL for a user, credentials in the URL as the services take them. */
  url(user: NatsUser): string {
    return `nats://${user}:${this.passwords[user]}@127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output();
  }

  async dispose(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.proc.exitCode !== null) return resolve();
      this.proc.once('exit', () => resolve());
      this.proc.kill('SIGTERM');
      setTimeout(() => this.proc.kill('SIGKILL'), 5_000).unref();
    });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const NATS_CLUSTER_CONF = path.join(DEPLOY_DIR, 'nats', 'cluster', 'nats-cluster.conf');

/**
 * Three nats-servers running deploy/nats/cluster/nats-cluster.conf as shipped (which includes
 * deploy/nats/nats.conf), as one cluster on 127.0.0.1: only the ports, the store directories and
 * the route URLs (environment variables, as compose and Kubernetes set them) are this test's.
 */
export class DeployedNatsCluster {
  private constructor(
    readonly ports: number[],
    readonly passwords: Record<NatsUser, string>,
    private readonly procs: ChildProcess[],
    private readonly dir: string,
    private readonly outputs: (() => string)[],
  ) {}

  static async start(size = 3): Promise<DeployedNatsCluster> {
    // A port picked free can be taken by another test before a node binds it: pick again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await DeployedNatsCluster.#start(size);
      } catch (err) {
        if (attempt >= 3 || !/address already in use/i.test(String((err as Error).message))) throw err;
      }
    }
  }

  static async #start(size: number): Promise<DeployedNatsCluster> {
    const bin = findExecutable('nats-server');
    if (!bin) throw new Error(NATS_SERVER_MISSING);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-deploy-nats-cluster-'));
    const nodes = await Promise.all(Array.from({ length: size }, async (_, i) => ({ name: `nats-${i + 1}`, port: await freePort(), monitor: await freePort(), route: await freePort() })));
    const passwords = testPasswords();
    const routePassword = `route-test-password-${Math.random().toString(36).slice(2)}`;
    const routes = Object.fromEntries(nodes.map((n, i) => [`MOLTEN_NATS_ROUTE_${i + 1}`, `nats-route://route:${routePassword}@127.0.0.1:${n.route}`]));
    const procs: ChildProcess[] = [];
    const outputs: (() => string)[] = [];
    const cluster = readFileSync(NATS_CLUSTER_CONF, 'utf8');
    try {
      for (const n of nodes) {
        // The same layout as deploy/nats/: cluster/nats-cluster.conf includes ../nats.conf.
        const home = path.join(dir, n.name);
        mkdirSync(path.join(home, 'cluster'), { recursive: true });
        writeFileSync(path.join(home, 'nats.conf'), deployedNatsConf({ port: n.port, monitor: n.monitor, store: path.join(home, 'store') }));
        const conf = cluster.replace(/^(\s*)listen: .*$/m, `$1listen: 127.0.0.1:${n.route}`);
        if (!conf.includes(`listen: 127.0.0.1:${n.route}`)) throw new Error('deploy/nats/cluster/nats-cluster.conf no longer has the cluster listen line this test rewrites');
        writeFileSync(path.join(home, 'cluster', 'nats-cluster.conf'), conf);
        const env = { ...process.env, ...passwordEnv(passwords), ...routes, MOLTEN_NATS_ROUTE_PASSWORD: routePassword, MOLTEN_NATS_SERVER_NAME: n.name };
        let out = '';
        const proc = spawn(bin, ['-c', path.join(home, 'cluster', 'nats-cluster.conf')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        proc.stdout!.on('data', (d) => (out += d));
        proc.stderr!.on('data', (d) => (out += d));
        procs.push(proc);
        outputs.push(() => out);
      }
      // Ready when every node says so and JetStream has a meta leader (/healthz answers 200).
      await Promise.all(
        nodes.map(async (n, i) => {
          const deadline = Date.now() + 30_000;
          for (;;) {
            const ok = await fetch(`http://127.0.0.1:${n.monitor}/healthz`).then((r) => r.ok, () => false);
            if (ok) return;
            if (procs[i]!.exitCode !== null || Date.now() > deadline) throw new Error(`${n.name} did not get healthy:\n${outputs[i]!()}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        }),
      );
    } catch (err) {
      await new DeployedNatsCluster([], passwords, procs, dir, outputs).dispose();
      throw err;
    }
    return new DeployedNatsCluster(nodes.map((n) => n.port), passwords, procs, dir, outputs);
  }

  /** NATS_URL for a user: every node, credentials in the URLs as the services take them. */
  url(user: NatsUser): string {
    return this.ports.map((p) => `nats://${user}:${this.passwords[user]}@127.0.0.1:${p}`).join(',');
  }

  get log(): string {
    return this.outputs.map((o) => o()).join('\n---\n');
  }

  async dispose(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (proc) =>
          new Promise<void>((resolve) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
            proc.once('exit', () => resolve());
            proc.kill('SIGTERM');
            setTimeout(() => proc.kill('SIGKILL'), 5_000).unref();
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
