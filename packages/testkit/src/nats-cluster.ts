import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NATS_SERVER_MISSING, findExecutable } from '@molten/kit';
import { freePort, waitForPort } from './ports.js';

/** One server of a NatsCluster. */
export interface ClusterNode {
  /** Its server_name: what a stream's cluster info names as leader and replicas. */
  readonly name: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly url: string;
  /** Whether its process runs now. */
  readonly running: boolean;
}

interface NodeRun {
  name: string;
  port: number;
  clusterPort: number;
  config: string;
  proc: ChildProcess | undefined;
  log: string;
}

/**
 * A nats-server cluster with JetStream on 127.0.0.1: each node on free ports with its own store
 * directory and config file (server_name, a cluster block routing to every node). A node can be
 * killed and started again on the same ports and store, like a machine that crashed and came back.
 */
export class NatsCluster {
  readonly #nodes: NodeRun[];

  private constructor(
    nodes: NodeRun[],
    private readonly dir: string,
    private readonly bin: string,
  ) {
    this.#nodes = nodes;
  }

  /** Starts `size` nodes (default 3) and waits until each says it is ready. */
  static async start(opts: { size?: number; clusterName?: string } = {}): Promise<NatsCluster> {
    // A port picked free can be taken by another test before a node binds it: pick again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await NatsCluster.#start(opts);
      } catch (err) {
        if (attempt >= 3 || !/address already in use/i.test(String((err as Error).message))) throw err;
      }
    }
  }

  static async #start(opts: { size?: number; clusterName?: string }): Promise<NatsCluster> {
    const bin = findExecutable('nats-server');
    if (!bin) throw new Error(NATS_SERVER_MISSING);
    const size = opts.size ?? 3;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-nats-cluster-'));
    const ports = await Promise.all(Array.from({ length: size }, async () => ({ port: await freePort(), clusterPort: await freePort() })));
    const routes = ports.map((p) => `nats-route://127.0.0.1:${p.clusterPort}`);
    const nodes = ports.map(({ port, clusterPort }, i): NodeRun => {
      const name = `n${i + 1}`;
      const store = path.join(dir, name, 'store');
      mkdirSync(store, { recursive: true });
      const config = path.join(dir, name, 'nats.conf');
      writeFileSync(
        config,
        [
          `server_name: ${name}`,
          `listen: 127.0.0.1:${port}`,
          `jetstream { store_dir: ${JSON.stringify(store)} }`,
          `cluster {`,
          `  name: ${opts.clusterName ?? 'molten-test'}`,
          `  listen: 127.0.0.1:${clusterPort}`,
          `  routes: [${routes.map((r) => JSON.stringify(r)).join(', ')}]`,
          `}`,
          '',
        ].join('\n'),
      );
      return { name, port, clusterPort, config, proc: undefined, log: '' };
    });
    const cluster = new NatsCluster(nodes, dir, bin);
    try {
      await Promise.all(nodes.map((n) => cluster.#run(n)));
    } catch (err) {
      await cluster.dispose();
      throw err;
    }
    return cluster;
  }

  get nodes(): ClusterNode[] {
    return this.#nodes.map((n) => ({ name: n.name, port: n.port, clusterPort: n.clusterPort, url: `nats://127.0.0.1:${n.port}`, running: !!n.proc }));
  }

  /** NATS_URL for the whole cluster: every node, comma-separated. */
  get url(): string {
    return this.#nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(',');
  }

  /** A node's output so far (since its last start). */
  log(name: string): string {
    return this.#node(name).log;
  }

  /** Kills a node with SIGKILL (a crash) and waits for its process to end. */
  async kill(name: string): Promise<void> {
    const n = this.#node(name);
    const proc = n.proc;
    if (!proc) return;
    n.proc = undefined;
    await new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  }

  /** Starts a stopped node again, on its ports and store, and waits until it is ready. */
  async startAgain(name: string): Promise<void> {
    const n = this.#node(name);
    if (!n.proc) await this.#run(n);
  }

  async dispose(): Promise<void> {
    await Promise.all(
      this.#nodes.map(async (n) => {
        const proc = n.proc;
        n.proc = undefined;
        if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
        await new Promise<void>((resolve) => {
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
          setTimeout(() => proc.kill('SIGKILL'), 5_000).unref();
        });
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  #node(name: string): NodeRun {
    const n = this.#nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name} in this cluster (${this.#nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  async #run(n: NodeRun): Promise<void> {
    n.log = '';
    const proc = spawn(this.bin, ['-c', n.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (n.log += d));
    proc.stderr!.on('data', (d) => (n.log += d));
    n.proc = proc;
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code, signal) => reject(new Error(`nats-server ${n.name} exited (${code ?? signal}):\n${n.log}`))));
    exited.catch(() => {});
    await Promise.race([waitForPort(n.port, '127.0.0.1', 20_000), exited]);
    const deadline = Date.now() + 20_000;
    while (!/Server is ready/.test(n.log)) {
      if (Date.now() > deadline) throw new Error(`nats-server ${n.name} did not get ready:\n${n.log}`);
      await Promise.race([new Promise((r) => setTimeout(r, 20)), exited]);
    }
  }
}
