import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { operatorToken } from '@molten/api/tokens';
import { ConfigError, createLogger, dataDir, onShutdown } from '@molten/kit';
import { ensureServicesBuilt } from './build-services.js';
import { closingBlock, type RunningStack } from './closing-block.js';
import { ensureDashboardBuilt } from './dashboard-build.js';
import { startDemoConsole } from './demo-console.js';
import { startDemoUpstreams, type SimulatedUpstream } from './demo-upstreams.js';
import { portFree, startLocalNats } from './local-nats.js';
import { prettyLine } from './pretty-log.js';
import { waitForAdapters, waitForHealth } from './readiness.js';
import { SERVICE_MALLOC_ENV, serviceNodeOptions } from './node-options.js';
import { ServiceProcess } from './service-process.js';
import { configuredUpstreams, notConfigured } from './upstreams.js';

/**
 * npm start: everything on one machine. A local nats-server with JetStream unless NATS_URL is
 * set, locked with a NATS user per service (deploy/nats/nats.conf; passwords generated into the
 * data directory); simulated upstreams for whatever is not configured (demo mode); the api with
 * the built dashboard, then every adapter. Prints where to go and with which token once every
 * adapter has reported to the api. SIGINT (Ctrl-C), SIGTERM (a supervisor; npm forwards it here,
 * since the start script execs this process) and SIGHUP (the terminal closed) stop it all in
 * order: the api, the adapters, the simulators, the bus.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const log = createLogger('molten', {
  level: process.env.LOG_LEVEL ?? 'info',
  destination: { write: (line: string) => process.stdout.write(`${prettyLine('molten', line.trimEnd())}\n`) },
});
const shutdown = onShutdown(log, { timeoutMs: 15_000 });
// The services run in their own process groups: a closed terminal's SIGHUP reaches only this
// process, which must take them down with it.
process.once('SIGHUP', () => void shutdown.stop('SIGHUP').then(() => process.exit(0)));

async function main() {
  const source = process.env;
  const dir = dataDir(source);
  const host = source.MOLTEN_HOST || '127.0.0.1';
  const port = Number(source.MOLTEN_PORT || 3003);
  const grpcPort = Number(source.MOLTEN_GRPC_PORT || 50051);
  for (const [p, name] of [
    [port, 'MOLTEN_PORT'],
    [grpcPort, 'MOLTEN_GRPC_PORT'],
  ] as const) {
    if (p !== 0 && !(await portFree(p, host))) throw new ConfigError(`port ${p} on ${host} is in use; stop what uses it or set ${name} to another port`);
  }

  const configured = configuredUpstreams(source);
  const demo = source.MOLTEN_DEMO ? /^(1|true|yes)$/i.test(source.MOLTEN_DEMO) : configured.length === 0;

  // Each service gets its own NATS user on the local bus; a configured NATS_URL (and whatever
  // credentials it holds) is the user's to give, and every service gets it as it is.
  let nats: RunningStack['nats'];
  let busUrl: (service: string) => string;
  if (source.NATS_URL) {
    const external = source.NATS_URL;
    nats = { url: external };
    busUrl = () => external;
  } else {
    const local = await startLocalNats(dir, log, { avoid: [port, grpcPort] });
    shutdown.add('nats-server', () => local.stop());
    nats = { url: local.url, localStore: local.store, passwordsFile: local.passwordsFile };
    busUrl = (service) => local.urlFor(service);
  }

  // The token is settled here, before the api starts, so that only this block prints it (the
  // api prints a token it generates itself, for when it runs alone).
  let token: RunningStack['token'] = 'configured';
  if (!source.MOLTEN_TOKEN) {
    const op = operatorToken(undefined, dir);
    token = { value: op.token, file: op.file, generated: op.generated };
  }

  const env: NodeJS.ProcessEnv = { ...source, MOLTEN_DATA_DIR: dir, MOLTEN_HOST: host, MOLTEN_PORT: String(port), MOLTEN_GRPC_PORT: String(grpcPort) };
  let simulated: SimulatedUpstream[] = [];
  if (demo) {
    const sims = await startDemoUpstreams(source, log);
    shutdown.add('simulators', () => sims.stop());
    Object.assign(env, sims.env, { MOLTEN_DEMO: '1' });
    simulated = sims.upstreams;
  }

  await ensureServicesBuilt(ROOT, log);
  await ensureDashboardBuilt(path.join(ROOT, 'apps/dashboard'), log).catch((err) =>
    log.error({ err }, 'the dashboard could not be built; the API works, the dashboard page will say so'),
  );

  const run = (name: string) => {
    const s = new ServiceProcess({ name, entry: path.join(ROOT, `dist/${name}.mjs`), env: { ...SERVICE_MALLOC_ENV, ...env, NATS_URL: busUrl(name), NODE_OPTIONS: serviceNodeOptions(source.NODE_OPTIONS) } }, log);
    s.start();
    return s;
  };
  const adapters: ServiceProcess[] = [];
  let adaptersStopped = false;
  shutdown.add('adapters', () => {
    adaptersStopped = true;
    return Promise.all(adapters.map((s) => s.stop())).then(() => undefined);
  });
  // Started first, as in a deployment: the api provisions the streams and buckets, which an
  // adapter's NATS user may not create. Stopped first: no new command is taken while the
  // adapters finish theirs.
  const api = run('api');
  shutdown.add('api', () => api.stop());
  const url = `http://${host}:${port}`;
  await waitForHealth(url);
  const adaptersStarted = Date.now();
  if (!adaptersStopped) {
    if (env.PVE_URL || env.PROXMOX_MCP_URL) adapters.push(run('proxmox-adapter'));
    if (env.HOMELAB_MCP_URL || env.MOLTEN_CONFIG) adapters.push(run('homelab-adapter'));
    if (env.MOLTBOT_URL) adapters.push(run('moltbot-adapter'));
  }
  const bearer = token === 'configured' ? source.MOLTEN_TOKEN! : token.value;
  await waitForAdapters(url, bearer, adapters.map((s) => s.spec.name), adaptersStarted, log);
  const consoleNames = simulated.map((u) => u.name);
  process.stdout.write(
    closingBlock({
      url,
      grpc: `${host}:${grpcPort}`,
      token,
      nats,
      agentEndpoint: !!source.MOLTEN_AGENT_TOKEN,
      demo,
      upstreams: [...configured, ...simulated],
      notConfigured: notConfigured(source, simulated),
      services: [api, ...adapters].map((s) => s.spec.name),
      consoleNames,
    }),
  );
  if (consoleNames.length) {
    const demoConsole = startDemoConsole(process.stdin, simulated, log);
    shutdown.add('demo console', () => demoConsole.close());
  }
}

main().catch(async (err) => {
  if (err instanceof ConfigError || /nats-server was not found/.test(String(err?.message))) {
    process.stderr.write(`\n  ${err.message}\n\n`);
  } else {
    log.fatal({ err }, 'Molten failed to start');
  }
  await shutdown.stop('start failed');
  process.exit(1);
});
