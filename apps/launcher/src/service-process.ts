import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Backoff, sleep, type Logger } from '@molten/kit';
import { spawnChild, stopChild } from './child-processes.js';
import { prettyLine } from './pretty-log.js';

export interface ServiceSpec {
  name: string;
  /** The built bundle (dist/<name>.mjs), run with plain node. */
  entry: string;
  env: NodeJS.ProcessEnv;
}

/** How long a service has to stop after SIGTERM before it is killed. */
export const SERVICE_STOP_BOUND_MS = 10_000;

/**
 * One service as a child process in its own process group: its JSON log shown as readable lines,
 * restarted with backoff when it crashes, stopped with SIGTERM (then SIGKILL after a bound) when
 * Molten stops.
 */
export class ServiceProcess {
  #child: ChildProcess | undefined;
  #stopping = false;
  readonly #backoff = new Backoff({ initialMs: 500, maxMs: 15_000 });

  constructor(
    readonly spec: ServiceSpec,
    private readonly log: Logger,
  ) {}

  start(): void {
    const child = spawnChild(process.execPath, ['--enable-source-maps', this.spec.entry], {
      env: this.spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    const startedAt = Date.now();
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prettyLine(this.spec.name, line)}\n`));
    }
    child.on('exit', (code, signal) => {
      this.#child = undefined;
      if (this.#stopping) return;
      if (Date.now() - startedAt > 30_000) this.#backoff.reset();
      const delay = this.#backoff.next();
      this.log.warn({ service: this.spec.name, code, signal, restartInMs: delay }, 'service exited; restarting');
      void sleep(delay).then(() => {
        if (!this.#stopping) this.start();
      });
    });
  }

  async stop(boundMs = SERVICE_STOP_BOUND_MS): Promise<void> {
    this.#stopping = true;
    if (this.#child) await stopChild(this.#child, boundMs);
  }
}
