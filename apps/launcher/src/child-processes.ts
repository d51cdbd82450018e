import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const live = new Set<ChildProcess>();
// If the launcher itself dies (an uncaught error), nothing it started may outlive it.
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * Starts a child of the launcher in its own process group. A terminal's Ctrl-C goes to the
 * foreground group only, so it reaches the launcher alone, and the launcher stops its children
 * in order: the services first, the bus last (a nats-server that got the same Ctrl-C would go
 * away under the services' last publishes).
 */
export function spawnChild(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `boundMs`; resolves once the child has exited. */
export function stopChild(child: ChildProcess, boundMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), boundMs).unref();
  });
}
