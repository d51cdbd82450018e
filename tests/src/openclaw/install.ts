/**
 * Installs the real OpenClaw gateway, and the Node 24 it needs, into a cache folder outside the
 * repository: `${XDG_CACHE_HOME:-~/.cache}/molten/openclaw-<version>` (or MOLTEN_OPENCLAW_DIR).
 * Everything comes from the npm registry and is pinned by `tests/openclaw/`:
 * 1. Node 24: `npm pack node-linux-<arch>@<version>`, checked against the integrity recorded in
 *    package.json (`moltenNode`) and unpacked into `node/`.
 * 2. openclaw: `npm ci` from package-lock.json, run by that Node 24. Under the project's Node 20,
 *    npm would skip optional packages whose engines want Node 22+, among them fs-safe's native
 *    binding.
 * 3. Install scripts are skipped (`--ignore-scripts`) and the one that matters is run by hand:
 *    - openclaw's `postinstall` prunes stale dist files and clears `.openclaw-lifecycle-pending`
 *      (else the first start runs it). It downloads nothing.
 *    - openclaw's `preinstall` only checks the Node version.
 *    - koffi's `install` loads its bundled prebuilt binary and only when that fails builds with
 *      cmake after downloading Node headers from nodejs.org: skipped, the prebuilt one is used.
 *    - protobufjs's `postinstall` only checks versions.
 * The install happens in a fresh folder beside the target and is renamed into place when
 * complete, so an interrupted or concurrent install never leaves a half-installed gateway, and a
 * second run is instant.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findExecutable } from '@molten/kit';

const MANIFEST_DIR = fileURLToPath(new URL('../../openclaw/', import.meta.url));
const manifest = JSON.parse(readFileSync(path.join(MANIFEST_DIR, 'package.json'), 'utf8')) as {
  dependencies: { openclaw: string };
  moltenNode: Record<string, { version: string; integrity: string }>;
};

/** The gateway release the conformance suite is written against. */
export const OPENCLAW_VERSION = manifest.dependencies.openclaw;
/** The npm package that carries this platform's Node 24 binary. */
export const NODE_PACKAGE = `node-${process.platform}-${process.arch}`;
const nodePin = manifest.moltenNode[NODE_PACKAGE];
export const NODE_VERSION = nodePin?.version ?? Object.values(manifest.moltenNode)[0]!.version;

export interface OpenClawInstall {
  dir: string;
  /** Node 24, from the npm package. */
  node: string;
  /** openclaw.mjs, the package's executable. */
  entry: string;
  version: string;
  nodeVersion: string;
  /** False when it was installed already (the fast path). */
  installedNow: boolean;
  /** How long ensureOpenClaw took. */
  ms: number;
}

interface Marker {
  openclaw: string;
  node: string;
  nodePackage: string;
  installedAt: string;
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MOLTEN_OPENCLAW_DIR) return path.resolve(env.MOLTEN_OPENCLAW_DIR);
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'molten', `openclaw-${OPENCLAW_VERSION}`);
}

function layout(dir: string) {
  return {
    node: path.join(dir, 'node', 'bin', 'node'),
    entry: path.join(dir, 'node_modules', 'openclaw', 'openclaw.mjs'),
    marker: path.join(dir, '.molten-install.json'),
  };
}

function installed(dir: string): boolean {
  const l = layout(dir);
  try {
    const m = JSON.parse(readFileSync(l.marker, 'utf8')) as Marker;
    return m.openclaw === OPENCLAW_VERSION && m.node === NODE_VERSION && m.nodePackage === NODE_PACKAGE && existsSync(l.node) && existsSync(l.entry);
  } catch {
    return false;
  }
}

/** Runs a command; rejects with its output's tail when it fails. */
function run(cmd: string, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv; quiet?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-8_000);
      if (!o.quiet) process.stderr.write(d);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err) => reject(new Error(`${cmd} could not be started: ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`\`${cmd} ${args.join(' ')}\` failed (${signal ?? `exit ${code}`}):\n${out.trim()}`));
    });
  });
}

