import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CommandStore, CommandWorker, connectBus, startHeartbeat, submitCommand, type Bus } from '@molten/bus';
import { isTerminal } from '@molten/contracts';
import { adapterEnv, findExecutable } from '@molten/kit';
import { SERVICES as BUNDLED } from '@molten/launcher/build-services';
import { SERVICE_HEAP_FLAGS, SERVICE_MALLOC_ENV } from '@molten/launcher/node-options';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';
import { probe } from '../../deploy/probe/adapter-heartbeat.js';
import { DeployedNatsCluster } from './support/deploy-nats.js';
import { REPO_ROOT } from './support/processes.js';

/**
 * What cannot run here (no Docker engine, no cluster) is checked for what it refers to: images
 * the Dockerfile builds, environment variables the services read, ports that exist, files that
 * exist, two replicas and probes for every adapter.
 */
const DEPLOY = path.join(REPO_ROOT, 'deploy');
const read = (p: string) => readFileSync(path.join(REPO_ROOT, p), 'utf8');

const SERVICES = ['api', 'proxmox-adapter', 'homelab-adapter', 'moltbot-adapter'] as const;
type Service = (typeof SERVICES)[number];
const DOMAIN: Record<Exclude<Service, 'api'>, string> = { 'proxmox-adapter': 'proxmox', 'homelab-adapter': 'mcp', 'moltbot-adapter': 'moltbot' };
const isAdapter = (s: string): s is Exclude<Service, 'api'> => s in DOMAIN;

/** The variables a service's config.ts parses: the keys of its zod schema. */
function configVars(service: Service): Set<string> {
  const src = read(`services/${service}/src/config.ts`);
  const vars = new Set([...src.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!));
  if (vars.size < 3) throw new Error(`found only ${[...vars].join(', ')} in services/${service}/src/config.ts: has its schema changed shape?`);
  return vars;
}

