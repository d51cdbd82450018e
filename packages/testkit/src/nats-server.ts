import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NATS_SERVER_MISSING, findExecutable } from '@molten/kit';
import { freePort, waitForPort } from './ports.js';

/**
 * A real nats-server with JetStream on a free port of 127.0.0.1, its store in a temp dir. It can
 * be stopped and started again on the same port and store, like a server restart.
 */
export class NatsServer {
  #proc: ChildProcess | undefined;
  #log = '';

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    private readonly bin: string,
    /** The HTTP monitoring port (/varz, /connz), when asked for one. */
    readonly monitorPort?: number,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The server process's pid while it runs (for resource measurements). */
  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  get log(): string {
    return this.#log;
  }

  /** The server's HTTP monitoring endpoint (e.g. `${monitorUrl}/connz`), when started with `monitor`. */
  get monitorUrl(): string | undefined {
    return this.monitorPort === undefined ? undefined : `http://127.0.0.1:${this.monitorPort}`;
  }

  /** `monitor`: also serve nats-server's HTTP monitoring (per-connection message counts, for benchmarks). */
  static async start(opts: { port?: number; storeDir?: string; monitor?: boolean } = {}): Promise<NatsServer> {
    const bin = findExecutable('nats-server');
    if (!bin) throw new Error(NATS_SERVER_MISSING);
    const server = new NatsServer(
      opts.port ?? (await freePort()),
      opts.storeDir ?? mkdtempSync(path.join(os.tmpdir(), 'molten-nats-')),
      bin,
      opts.monitor ? await freePort() : undefined,
    );
    await server.startAgain();
    return server;
  }

  async startAgain(): Promise<void> {
    if (this.#proc) return;
    const monitor = this.monitorPort === undefined ? [] : ['-m', String(this.monitorPort)];
    const proc = spawn(this.bin, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir, ...monitor], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d) => (this.#log += d));
    proc.stderr!.on('data', (d) => (this.#log += d));
    this.#proc = proc;
    await waitForPort(this.port);
    // JetStream answers a moment after the port opens.
    const deadline = Date.now() + 10_000;
    while (!/Server is ready/.test(this.#log)) {
      if (Date.now() > deadline) throw new Error(`nats-server did not get ready:\n${this.#log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops the server (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    this.#proc = undefined;
    this.#log = '';
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 5_000).unref();
    });
  }

  /** Kills the server with SIGKILL (a crash: nothing is flushed or closed) and waits for it to exit. */
  async kill(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    this.#proc = undefined;
    this.#log = '';
    await new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.startAgain();
  }

  /** Stops the server and removes its store. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
