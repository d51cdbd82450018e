import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServices } from './build-services.js';

// npm run build: the service bundles (dist/*.mjs). The dashboard builds with its own vite.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const started = performance.now();
await buildServices(root);
process.stdout.write(`built dist/*.mjs in ${Math.round(performance.now() - started)} ms\n`);