/** Variables the shared kit reads for every service (data dir, instance name, log level). */
const KIT_VARS = new Set(
  readdirSync(path.join(REPO_ROOT, 'packages/kit/src'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .flatMap((f) => [...read(`packages/kit/src/${f}`).matchAll(/(?:source|process\.env)\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!)),
);
/** Node.js's own variables, and glibc malloc's (SERVICE_MALLOC_ENV), which images set. */
const NODE_VARS = new Set(['NODE_ENV', 'NODE_OPTIONS', ...Object.keys(SERVICE_MALLOC_ENV)]);

/** Variables every adapter's config reads through the kit's shared fragment. */
const ADAPTER_VARS = new Set(Object.keys(adapterEnv));

/** Variables every service's bus connection reads for the streams it provisions (provisionOptionsFromEnv). */
const BUS_VARS = new Set([...read('packages/bus/src/provision.ts').matchAll(/\b(MOLTEN_[A-Z0-9_]+)\b/g)].map((m) => m[1]!));

const readsVar = (service: Service, name: string) =>
  configVars(service).has(name) || (isAdapter(service) && ADAPTER_VARS.has(name)) || KIT_VARS.has(name) || BUS_VARS.has(name) || NODE_VARS.has(name);

/** nats-server reads the $VARIABLES a config uses but does not define from the environment. */
const confVars = (conf: string) => {
  const defined = new Set([...conf.matchAll(/^([A-Z][A-Z0-9_]+)\s*=/gm)].map((m) => m[1]!));
  return new Set([...conf.matchAll(/[:[,]\s*\$([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!).filter((v) => !defined.has(v)));
};
const NATS_CONF = read('deploy/nats/nats.conf');
const NATS_CLUSTER_CONF = read('deploy/nats/cluster/nats-cluster.conf');
/** What nats.conf reads, all from env/nats.env. */
const NATS_ENV_VARS = confVars(NATS_CONF);
/** What each node of a cluster sets itself (its name, the routes built with the route password). */
const NATS_NODE_VARS = new Set([...confVars(NATS_CLUSTER_CONF)].filter((v) => v === 'MOLTEN_NATS_SERVER_NAME' || /^MOLTEN_NATS_ROUTE_\d+$/.test(v)));
/** What a nats-server of Molten's reads: nats.conf's, and a cluster node's. */
const NATS_VARS = new Set([...NATS_ENV_VARS, ...confVars(NATS_CLUSTER_CONF)]);

/** KEY=value lines of an env file (comments skipped, commented-out keys listed too). */
function envFile(p: string): { set: Map<string, string>; all: Set<string> } {
  const set = new Map<string, string>();
  const all = new Set<string>();
  for (const line of read(p).split('\n')) {
    const m = /^\s*(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    all.add(m[2]!);
    if (!m[1]) set.set(m[2]!, m[3]!);
  }
  return { set, all };
}

/** The Dockerfile's stages, the files each COPY takes from the build context, and each stage's CMD. */
function dockerfile() {
  const text = read('deploy/Dockerfile').replace(/\\\n/g, ' ');
  const stages = new Map<string, { from: string; cmd?: string[]; expose: number[]; copies: string[] }>();
  let current: { from: string; cmd?: string[]; expose: number[]; copies: string[] } | undefined;
  for (const line of text.split('\n')) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = { from: from[1]!, expose: [], copies: [] };
      stages.set(from[2] ?? `#${stages.size}`, current);
      continue;
    }
    if (!current) continue;
    const cmd = /^CMD\s+(\[.*\])\s*$/.exec(line);
    if (cmd) current.cmd = JSON.parse(cmd[1]!);
    const expose = /^EXPOSE\s+(.+)$/.exec(line);
    if (expose) current.expose.push(...expose[1]!.trim().split(/\s+/).map(Number));
    const copy = /^COPY\s+(?!--from)(.+)$/.exec(line);
    if (copy) current.copies.push(...copy[1]!.trim().split(/\s+/).slice(0, -1));
  }
  return { text, stages };
}

describe('deploy/', () => {
  const { text: dockerText, stages } = dockerfile();
  // Compose applies YAML merge keys (<<: *service).
  const compose = parse(read('deploy/compose.yaml'), { merge: true });
  const kustomization = parse(read('deploy/kustomization.yaml'));
  const manifests = (kustomization.resources as string[]).flatMap((f) =>
    parseAllDocuments(read(`deploy/${f}`)).map((d) => {
      expect(d.errors, f).toEqual([]);
      return { file: f, doc: d.toJS() };
    }),
  );
  const kinds = (kind: string) => manifests.filter((m) => m.doc?.kind === kind);

  describe('Dockerfile', () => {
    it('has one target per service that runs the bundle npm run build makes of its main.ts', () => {
      for (const s of SERVICES) {
        const stage = stages.get(s);
        expect(stage, `stage ${s}`).toBeDefined();
        expect(stage!.cmd).toEqual(['node', `dist/${s}.mjs`]);
        expect(BUNDLED[s as keyof typeof BUNDLED], `${s} is built into dist/${s}.mjs`).toBe(`services/${s}/src/main.ts`);
        expect(existsSync(path.join(REPO_ROOT, `services/${s}/src/main.ts`)), `services/${s}/src/main.ts`).toBe(true);
      }
      expect(read('deploy/Dockerfile')).toMatch(/RUN node --import tsx apps\/launcher\/src\/build\.ts/);
      // Every image runs with the heap flags npm start gives every service.
      expect(/^\s*NODE_OPTIONS="([^"]*)"/m.exec(read('deploy/Dockerfile'))?.[1]).toBe(`--enable-source-maps ${SERVICE_HEAP_FLAGS}`);
      // And with the malloc settings npm start gives every service.
      for (const [k, v] of Object.entries(SERVICE_MALLOC_ENV)) expect(new RegExp(`^\\s*${k}=(\\S+)`, 'm').exec(read('deploy/Dockerfile'))?.[1], k).toBe(v);
      expect(stages.get('api')!.expose.sort()).toEqual([3003, 50051]);
    });

    it('runs npm ci with every workspace package.json and the lockfile copied first', () => {
      expect(dockerText).toMatch(/npm ci\b/);
      const deps = stages.get('deps')!;
      expect(deps.copies).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
      const root = JSON.parse(read('package.json')) as { workspaces: string[] };
      const workspaces = root.workspaces.flatMap((w) =>
        w.endsWith('/*') ? readdirSync(path.join(REPO_ROOT, w.slice(0, -2)), { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(path.join(REPO_ROOT, w.slice(0, -2), d.name, 'package.json'))).map((d) => `${w.slice(0, -2)}/${d.name}`) : [w],
      );
      for (const w of workspaces) expect(deps.copies, `COPY ${w}/package.json`).toContain(`${w}/package.json`);
    });

    it('copies only paths that exist', () => {
      for (const [name, stage] of stages) {
        for (const src of stage.copies) expect(existsSync(path.join(REPO_ROOT, src)), `${name}: COPY ${src}`).toBe(true);
      }
    });
  });

  describe('compose.yaml', () => {
    const services = compose.services as Record<string, any>;

    it('builds every Molten service from the Dockerfile target its image is named after', () => {
      for (const s of SERVICES) {
        const svc = services[s];
        expect(svc, s).toBeDefined();
        expect(path.resolve(DEPLOY, svc.build.context, svc.build.dockerfile)).toBe(path.join(DEPLOY, 'Dockerfile'));
        expect(stages.has(svc.build.target), `target ${svc.build.target}`).toBe(true);
        expect(svc.image).toMatch(new RegExp(`^molten/${svc.build.target}:`));
      }
      expect(services.nats.image).toMatch(/^nats:2\.\d+/);
    });

    it('sets only variables the services read, from env files that exist as examples', () => {
      for (const [name, svc] of Object.entries(services)) {
        const reads = (v: string) => (name === 'nats' ? NATS_VARS.has(v) : readsVar(name as Service, v));
        for (const v of Object.keys(svc.environment ?? {})) expect(reads(v), `${name}: environment ${v}`).toBe(true);
        for (const f of svc.env_file ?? []) {
          const example = `deploy/${f}.example`;
          expect(existsSync(path.join(REPO_ROOT, example)), example).toBe(true);
          for (const v of envFile(example).all) expect(reads(v), `${example}: ${v}`).toBe(true);
        }
      }
    });

    it('has health checks, declared volumes, restart policies, and dependencies that exist', () => {
      for (const [name, svc] of Object.entries(services)) {
        expect(svc.healthcheck?.test, `${name} healthcheck`).toBeDefined();
        expect(svc.restart, name).toBe('unless-stopped');
        for (const dep of Object.keys(svc.depends_on ?? {})) expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
        for (const v of svc.volumes ?? []) {
          const [src] = String(v).split(':');
          if (src!.startsWith('.')) expect(existsSync(path.resolve(DEPLOY, src!)), `${name}: ${src}`).toBe(true);
          else expect(Object.keys(compose.volumes), `${name}: volume ${src}`).toContain(src);
        }
      }
      for (const s of SERVICES.filter(isAdapter)) {
        expect(services[s].deploy.replicas, s).toBe(2);
        expect(services[s].healthcheck.test).toEqual(['CMD', 'node', '--import', 'tsx', 'deploy/probe/adapter-heartbeat.ts', DOMAIN[s]]);
        expect(Object.keys(services[s].depends_on)).toContain('api');
      }
    });

    it('publishes the ports the api and nats listen on', () => {
      const api = services.api;
      const container = (p: string) => Number(p.split(':').at(-1));
      expect(api.ports.map(container).sort()).toEqual([Number(api.environment.MOLTEN_GRPC_PORT), Number(api.environment.MOLTEN_PORT)].sort());
      expect(api.healthcheck.test.join(' ')).toContain(`127.0.0.1:${api.environment.MOLTEN_PORT}/api/health`);
      const conf = read('deploy/nats/nats.conf');
      expect(services.nats.ports.map(container)).toEqual([Number(/^listen: .*:(\d+)$/m.exec(conf)![1])]);
      expect(services.nats.healthcheck.test.join(' ')).toContain(`:${/^http: .*:(\d+)$/m.exec(conf)![1]}/healthz`);
    });
  });

  describe('env examples', () => {
    it('give each service the NATS user of nats.conf, with the password nats.env sets for it', () => {
      const nats = envFile('deploy/env/nats.env.example').set;
      const users: Record<Service, string> = { api: 'API', 'proxmox-adapter': 'PROXMOX', 'homelab-adapter': 'HOMELAB', 'moltbot-adapter': 'MOLTBOT' };
      for (const s of SERVICES) {
        const url = new URL(envFile(`deploy/env/${s}.env.example`).set.get('NATS_URL')!);
        expect(url.username, s).toBe(s);
        expect(url.password, s).toBe(nats.get(`MOLTEN_NATS_${users[s]}_PASSWORD`));
        expect(read('deploy/nats/nats.conf')).toContain(`{ user: ${s}, password: $MOLTEN_NATS_${users[s]}_PASSWORD`);
      }
      for (const v of [...NATS_VARS].filter((x) => !NATS_NODE_VARS.has(x))) expect(envFile('deploy/env/nats.env.example').all.has(v), v).toBe(true);
    });
  });

  describe('Kubernetes', () => {
    it('lists files that exist, and env files that exist as examples', () => {
      for (const f of kustomization.resources) expect(existsSync(path.join(DEPLOY, f)), f).toBe(true);
      for (const g of kustomization.configMapGenerator) for (const f of g.files) expect(existsSync(path.join(DEPLOY, f.split('=').at(-1))), f).toBe(true);
      for (const g of kustomization.secretGenerator) for (const f of g.envs) expect(existsSync(path.join(DEPLOY, `${f}.example`)), f).toBe(true);
    });

    it('runs images the Dockerfile builds (or nats), with variables the services read', () => {
      const secrets = new Map<string, string>((kustomization.secretGenerator as { name: string; envs: string[] }[]).map((g) => [g.name, g.envs[0]!]));
      const workloads = [...kinds('Deployment'), ...kinds('StatefulSet')];
      expect(workloads.map((w) => w.doc.metadata.name).sort()).toEqual(['api', 'homelab-adapter', 'moltbot-adapter', 'nats', 'proxmox-adapter']);
      for (const { doc } of workloads) {
        const name = doc.metadata.name as string;
        for (const c of doc.spec.template.spec.containers) {
          const image = /^molten\/([a-z-]+)$/.exec(c.image);
          if (name === 'nats') expect(c.image).toMatch(/^nats:2\.\d+/);
          else {
            expect(image?.[1], `${name}: image ${c.image}`).toBe(name);
            expect(stages.has(image![1]!), `Dockerfile target ${image![1]}`).toBe(true);
            expect((kustomization.images as { name: string }[]).map((i) => i.name)).toContain(c.image);
          }
          const reads = (v: string) => (name === 'nats' ? NATS_VARS.has(v) : readsVar(name as Service, v));
          for (const e of c.env ?? []) expect(reads(e.name), `${name}: env ${e.name}`).toBe(true);
          for (const from of c.envFrom ?? []) {
            const file = secrets.get(from.secretRef.name);
            expect(file, `${name}: secret ${from.secretRef.name}`).toBeDefined();
            for (const v of envFile(`deploy/${file}.example`).all) expect(reads(v), `${file}: ${v}`).toBe(true);
          }
        }
      }
    });

    it('serves the api on the ports it listens on, probes /api/health, and routes Services to named ports', () => {
      const api = kinds('Deployment').find((d) => d.doc.metadata.name === 'api')!.doc;
      const c = api.spec.template.spec.containers[0];
      const env = Object.fromEntries(c.env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
      const ports = Object.fromEntries(c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
      expect(ports).toEqual({ http: Number(env.MOLTEN_PORT), grpc: Number(env.MOLTEN_GRPC_PORT) });
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        expect(c[probe]?.httpGet?.path, probe).toBe('/api/health');
        expect(ports[c[probe].httpGet.port], `${probe} port`).toBeDefined();
      }
      expect(c.resources.requests.memory).toBeDefined();
      for (const { doc: svc } of kinds('Service')) {
        const target = [...kinds('Deployment'), ...kinds('StatefulSet')].find((w) => w.doc.spec.selector.matchLabels['app.kubernetes.io/name'] === svc.spec.selector['app.kubernetes.io/name']);
        expect(target, `Service ${svc.metadata.name} selects a workload`).toBeDefined();
        const names = target!.doc.spec.template.spec.containers.flatMap((x: { ports?: { name: string }[] }) => (x.ports ?? []).map((p) => p.name));
        for (const p of svc.spec.ports) expect(names, `Service ${svc.metadata.name} → ${p.targetPort}`).toContain(p.targetPort);
      }
    });

    it('runs every adapter as 2 replicas with probes, resource requests and a disruption budget', () => {
      for (const s of SERVICES.filter(isAdapter)) {
        const d = kinds('Deployment').find((m) => m.doc.metadata.name === s)?.doc;
        expect(d, s).toBeDefined();
        expect(d.spec.replicas, s).toBe(2);
        const c = d.spec.template.spec.containers[0];
        for (const probe of ['startupProbe', 'livenessProbe']) expect(c[probe]?.exec?.command, `${s} ${probe}`).toEqual(['node', '--import', 'tsx', 'deploy/probe/adapter-heartbeat.ts', DOMAIN[s]]);
        expect(c.env.find((e: { name: string }) => e.name === 'MOLTEN_INSTANCE').valueFrom.fieldRef.fieldPath).toBe('metadata.name');
        expect(c.resources.requests.memory && c.resources.requests.cpu, s).toBeTruthy();
        expect(kinds('PodDisruptionBudget').some((p) => p.doc.metadata.name === s && p.doc.spec.minAvailable === 1), `${s} PDB`).toBe(true);
      }
    });
  });

  describe('systemd', () => {
    const units = readdirSync(path.join(DEPLOY, 'systemd'));

    it('has a unit per service, reading env files that exist as examples, started by molten.target', () => {
      const target = read('deploy/systemd/molten.target');
      for (const s of [...SERVICES, 'nats']) {
        const unit = units.find((u) => u === `molten-${s}.service` || u === `molten-${s}@.service`);
        expect(unit, s).toBeDefined();
        const text = read(`deploy/systemd/${unit}`);
        const env = /^EnvironmentFile=\/etc\/molten\/(.+)$/m.exec(text)?.[1];
        expect(existsSync(path.join(DEPLOY, 'env', `${env}.example`)), `${unit}: ${env}`).toBe(true);
        expect(target).toMatch(new RegExp(`molten-${s}(@1)?\\.service`));
        if (s !== 'nats') {
          expect(text).toContain(`ExecStart=/usr/bin/node --enable-source-maps dist/${s}.mjs`);
          // systemd's quoting: "NAME=a value with spaces" is one assignment.
          const assignments = [...text.matchAll(/^Environment=(.+)$/gm)].flatMap((m) => [...m[1]!.matchAll(/"([^"]*)"|(\S+)/g)].map((a) => a[1] ?? a[2]!));
          for (const kv of assignments) expect(readsVar(s as Service, kv.split('=')[0]!), `${unit}: ${kv}`).toBe(true);
          // The heap flags npm start gives every service (docs/performance.md, "Memory at 15,000 guests").
          expect(assignments, unit).toContain(`NODE_OPTIONS=${SERVICE_HEAP_FLAGS}`);
          for (const [k, v] of Object.entries(SERVICE_MALLOC_ENV)) expect(assignments, unit).toContain(`${k}=${v}`);
        }
      }
    });

    it('passes systemd-analyze verify', (ctx) => {
      const analyze = findExecutable('systemd-analyze', ['/usr/bin', '/bin']);
      if (!analyze) ctx.skip();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-units-'));
      try {
        cpSync(path.join(DEPLOY, 'systemd'), dir, { recursive: true });
        const instances = units.filter((u) => u.endsWith('@.service')).map((u) => u.replace('@.service', '@1.service'));
        for (const i of instances) cpSync(path.join(dir, i.replace('@1.service', '@.service')), path.join(dir, i));
        const files = [...units.filter((u) => !u.includes('@.')), ...instances].map((u) => path.join(dir, u));
        const out = execFileSync(analyze!, ['verify', '--man=no', ...files], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        expect(out).toBe('');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('nats/cluster: a three-node NATS cluster', () => {
    const override = parse(read('deploy/nats/cluster/compose.yaml'), { merge: true });
    const component = parse(read('deploy/nats/cluster/kustomization.yaml'));
    /** The env a node gets: every password of nats.env, its name and the routes. */
    const nodeEnv = (name: string, routes: string[]) => ({
      ...Object.fromEntries(envFile('deploy/env/nats.env.example').set),
      MOLTEN_NATS_STORE_DIR: '/data',
      MOLTEN_NATS_SERVER_NAME: name,
      ...Object.fromEntries(routes.map((r, i) => [`MOLTEN_NATS_ROUTE_${i + 1}`, r])),
    });

    it('adds only the clustering to nats.conf, which it includes: the same users and permissions', () => {
      expect(NATS_CLUSTER_CONF).toMatch(/^include \.\.\/nats\.conf$/m);
      const settings = NATS_CLUSTER_CONF.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
      for (const own of [/PERMISSIONS/, /accounts/, /users/, /jetstream/i, /^listen:/m, /^http:/m]) expect(settings, String(own)).not.toMatch(own);
      expect(NATS_CLUSTER_CONF).toMatch(/^server_name: \$MOLTEN_NATS_SERVER_NAME$/m);
      expect(NATS_CLUSTER_CONF).toMatch(/authorization \{ user: route, password: \$MOLTEN_NATS_ROUTE_PASSWORD \}/);
    });

    it('passes nats-server -t, beside nats.conf as shipped', () => {
      const bin = findExecutable('nats-server');
      expect(bin, 'nats-server').toBeTruthy();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-nats-conf-'));
      try {
        cpSync(path.join(DEPLOY, 'nats'), path.join(dir, 'nats'), { recursive: true });
        const routes = [1, 2, 3].map((i) => `nats-route://route:change-me-route@nats-${i}:6222`);
        const out = execFileSync(bin!, ['-t', '-c', path.join(dir, 'nats', 'cluster', 'nats-cluster.conf')], { encoding: 'utf8', env: { PATH: process.env.PATH, ...nodeEnv('nats-1', routes) }, stdio: ['ignore', 'pipe', 'pipe'] });
        expect(out + '').toBe('');
      } catch (err) {
        throw new Error(`nats-server -t: ${(err as { stderr?: string }).stderr ?? err}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('compose: three nodes of one cluster, each named, routed to all three, with both config files; every service keeps three replicas', () => {
      const base = compose.services as Record<string, any>;
      const services = override.services as Record<string, any>;
      const nodes = Object.entries(services).filter(([, svc]) => String(svc.image ?? base[svc]?.image).startsWith('nats:'));
      expect(nodes.map(([n]) => n).sort()).toEqual(['nats', 'nats-2', 'nats-3']);
      // The names a node answers to: its service name and its aliases.
      const names = (n: string) => [n, ...(services[n].networks?.default?.aliases ?? [])];
      const servers = new Set<string>();
      for (const [name, svc] of nodes) {
        const script = svc.entrypoint.join(' ');
        const routes = [...script.matchAll(/MOLTEN_NATS_ROUTE_(\d+)="nats-route:\/\/route:\$\$\{MOLTEN_NATS_ROUTE_PASSWORD\}@([a-z0-9-]+):6222"/g)];
        expect(routes.map((r) => Number(r[1])), name).toEqual(nodes.map((_, i) => i + 1));
        // Each route reaches exactly one node.
        expect(routes.map((r) => nodes.filter(([n]) => names(n).includes(r[2]!)).length), name).toEqual(nodes.map(() => 1));
        expect(script).toMatch(/exec nats-server -c \/etc\/nats\/cluster\/nats-cluster\.conf$/);
        expect(names(name).includes('nats'), `${name} answers to "nats" (the services' NATS_URL)`).toBe(true);
        const env = { ...base[name]?.environment, ...svc.environment };
        for (const v of Object.keys(env)) expect(NATS_VARS.has(v), `${name}: environment ${v}`).toBe(true);
        servers.add(env.MOLTEN_NATS_SERVER_NAME);
        for (const f of svc.env_file ?? base[name].env_file) expect(existsSync(path.join(DEPLOY, `${f}.example`)), f).toBe(true);
        const mounts = [...(base[name]?.volumes ?? []), ...svc.volumes].map(String);
        for (const [file, at] of [['./nats/nats.conf', '/etc/nats/nats.conf'], ['./nats/cluster/nats-cluster.conf', '/etc/nats/cluster/nats-cluster.conf']]) {
          expect(mounts, `${name} mounts ${file}`).toContain(`${file}:${at}:ro`);
        }
        for (const m of mounts) {
          const [src] = m.split(':');
          if (src!.startsWith('.')) expect(existsSync(path.resolve(DEPLOY, src!)), `${name}: ${src}`).toBe(true);
          else expect([...Object.keys(compose.volumes), ...Object.keys(override.volumes)], `${name}: volume ${src}`).toContain(src);
        }
        expect(svc.healthcheck.test.join(' ')).toContain(`:${/^http: .*:(\d+)$/m.exec(NATS_CONF)![1]}/healthz`);
      }
      expect(servers.size).toBe(nodes.length);
      for (const s of SERVICES) {
        expect(services[s]?.environment?.MOLTEN_STREAM_REPLICAS, s).toBe(String(nodes.length));
        for (const v of Object.keys(services[s].environment)) expect(readsVar(s, v), `${s}: ${v}`).toBe(true);
      }
      expect(Number(services.api.environment.MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS)).toBeGreaterThanOrEqual(30_000);
    });

    it('Kubernetes: a component that makes nats a StatefulSet of three, routed by a headless Service, and sets the replicas', (ctx) => {
      expect(component.kind).toBe('Component');
      for (const r of component.resources) expect(existsSync(path.join(DEPLOY, 'nats/cluster', r)), r).toBe(true);
      for (const g of component.configMapGenerator) for (const f of g.files) expect(existsSync(path.join(DEPLOY, 'nats/cluster', f)), f).toBe(true);
      expect(read('deploy/kustomization.yaml')).toMatch(/^# components:\n#   - nats\/cluster$/m);
      // Render it (kubectl kustomize, no cluster needed) and read what Kubernetes would get.
      const kubectl = findExecutable('kubectl', ['/usr/bin', '/usr/local/bin', '/bin']);
      if (!kubectl) ctx.skip();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-kustomize-'));
      try {
        cpSync(DEPLOY, path.join(dir, 'deploy'), { recursive: true });
        for (const f of readdirSync(path.join(dir, 'deploy', 'env')).filter((x) => x.endsWith('.example'))) cpSync(path.join(dir, 'deploy', 'env', f), path.join(dir, 'deploy', 'env', f.replace(/\.example$/, '')));
        const k = path.join(dir, 'deploy', 'kustomization.yaml');
        writeFileSync(k, `${readFileSync(k, 'utf8')}\ncomponents:\n  - nats/cluster\n`);
        const docs = parseAllDocuments(execFileSync(kubectl!, ['kustomize', path.join(dir, 'deploy')], { encoding: 'utf8' })).map((d) => d.toJS());
        const sts = docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === 'nats');
        const c = sts.spec.template.spec.containers[0];
        const env = new Map<string, any>(c.env.map((e: { name: string }) => [e.name, e]));
        const routes = [...env.keys()].filter((n) => /^MOLTEN_NATS_ROUTE_\d+$/.test(n)).map((n) => env.get(n).value as string);
        expect(sts.spec.replicas).toBe(3);
        expect(sts.spec.podManagementPolicy).toBe('Parallel');
        const clusterPort = c.ports.find((p: { name: string }) => p.name === 'cluster').containerPort;
        expect(routes).toEqual([0, 1, 2].map((i) => `nats-route://route:$(MOLTEN_NATS_ROUTE_PASSWORD)@nats-${i}.${sts.spec.serviceName}:${clusterPort}`));
        expect(env.get('MOLTEN_NATS_SERVER_NAME').valueFrom.fieldRef.fieldPath).toBe('metadata.name');
        for (const n of env.keys()) expect(NATS_VARS.has(n), `nats: env ${n}`).toBe(true);
        expect(c.args).toEqual(['-c', '/etc/nats/cluster/nats-cluster.conf']);
        const config = sts.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'config').configMap;
        expect(config.items).toEqual([{ key: 'nats.conf', path: 'nats.conf' }, { key: 'nats-cluster.conf', path: 'cluster/nats-cluster.conf' }]);
        expect(c.volumeMounts.find((m: { name: string }) => m.name === 'config').mountPath).toBe('/etc/nats');
        const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === config.name);
        expect(Object.keys(cm.data).sort()).toEqual(['nats-cluster.conf', 'nats.conf']);
        const headless = docs.find((d) => d.kind === 'Service' && d.metadata.name === sts.spec.serviceName);
        expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: sts.spec.selector.matchLabels });
        expect(headless.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(['cluster']);
        expect(docs.find((d) => d.kind === 'PodDisruptionBudget' && d.metadata.name === 'nats').spec.minAvailable).toBe(2);
        for (const s of SERVICES) {
          const d = docs.find((x) => x.kind === 'Deployment' && x.metadata.name === s);
          const env = d.spec.template.spec.containers[0].env as { name: string; value?: string }[];
          expect(env.find((e) => e.name === 'MOLTEN_STREAM_REPLICAS')?.value, s).toBe('3');
          for (const e of env) expect(readsVar(s, e.name), `${s}: env ${e.name}`).toBe(true);
        }
        const api = docs.find((x) => x.kind === 'Deployment' && x.metadata.name === 'api').spec.template.spec.containers[0].env;
        expect(Number(api.find((e: { name: string }) => e.name === 'MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS')?.value)).toBeGreaterThanOrEqual(30_000);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('runs as a three-node cluster with the users of nats.conf: the api provisions three replicas, an adapter takes a command', async () => {
      const cluster = await DeployedNatsCluster.start();
      const buses: Bus[] = [];
      try {
        const api = await connectBus({ servers: cluster.url('api'), name: 'deploy-cluster-api', log: testLogger(), provision: { replicas: 3 } });
        buses.push(api);
        for (const name of ['MOLTEN_CMD', 'MOLTEN_EVENTS', 'KV_molten-state', 'KV_molten-commands', 'KV_molten-leases']) {
          const info = await api.jsm.streams.info(name);
          expect(info.config.num_replicas, name).toBe(3);
          expect(info.cluster?.replicas?.length, name).toBe(2);
        }
        // The adapter's user connects without provisioning rights: it takes the streams as they are.
        const adapter = await connectBus({ servers: cluster.url('proxmox-adapter'), name: 'deploy-cluster-adapter', log: testLogger(), provision: { replicas: 3 } });
        buses.push(adapter);
        const worker = new CommandWorker(adapter, {
          domain: 'proxmox', scope: 'homelab', instance: 'deploy-cluster', log: testLogger(),
          handler: { execute: async (ctx) => (await ctx.beforeUpstreamCall(), { status: 'succeeded', message: 'ran on the cluster' }), resume: async () => ({ status: 'succeeded', message: '' }) },
        });
        await worker.start();
        try {
          const store = new CommandStore(api, 'api');
          const { record } = await submitCommand(api, store, {
            domain: 'proxmox', scope: 'homelab', action: 'vm-stop', actor: { kind: 'user', name: 'op', role: 'operator' }, acceptTimeoutMs: 30_000, timeoutMs: 60_000,
            payload: { $case: 'power', value: { vmid: 101, action: 'stop', node: 'pve1', type: 'qemu' } },
          });
          const done = await waitFor(async () => {
            const r = (await store.get(record.command!.id))?.record;
            return r && isTerminal(r.status) ? r : undefined;
          }, { timeoutMs: 30_000, message: 'the command ends' });
          expect(done.transitions.at(-1)!.message).toBe('ran on the cluster');
        } finally {
          await worker.stop();
        }
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${cluster.log.slice(-4000)}`);
      } finally {
        for (const b of buses) await b.close();
        await cluster.dispose();
      }
    }, 90_000);
  });

  describe('the adapter heartbeat probe', () => {
    let nats: NatsServer;
    let bus: Bus;
    let hb: { stop(): void };

    beforeAll(async () => {
      nats = await NatsServer.start();
      bus = await connectBus({ servers: nats.url, name: 'probe-test', log: testLogger() });
      hb = startHeartbeat(bus, { domain: 'proxmox', instance: 'pod-a', version: 't', intervalMs: 200, upstreams: () => [] });
    });
    afterAll(async () => {
      hb?.stop();
      await bus?.close();
      await nats?.dispose();
    });

    it('passes when this replica beats, fails when only another does, passes when NATS is unreachable', async () => {
      const env = { NATS_URL: nats.url, MOLTEN_HEARTBEAT_MS: '200' };
      expect(await probe('proxmox', { ...env, MOLTEN_INSTANCE: 'pod-a' })).toMatchObject({ ok: true });
      const other = await probe('proxmox', { ...env, MOLTEN_INSTANCE: 'pod-b' });
      expect(other).toMatchObject({ ok: false });
      expect(other.message).toMatch(/no heartbeat from pod-b/);
      expect(await probe('mcp', { ...env, MOLTEN_INSTANCE: 'pod-a' })).toMatchObject({ ok: false });
      const away = await probe('proxmox', { NATS_URL: 'nats://127.0.0.1:1', MOLTEN_INSTANCE: 'pod-b' });
      expect(away).toMatchObject({ ok: true });
      expect(away.message).toMatch(/not reachable/);
    });
  });
});