/** npm's own script (npm-cli.js), so it can be run by another Node. */
function npmCli(): string {
  const fromNpm = process.env.npm_execpath;
  if (fromNpm && path.basename(fromNpm) === 'npm-cli.js') return fromNpm;
  const onPath = findExecutable('npm');
  const cli = onPath ? realpathSync(onPath) : undefined;
  if (!cli || path.basename(cli) !== 'npm-cli.js') throw new Error('npm was not found on PATH (it comes with Node.js): install Node.js 20 or newer with its npm');
  return cli;
}

function sha512(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha512');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(`sha512-${h.digest('base64')}`));
  });
}

/**
 * Makes sure the pinned gateway is installed and returns where. Instant when it is; otherwise
 * an `npm ci` from the registry (about a minute; see docs/openclaw-conformance.md).
 */
export async function ensureOpenClaw(o: { dir?: string; log?: (line: string) => void; quiet?: boolean } = {}): Promise<OpenClawInstall> {
  const started = performance.now();
  const dir = o.dir ?? cacheDir();
  const result = (installedNow: boolean): OpenClawInstall => ({
    dir,
    ...layout(dir),
    version: OPENCLAW_VERSION,
    nodeVersion: NODE_VERSION,
    installedNow,
    ms: Math.round(performance.now() - started),
  });
  if (installed(dir)) return result(false);
  if (!nodePin) {
    throw new Error(
      `the real OpenClaw gateway needs Node 24, which npm carries for ${Object.keys(manifest.moltenNode).join(' and ')}; ` +
        `this machine is ${process.platform}-${process.arch}. Run the conformance suite on Linux (x64 or arm64).`,
    );
  }

  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  log(`installing OpenClaw ${OPENCLAW_VERSION} and Node ${NODE_VERSION} (${NODE_PACKAGE}) from the npm registry into ${dir}`);
  mkdirSync(path.dirname(dir), { recursive: true });
  const work = await mkdtemp(`${dir}.partial-`);
  try {
    const npm = npmCli();
    const l = layout(work);
    const quiet = o.quiet;

    await run(process.execPath, [npm, 'pack', `${NODE_PACKAGE}@${NODE_VERSION}`, '--pack-destination', work, '--loglevel=error'], { cwd: work, env: process.env, quiet: true });
    const tarball = path.join(work, (await readdir(work)).find((f) => f.endsWith('.tgz'))!);
    const integrity = await sha512(tarball);
    if (integrity !== nodePin.integrity) throw new Error(`${NODE_PACKAGE}@${NODE_VERSION} from the registry does not match the integrity in tests/openclaw/package.json (${integrity})`);
    const nodeDir = path.dirname(path.dirname(l.node));
    mkdirSync(nodeDir);
    await run('tar', ['-xzf', tarball, '-C', nodeDir, '--strip-components=1'], { cwd: work, env: process.env, quiet });
    await rm(tarball);

    await copyFile(path.join(MANIFEST_DIR, 'package.json'), path.join(work, 'package.json'));
    await copyFile(path.join(MANIFEST_DIR, 'package-lock.json'), path.join(work, 'package-lock.json'));
    const env = { ...process.env, PATH: `${path.dirname(l.node)}${path.delimiter}${process.env.PATH ?? ''}` };
    await run(l.node, [npm, 'ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: work, env, quiet });
    await run(l.node, ['scripts/postinstall-bundled-plugins.mjs'], { cwd: path.join(work, 'node_modules', 'openclaw'), env, quiet });

    const marker: Marker = { openclaw: OPENCLAW_VERSION, node: NODE_VERSION, nodePackage: NODE_PACKAGE, installedAt: new Date().toISOString() };
    await writeFile(l.marker, JSON.stringify(marker, null, 2));
    try {
      await rename(work, dir);
    } catch {
      // Another install finished first (keep it), or a broken one is in the way (replace it).
      if (!installed(dir)) {
        await rm(dir, { recursive: true, force: true });
        await rename(work, dir);
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const r = result(true);
  log(`OpenClaw ${OPENCLAW_VERSION} installed in ${(r.ms / 1000).toFixed(1)} s`);
  return r;
}

