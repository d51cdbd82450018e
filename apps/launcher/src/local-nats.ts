import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { NATS_SERVER_MISSING, findExecutable, type Logger } from '@molten/kit';
import { spawnChild, stopChild } from './child-processes.js';
import { readDeployNatsConf } from './deploy-nats-conf.js';
import { localNatsPasswords } from './local-nats-passwords.js';

export const NATS_STOP_BOUND_MS = 5_000;
export const SERVER_CONF_FILE = 'nats-server.conf';

export interface LocalNats {
  /** Where it listens, without credentials: what may be shown. */
  url: string;
  /** NATS_URL for one user of deploy/nats/nats.conf (a service's own name): its own password inside. */
  urlFor(user: string): string;
  /** The users' passwords (mode 0600). */
  passwordsFile: string;
  /** The JetStream store. */
  store: string;
  stop(): Promise<void>;
}

/**
 * A nats-server with JetStream for one machine, locked as a deployment's is: it runs
 * deploy/nats/nats.conf (one user per service, each holding only the subjects it needs) with
 * passwords generated into the data directory, listens on 127.0.0.1 only, and serves no
 * monitoring port. Its store is under the data directory.
 */
export async function startLocalNats(dataDir: string, log: Logger, opts: { port?: number; natsConf?: string; avoid?: readonly number[] } = {}): Promise<LocalNats> {
  const bin = findExecutable('nats-server');
  if (!bin) throw new Error(NATS_SERVER_MISSING);
  const conf = readDeployNatsConf(opts.natsConf);
  const passwords = localNatsPasswords(dataDir, Object.values(conf.passwordVars));
  if (passwords.generated.length) log.info({ file: passwords.file }, 'generated a NATS password for each service of the local bus');
  const store = path.join(dataDir, 'nats');
  mkdirSync(store, { recursive: true });
  adoptUnlockedStore(store, conf.account, log);
  const env = { ...process.env, ...passwords.values, [conf.storeDirVar]: store };
  const start = (port: number) => runNats(bin, writeServerConf(dataDir, conf.file, port), env, log);
  // 4222 is NATS's own port, so URLs look familiar; when something has it, the server picks a
  // free port itself (-1), which leaves no moment for another process to take it first.
  // A port the stack's other services are configured to listen on (the api's, gRPC's) is never
  // taken, though it is free now: the kernel may hand it out as a free port, and the service
  // that starts next would find it in use.
  const avoid = new Set(opts.avoid ?? []);
  const preferred = opts.port ?? 4222;
  let server: RunningNats;
  try {
    server = await start(preferred > 0 && !avoid.has(preferred) && (await portFree(preferred)) ? preferred : -1);
  } catch (err) {
    if (!(err instanceof PortTaken)) throw err;
    server = await start(-1);
  }
  for (let tries = 1; avoid.has(server.port); tries++) {
    await stopChild(server.child, NATS_STOP_BOUND_MS);
    if (tries === 5) throw new Error(`the local nats-server was given port ${server.port} five times, which another service of the stack is configured to use`);
    server = await start(-1);
  }
  const url = `nats://127.0.0.1:${server.port}`;
  log.info({ url, store, passwords: passwords.file }, 'local nats-server with JetStream running, one user per service');
  return {
    url,
    urlFor: (user) => {
      const v = conf.passwordVars[user];
      if (!v) throw new Error(`${conf.file} has no NATS user "${user}"`);
      return `nats://${user}:${passwords.values[v]}@127.0.0.1:${server.port}`;
    },
    passwordsFile: passwords.file,
    store,
    stop: () => stopChild(server.child, NATS_STOP_BOUND_MS),
  };
}

/**
 * The server's config: deploy/nats/nats.conf as it is (users, permissions, JetStream limits),
 * then what differs on one machine. Written at every start (mode 0600), as the repository may
 * have moved; an include is resolved from the including file's folder.
 */
function writeServerConf(dataDir: string, deployConf: string, port: number): string {
  const file = path.join(dataDir, SERVER_CONF_FILE);
  const text = [
    '# Written by npm start (apps/launcher/src/local-nats.ts) at every start; edits are lost.',
    '# Users, permissions and JetStream come from Molten\'s deploy/nats/nats.conf; passwords from',
    '# the environment, generated into nats.env beside this file.',
    `include ${JSON.stringify(path.relative(dataDir, deployConf))}`,
    'server_name: molten-local',
    '# This machine only; no monitoring port.',
    `listen: "127.0.0.1:${port}"`,
    'http: 0',
    '',
  ].join('\n');
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

/**
 * A store written by an npm start from before the bus had users holds its streams in the global
 * account ($G); the services now use the users' account. Moving the folder keeps the command
 * history and events (JetStream keeps nothing account-specific inside it).
 */
function adoptUnlockedStore(store: string, account: string, log: Logger): void {
  const unlocked = path.join(store, 'jetstream', '$G');
  const target = path.join(store, 'jetstream', account);
  if (!existsSync(unlocked) || existsSync(target)) return;
  renameSync(unlocked, target);
  log.info({ store }, `moved the bus store of an earlier npm start (one without NATS users) into account ${account}`);
}

class PortTaken extends Error {}
type RunningNats = { child: ReturnType<typeof spawnChild>; port: number };

async function runNats(bin: string, confFile: string, env: NodeJS.ProcessEnv, log: Logger): Promise<RunningNats> {
  const child = spawnChild(bin, ['-c', confFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let ready = false;
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      // Only the start is kept; afterwards only what says the lock held: a client without the
      // right password, or one publishing or subscribing beyond its permissions (a missing
      // permission, or someone trying). These lines name the user, never a password.
      if (!ready && output.length < 64_000) output += `${line}\n`;
      if (/authentication error|Violation/.test(line)) log.warn({ nats: line.replace(/^\[\d+\] \S+ \S+ \[\w+\] /, '') }, 'the local nats-server refused a client');
    });
  }
  const deadline = Date.now() + 15_000;
  while (!/Server is ready/.test(output)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (/address already in use/i.test(output)) throw new PortTaken(`port is in use`);
      throw new Error(`nats-server exited: ${output.trim().split('\n').slice(-3).join(' ')}`);
    }
    if (Date.now() > deadline) {
      await stopChild(child, NATS_STOP_BOUND_MS);
      throw new Error(`nats-server did not start within 15 s: ${output.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  ready = true;
  const listening = /Listening for client connections on [^\s]+:(\d+)/.exec(output);
  if (!listening) {
    await stopChild(child, NATS_STOP_BOUND_MS);
    throw new Error(`nats-server started but did not say its client port: ${output.slice(-500)}`);
  }
  return { child, port: Number(listening[1]) };
}

export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}
