import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@molten/kit';

export function newest(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'build' || name === '.svelte-kit' || name === 'dist') continue;
    const full = path.join(dir, name);
    const s = statSync(full);
    t = Math.max(t, s.isDirectory() ? newest(full) : s.mtimeMs);
  }
  return t;
}

/** Builds the dashboard when its build is missing or older than its sources. */
export async function ensureDashboardBuilt(appDir: string, log: Logger): Promise<void> {
  const index = path.join(appDir, 'build', 'index.html');
  if (!existsSync(path.join(appDir, 'src'))) return;
  if (existsSync(index) && statSync(index).mtimeMs >= newest(appDir)) return;
  log.info('building the dashboard (first start, or its sources changed)…');
  await runQuietly(process.execPath, [path.join(appDir, '../../node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], appDir, 'the dashboard build');
}

/**
 * Runs a build step without showing its output ("Run npm run preview…", plugin timings: advice
 * for someone running the tool by hand, noise in npm start). When it fails, the error carries
 * the end of that output, which is where the reason is.
 */
export function runQuietly(command: string, args: string[], cwd: string, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (d: Buffer) => {
      output = (output + d).slice(-20_000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const tail = output.trim().split('\n').slice(-30).join('\n');
      reject(new Error(`${what} failed (${signal ?? `exit ${code}`}):\n${tail}`));
    });
  });
}
