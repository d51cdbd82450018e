import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * A benchmark's helper process (a simulator), forked with tsx and driven over the IPC channel:
 * `call(op, ...args)` sends `{ id, op, args }` and resolves to the child's `{ id, result }` (or
 * rejects with its `{ id, error }`). The child says `{ ready: true }` once it can take calls.
 * Simulators run out of the benchmark's process so their work never delays its timestamps,
 * and Molten's services reach them as they reach a real upstream: over a socket to another
 * process.
 */
export async function forkChild(script: URL, env: Record<string, string>) {
  const child = fork(fileURLToPath(script), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${script.pathname} exited (${code}) before it was ready`)));
    child.on('message', (m: { ready?: boolean; id?: number; result?: unknown; error?: string }) => {
      if (m.ready) return resolve();
      const p = pending.get(m.id!);
      pending.delete(m.id!);
      if (m.error) p?.reject(new Error(m.error));
      else p?.resolve(m.result);
    });
  });
  const call = <T>(op: string, ...args: unknown[]) =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, op, args });
    });
  return {
    pid: child.pid!,
    call,
    /** Asks the child to close (op `close`), then makes sure it is gone. */
    async close() {
      await call('close').catch(() => {});
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/** The child's side: answers each `{ id, op, args }` with `handle(op, args)`'s result, then says it is ready. */
export function serveParent(handle: (op: string, args: unknown[]) => Promise<unknown> | unknown): void {
  process.on('message', async (m: { id: number; op: string; args: unknown[] }) => {
    try {
      const result = await handle(m.op, m.args);
      process.send!({ id: m.id, result });
    } catch (err) {
      process.send!({ id: m.id, error: String(err) });
    }
  });
  process.send!({ ready: true });
}
