import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    const conf = readFileSync(NATS_CONF, 'utf8')
      .replace(/^listen: .*$/m, `listen: 127.0.0.1:${port}`)
      .replace(/^http: .*$/m, `http: 127.0.0.1:${monitor}`)
      .replace(/store_dir: .*$/m, `store_dir: ${JSON.stringify(path.join(dir, 'store'))}`);
    if (!conf.includes(`listen: 127.0.0.1:${port}`) || !conf.includes(`http: 127.0.0.1:${monitor}`) || !conf.includes(path.join(dir, 'store'))) {
      throw new Error('deploy/nats/nats.conf no longer has the listen, http and store_dir lines this test rewrites');
    }
    const file = path.join(dir, 'nats.conf');
    writeFileSync(file, conf);
    const passwords = Object.fromEntries(Object.keys(PASSWORD_VARS).map((u) => [u, `${u}-test-password-${Math.random().toString(36).slice(2)}`])) as Record<NatsUser, string>;
    const env = { ...process.env, ...Object.fromEntries(Object.entries(PASSWORD_VARS).map(([u, v]) => [v, passwords[u as NatsUser]])) };
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
