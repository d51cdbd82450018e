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
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(appDir, '../../node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
      cwd: appDir,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`dashboard build failed (exit ${code})`))));
  });
}
