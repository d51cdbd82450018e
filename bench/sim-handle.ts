import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GuestView, PveSimulatorOptions } from '@molten/simulators/pve';

/** A handle on the simulator running in sim-process.ts, in its own process. */
export async function startSimProcess(options: PveSimulatorOptions) {
  const worker = fork(fileURLToPath(new URL('./sim-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, SIM_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: { ready?: boolean; id?: number; result?: unknown; error?: string }) => {
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
      worker.send({ id, op, args });
    });
  const info = await call<{ url: string; caFile?: string }>('info');
  return {
    ...info,
    pid: worker.pid!,
    guests: () => call<GuestView[]>('guests'),
    status: (vmid: number) => call<'running' | 'stopped' | undefined>('status', vmid),
    /** Changes a guest's status; resolves to when it changed, on this thread's performance clock. */
    setStatus: async (vmid: number, status: 'running' | 'stopped') => (await call<number>('setStatus', vmid, status)) - performance.timeOrigin,
    /** Moves the CPU of `count` running guests by a visible step; resolves to how many moved. */
    churn: (count: number) => call<number>('churn', count),
    setTaskDurations: (d: Record<string, number>) => call<void>('setTaskDurations', d),
    clearRequests: () => call<void>('clearRequests'),
    /** Requests whose path matches `path` (a regular expression's source), for one guest or all. */
    countRequests: (path: string, vmid?: number) => call<number>('countRequests', path, vmid),
    requestCounts: () => call<{ total: number; resources: number }>('requestCounts'),
    async close() {
      await call('close').catch(() => {});
      if (worker.exitCode === null) worker.kill('SIGTERM');
    },
  };
}
