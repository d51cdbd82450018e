import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { Logger } from '@molten/kit';
import { newest } from './dashboard-build.js';

/** The services, as deployed: one bundle each, run with plain node (no TypeScript loader). */
export const SERVICES = {
  api: 'services/api/src/main.ts',
  'proxmox-adapter': 'services/proxmox-adapter/src/main.ts',
  'homelab-adapter': 'services/homelab-adapter/src/main.ts',
  'moltbot-adapter': 'services/moltbot-adapter/src/main.ts',
} as const;
export type ServiceName = keyof typeof SERVICES;

/** Third-party packages stay in node_modules; Molten's own workspace packages are bundled. */
const externals: Plugin = {
  name: 'molten-externals',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@molten/') ? undefined : { path: args.path, external: true }));
  },
};

/**
 * Keeps `import.meta.url` meaning "this source file" inside a bundle (modules find files beside
 * their sources: the .proto files, package.json), written relative to the bundle so the tree can
 * move. `isMain(import.meta.url)` keeps meaning the bundle, which is what is run.
 */
function sourceUrls(outdir: string): Plugin {
  return {
    name: 'molten-source-urls',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const rel = path.relative(outdir, args.path).split(path.sep).join('/');
        const contents = text.replace(/(isMain\()?import\.meta\.url/g, (m, isMain) =>
          isMain ? m : `new URL(${JSON.stringify(rel)}, import.meta.url).href`,
        );
        return { contents, loader: 'ts' };
      });
    },
  };
}

/** Builds the bundles when one is missing or older than any source it is made from. */
export async function ensureServicesBuilt(root: string, log: Logger): Promise<void> {
  const outdir = path.join(root, 'dist');
  const bundles = Object.keys(SERVICES).map((name) => path.join(outdir, `${name}.mjs`));
  const oldest = Math.min(...bundles.map((b) => (existsSync(b) ? statSync(b).mtimeMs : 0)));
  const sources = ['proto/src', 'packages', 'services'].map((d) => newest(path.join(root, d)));
  if (oldest > 0 && oldest >= Math.max(...sources)) return;
  log.info('building the services (first start, or their sources changed)…');
  await buildServices(root, outdir);
}

/** Bundles every service into <root>/dist/<name>.mjs (about a second). */
export async function buildServices(root: string, outdir = path.join(root, 'dist')): Promise<void> {
  await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(Object.entries(SERVICES).map(([name, entry]) => [name, entry])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // Dynamic imports stay lazy (their own chunks): a module a service only sometimes needs
    // (the MCP SDK for native MCP) costs no memory when it is not used.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [externals, sourceUrls(outdir)],
  });
}
