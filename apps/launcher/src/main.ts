import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, createLogger, dataDir, onShutdown } from '@molten/kit';
import { ensureServicesBuilt } from './build-services.js';
import { ensureDashboardBuilt } from './dashboard-build.js';
import { startDemoUpstreams } from './demo-upstreams.js';
import { portFree, startLocalNats } from './local-nats.js';
import { prettyLine } from './pretty-log.js';
import { ServiceProcess } from './service-process.js';

/**
 * npm start: everything on one machine. A local nats-server with JetStream unless NATS_URL is
 * set; simulated upstreams for whatever is not configured (demo mode); every adapter; the api
 * with the built dashboard. Prints where to go and with which token; Ctrl-C stops it all.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const log = createLogger('molten', {
  level: process.env.LOG_LEVEL ?? 'info',
  destination: { write: (line: string) => process.stdout.write(`${prettyLine('molten', line.trimEnd())}\n`) },
});
const shutdown = onShutdown(log, { timeoutMs: 15_000 });

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

  const configured = ['PVE_URL', 'PROXMOX_MCP_URL', 'HOMELAB_MCP_URL', 'MOLTBOT_URL', 'MOLTEN_CONFIG'].filter((k) => source[k]);
  const demo = source.MOLTEN_DEMO ? /^(1|true|yes)$/i.test(source.MOLTEN_DEMO) : configured.length === 0;

  let natsUrl = source.NATS_URL;
  if (!natsUrl) {
    const nats = await startLocalNats(dir, log);
    natsUrl = nats.url;
    shutdown.add('nats-server', () => nats.stop());
  }

  const env: NodeJS.ProcessEnv = { ...source, NATS_URL: natsUrl, MOLTEN_DATA_DIR: dir, MOLTEN_HOST: host, MOLTEN_PORT: String(port), MOLTEN_GRPC_PORT: String(grpcPort) };
  let upstreams: string[] = [];
  if (demo) {
    const sims = await startDemoUpstreams(source, log);
    shutdown.add('simulators', () => sims.stop());
    Object.assign(env, sims.env, { MOLTEN_DEMO: '1' });
    upstreams = sims.describe;
  }

  await ensureServicesBuilt(ROOT, log);
  await ensureDashboardBuilt(path.join(ROOT, 'apps/dashboard'), log).catch((err) =>
    log.error({ err }, 'the dashboard could not be built; the API works, the dashboard page will say so'),
  );

  const services: ServiceProcess[] = [];
  const run = (name: string, entry: string) => {
    const s = new ServiceProcess({ name, entry: path.join(ROOT, entry), env }, log);
    services.push(s);
    s.start();
    return s;
  };
  if (env.PVE_URL || env.PROXMOX_MCP_URL) run('proxmox-adapter', 'dist/proxmox-adapter.mjs');
  if (env.HOMELAB_MCP_URL || env.MOLTEN_CONFIG) run('homelab-adapter', 'dist/homelab-adapter.mjs');
  if (env.MOLTBOT_URL) run('moltbot-adapter', 'dist/moltbot-adapter.mjs');
  run('api', 'dist/api.mjs');
  shutdown.add('services', () => Promise.all(services.map((s) => s.stop())).then(() => undefined));

  const url = `http://${host}:${port}`;
  await waitForHealth(url);
  const token = source.MOLTEN_TOKEN ? '(your MOLTEN_TOKEN)' : readFileSync(path.join(dir, 'operator-token'), 'utf8').trim();
  const lines = [
    '',
    `  Molten is running${demo ? ' — demo mode: the upstreams below are simulated' : ''}`,
    '',
    `  Dashboard   ${url}`,
    `  API         ${url}/api   (docs/api.md)`,
    `  gRPC        ${host}:${grpcPort}`,
    `  Token       ${token}   (operator; sign in with it, or send "Authorization: Bearer <token>")`,
    `  NATS        ${natsUrl}${source.NATS_URL ? '' : `   (local, data in ${path.join(dir, 'nats')})`}`,
    ...upstreams.map((u) => `  ${u}`),
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function waitForHealth(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`the api did not answer on ${url} within ${timeoutMs / 1000} s; see its log lines above`);
    await new Promise((r) => setTimeout(r, 250));
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
