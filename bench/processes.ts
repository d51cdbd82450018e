import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICE_HEAP_FLAGS, SERVICE_MALLOC_ENV } from '@molten/launcher/node-options';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** CPU time a process has used so far (user + system), in ms, from /proc. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

export interface Service {
  name: string;
  child: ChildProcess;
  output(): string;
  /** Resident memory now and at its peak, in kB, from /proc. */
  rss(): { rssKb: number; peakKb: number };
  stop(): Promise<void>;
}

/** Runs a service's bundle (dist/<name>.mjs, see `npm run build`) as its own process, as deployed. */
export function runService(name: string, entry: string, env: Record<string, string>, nodeFlags: string[] = []): Service {
  // BENCH_PROFILE=<dir> writes a V8 CPU profile of each service there (open in Chrome DevTools).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE, '--cpu-prof-name', `${name}.cpuprofile`] : [];
  const sourceMaps = process.env.BENCH_SOURCE_MAPS === '0' ? [] : ['--enable-source-maps'];
  // The heap flags every service is deployed with (npm start, the images, the systemd units);
  // BENCH_NODE_FLAGS="--max-semi-space-size=1 …" replaces them (memory A/B; empty: Node's defaults),
  // BENCH_NODE_FLAGS_<SERVICE> (BENCH_NODE_FLAGS_PROXMOX_ADAPTER=…) one service's.
  const own = process.env[`BENCH_NODE_FLAGS_${name.toUpperCase().replace(/-/g, '_')}`];
  const benchFlags = (own ?? process.env.BENCH_NODE_FLAGS ?? SERVICE_HEAP_FLAGS).split(' ').filter(Boolean);
  // BENCH_DIST=<folder under the repo> runs the bundles built there instead of dist/ (an A/B
  // of two builds in one session: `buildServices(ROOT, path.join(ROOT, 'dist-before'))`).
  const bundle = process.env.BENCH_DIST ? entry.replace(/^dist\//, `${process.env.BENCH_DIST}/`) : entry;
  // The malloc settings the services are deployed with, as npm start gives them (BENCH_MALLOC_ENV=0: glibc's defaults).
  const mallocEnv = process.env.BENCH_MALLOC_ENV === '0' ? {} : SERVICE_MALLOC_ENV;
  const child = spawn(process.execPath, [...profile, ...benchFlags, ...nodeFlags, ...sourceMaps, path.join(ROOT, bundle)], {
    env: { ...mallocEnv, ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: ROOT,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
  return {
    name,
    child,
    output: () => out,
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
      return { rssKb: kb('VmRSS'), peakKb: kb('VmHWM') };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}
