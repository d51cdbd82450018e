import { defineConfig } from 'vitest/config';

/** The dashboard's end-to-end tests: Node drives Debian's Chromium against the whole stack. */
export default defineConfig({
  test: {
    name: 'dashboard-e2e',
    root: import.meta.dirname,
    include: ['**/*.e2e.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
