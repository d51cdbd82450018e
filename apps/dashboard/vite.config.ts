import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

const api = process.env.MOLTEN_API_URL ?? 'http://127.0.0.1:3003';

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    // The api and the dashboard share one origin in production; in development Vite forwards /api.
    proxy: { '/api': { target: api, changeOrigin: false } },
  },
});
