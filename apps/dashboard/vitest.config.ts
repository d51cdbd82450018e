import path from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

const here = import.meta.dirname;

/** Debian's Chromium, never a downloaded browser. */
export const chromiumArgs = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Component and state tests in real Chromium. The plain Svelte plugin (not SvelteKit's) so the
 * tests run the same from this folder and from the repository root (`vitest run` there);
 * what they test does not import $app/*.
 */
export default defineConfig({
  root: here,
  plugins: [svelte({ configFile: path.join(here, 'svelte.config.js') })],
  resolve: { alias: { $lib: path.join(here, 'src/lib') } },
  test: {
    name: 'dashboard',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/lib/test/setup.ts'],
    testTimeout: 20_000,
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      viewport: { width: 1280, height: 900 },
      provider: playwright({
        launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: chromiumArgs },
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
});
