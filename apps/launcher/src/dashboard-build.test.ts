import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runQuietly } from './dashboard-build.js';

const NOISY = 'console.log("Run npm run preview to preview your production build locally."); console.error("[PLUGIN_TIMINGS] slow")';

describe('runQuietly', () => {
  it('shows nothing of a build step that succeeds', () => {
    // In a process of its own, so what reaches its stdout and stderr (inherited or written) is seen.
    const script = `import { runQuietly } from './dashboard-build.ts';
      await runQuietly(process.execPath, ['-e', ${JSON.stringify(NOISY)}], '.', 'the build');
      console.log('done');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: import.meta.dirname, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toBe('');
  });

  it('fails with the end of the output, where the reason is', async () => {
    const err = await runQuietly(process.execPath, ['-e', 'console.log("transforming…"); console.error("src/app.ts:3:1: Unexpected token"); process.exit(2)'], process.cwd(), 'the dashboard build').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^the dashboard build failed \(exit 2\):\n/);
    expect((err as Error).message).toContain('src/app.ts:3:1: Unexpected token');
  });
});
