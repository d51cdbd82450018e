import type { GuestView, PveSimulatorOptions } from '@molten/simulators/pve';
import { forkChild } from './child-handle.js';

/**
 * A handle on the simulator running in sim-process.ts, in its own process. Its request log keeps
 * every request of a bench (the simulator's default keeps the last 10,000): the benches count
 * polls and requests per command as differences of counts over the log, which a log that drops
 * its oldest entries turns into nonsense once it is full (a whole `npm run bench` makes tens of
 * thousands of requests).
 */
export async function startSimProcess(options: PveSimulatorOptions) {
  const child = await forkChild(new URL('./sim-process.ts', import.meta.url), { SIM_OPTIONS: JSON.stringify({ requestLogLimit: 5_000_000, ...options }) });
  const { call } = child;
  const info = await call<{ url: string; caFile?: string }>('info');
  return {
    ...info,
    pid: child.pid,
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
    close: child.close,
  };
}

/** The homelab MCP simulator in mcp-sim-process.ts, in its own process. */
export async function startMcpSimProcess() {
  const child = await forkChild(new URL('./mcp-sim-process.ts', import.meta.url), {});
  return {
    url: await child.call<string>('url'),
    pid: child.pid,
    /** How many times the server was asked to call `tool` (tools/call requests). */
    toolCalls: (tool: string) => child.call<number>('toolCalls', tool),
    close: child.close,
  };
}
