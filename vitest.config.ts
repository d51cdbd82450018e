import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['proto/src/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'apps/launcher/src/**/*.test.ts', 'simulators/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'tests/src/**/*.test.ts', 'examples/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      // The dashboard's component tests run in Chromium (browser mode); its config lives beside it.
      'apps/dashboard/vitest.config.ts',
      // End to end in Chromium against the whole stack (needs the built dashboard: npm test builds it).
      'tests/dashboard-e2e/vitest.config.ts',
    ],
  },
});
