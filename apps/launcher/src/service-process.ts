import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Backoff, sleep, type Logger } from '@molten/kit';
import { prettyLine } from './pretty-log.js';

export interface ServiceSpec {
  name: string;
  /** The built bundle (dist/<name>.mjs), run with plain node. */
  entry: string;
  env: NodeJS.ProcessEnv;
}

const live = new Set<ChildProcess>();
// If the launcher itself dies, its services must not outlive it.
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * One service as a child process: its JSON log shown as readable lines, restarted with backoff
 * when it crashes, stopped with SIGTERM (then SIGKILL after a bound) when Molten stops.
 */
export class ServiceProcess {
  #child: ChildProcess | undefined;
  #stopping = false;
  readonly #backoff = new Backoff({ initialMs: 500, maxMs: 15_000 });
  /** Lines the service printed (for the launcher to read a token or URL from). */
  readonly onLine: ((line: string) => void)[] = [];

  constructor(
    readonly spec: ServiceSpec,
    private readonly log: Logger,
  ) {}

  start(): void {
    const child = spawn(process.execPath, ['--enable-source-maps', this.spec.entry], {
      env: this.spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C reaches only the launcher, which stops the services in
      // order (one SIGTERM each), instead of every process at once.
      detached: true,
    });
    this.#child = child;
    live.add(child);
    child.once('exit', () => live.delete(child));
    const startedAt = Date.now();
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        for (const f of this.onLine) f(line);
        process.stdout.write(`${prettyLine(this.spec.name, line)}\n`);
      });
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

  async stop(timeoutMs = 10_000): Promise<void> {
    this.#stopping = true;
    const child = this.#child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), timeoutMs).unref();
    });
  }
}
