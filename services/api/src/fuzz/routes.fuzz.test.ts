import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatePublisher, connectBus, queryErrorReply, serveQueries, startHeartbeat, type Bus, type QueryHandlers, type QueryServer } from '@molten/bus';
import { QUERY_NAMES, ServerStatus, commandError, type Guest } from '@molten/contracts';
import { testLogger, waitFor } from '@molten/testkit';
import { AGENT, OPERATOR, VIEWER, apiFixture } from '../test/api-fixture.js';
import { rawRequest } from '../test/raw-http.js';
import { FUZZ_SEED, RETAINED_BOUND_MB, assertWithHeap, fuzzRuns, fuzzTimeoutMs } from './fuzz-config.js';

/**
 * Property: whatever path, method, headers and body reach the api — hostile escapes, deep
 * nesting, big or binary bodies, forged sessions — it answers below 500 and keeps serving.
 * Runs against the real api (real nats-server) over a real socket, paths sent byte for byte.
 */

const SEGMENTS = [
  'api', 'vms', 'nodes', 'storage', 'cluster', 'status', 'commands', 'events', 'servers', 'agents', 'approvals', 'session', 'health', 'metrics',
  'tools', 'call', 'run', 'approve', 'deny', 'main', 'echo', 'mcp-homelab', 'start', 'stop', 'reboot', 'shutdown', 'suspend', 'resume',
  'rrd', 'config', 'addresses', 'tasks', 'snapshots', 'ha', 'log', 'rollback',
  '101', '102', '100', '0x65', '1e2', '+101', '00101', '101.0', '%20101', '-1', '999999999999', '01ARZ3NDEKTSV4RRFFQ69G5FAV',
  '%', '%zz', '%00', '%2e%2e', '..', '.', '%2f', '%5c', '%E0%A4%A', '%C0%AE', '%ff', '%25', '%u0041', '\u00e9', 'x'.repeat(300), '',
];
const QUERIES = ['', '?cluster=homelab', '?cluster=%', '?vmid=0x65', '?vmid=101', '?limit=-1', '?limit=1e9', '?status=%00', '?type=qemu&type=lxc', '?tools=0', '?a=' + 'b'.repeat(2000), '?%=%', '?__proto__=1', '?constructor[prototype]=x'];

/** A character as percent-escaped UTF-8 bytes (a lone surrogate as U+FFFD's). */
const pct = (c: string) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

const PARAMS = ['101', '102', 'rrd', 'config', 'addresses', 'ha', 'snapshots', 'suspend', 'resume', 'pve1', 'hour', 'MAX', 'UPID:pve1:000A1B2C:0012D687:6751A2B3:qmstart:101:root@pam:', '0x65', '1e2', '+101', '00101', '101.0', '%20101', '%', '%zz', '%00', '..', '%2e%2e', 'mcp-homelab', 'echo', 'main', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'x'.repeat(300), '%F0%9F%94%A5', '__proto__', 'constructor'];
const TEMPLATES = [
  '/api/vms/{}/status', '/api/vms/{}/{}', '/api/vms/101/{}', '/api/vms', '/api/nodes', '/api/storage', '/api/cluster/status', '/api/health', '/metrics',
  '/api/commands', '/api/commands/{}', '/api/servers', '/api/servers/{}', '/api/servers/{}/tools/{}/call', '/api/servers/mcp-homelab/tools/echo/call',
  '/api/agents', '/api/agents/{}/run', '/api/agents/main/run', '/api/approvals', '/api/approvals/{}', '/api/approvals/{}/{}', '/api/session', '/api/events', '/{}', '/{}/{}',
  // The guest page (issue 12): reads asked of an adapter (none runs here), snapshots and suspend/resume.
  '/api/vms/{}/rrd', '/api/vms/101/rrd?timeframe={}&cf={}', '/api/vms/{}/snapshots', '/api/vms/101/snapshots/{}', '/api/vms/101/snapshots/{}/rollback',
  '/api/vms/{}/suspend', '/api/vms/{}/resume', '/api/vms/101/tasks?limit={}&since={}', '/api/nodes/{}/rrd', '/api/tasks/{}/log', '/api/tasks/{}/{}',
  // A session's transcript (issue 13), asked of a stand-in moltbot-adapter for the gateway "default"
  // (another gateway would rightly be a 503: no adapter answers for it).
  '/api/agents/sessions/default/{}/history', '/api/agents/sessions/default/{}/history?limit={}', '/api/agents/sessions/default/agent%3Amain%3Amain/{}',
];
const routeShaped = fc
  .tuple(fc.constantFrom(...TEMPLATES), fc.array(fc.oneof(fc.constantFrom(...PARAMS, 'start', 'stop', 'approve', 'deny'), fc.string({ maxLength: 10 }).map(encodeURIComponent)), { minLength: 2, maxLength: 2 }), fc.constantFrom(...QUERIES))
  .map(([t, [a, b], q]) => t.replace('{}', a!).replace('{}', b!) + q);

const randomPath = fc
  .tuple(fc.boolean(), fc.array(fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 12 }).map(encodeURIComponent), fc.string({ unit: 'binary', maxLength: 6 }).map((s) => s.replace(/[\s#?]/g, '%20'))), { maxLength: 7 }), fc.constantFrom(...QUERIES))
  .map(([api, segs, q]) => `/${api ? 'api/' : ''}${segs.join('/')}${q}`);

const path = fc.oneof({ weight: 3, arbitrary: routeShaped }, { weight: 1, arbitrary: randomPath }).map((p) => p.replace(/[^\x21-\x7e]/gu, pct));

const nested = (depth: number, open: string, close: string) => `${open.repeat(depth)}1${close.repeat(depth)}`;
const body = fc.oneof(
  fc.constant(undefined),
  fc.json({ maxDepth: 4 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ arguments: v, message: 'hi', reason: 'fuzz' })),
  fc.integer({ min: 60, max: 12_000 }).map((d) => `{"arguments":${nested(d, '{"a":', '}')}}`),
  fc.integer({ min: 60, max: 12_000 }).map((d) => nested(d, '[', ']')),
  fc.integer({ min: 1, max: 3 * 1024 * 1024 }).map((n) => JSON.stringify({ arguments: { message: 'x'.repeat(n) } })),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.constantFrom('{', '{"token":', '{"__proto__":{"role":"operator"}}', '{"token":"' + OPERATOR + '"}', 'null', '[]', '"x"', '1e309', '{"message":"\\ud800"}'),
);
const method = fc.constantFrom('GET', 'GET', 'GET', 'POST', 'POST', 'POST', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS');
const headerValue = fc.oneof(fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')), fc.constantFrom('', ' ', 'null', '0x10', '1e308', '-1', '9'.repeat(40)));
const headers = fc.record(
  {
    authorization: fc.constantFrom(`Bearer ${OPERATOR}`, `Bearer ${OPERATOR}`, `Bearer ${OPERATOR}`, `Bearer ${OPERATOR}`, `Bearer ${VIEWER}`, `Bearer ${AGENT}`, 'Bearer ', 'Bearer x', 'Basic Zm9vOmJhcg==', `bearer ${OPERATOR} extra`),
    cookie: fc.oneof(headerValue.map((v) => `molten_session=${v}`), fc.constant('molten_session=' + 'A'.repeat(4000))),
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/merge-patch+json', ''),
    'idempotency-key': headerValue,
    origin: fc.constantFrom('https://evil.example', 'null', 'http://localhost', ''),
    'sec-fetch-site': fc.constantFrom('cross-site', 'same-origin', 'none', 'x'),
    referer: fc.constantFrom('https://evil.example/', '::::', 'http://localhost/'),
    'last-event-id': headerValue,
    'x-forwarded-for': fc.constantFrom('1.2.3.4', '::1, 10.0.0.1', 'garbage', '999.999.999.999'),
    'x-request-id': headerValue,
    accept: fc.constantFrom('text/event-stream', 'application/json', '*/*'),
    'content-length': fc.constantFrom('0', '-1', '1e3', '99999999999', 'abc'),
  },
  { requiredKeys: [] },
).chain((h) => fc.nat(9).map((n) => (n < 7 && !h.authorization ? { ...h, authorization: `Bearer ${OPERATOR}`, 'content-type': h['content-type'] ?? 'application/json' } : h)));

const guest = (vmid: number): Guest => ({
  cluster: 'homelab', vmid, name: `vm${vmid}`, node: 'pve1', type: 'qemu', status: 'running', qmpstatus: 'running',
  cpu: 0.1, maxcpu: 2, mem: 1, maxmem: 2, disk: 0, maxdisk: 10, uptime: 100, tags: ['web'], template: false,
  netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [],
});

const RUNS = 200;

/**
 * The guest page's reads get an answer from a stand-in adapter: history for guest-rrd, a
 * not_found for the rest (what a real adapter says of a guest it does not know).
 */
const queryHandlers = (): QueryHandlers => {
  const h: Record<string, (r: unknown) => Promise<unknown>> = {};
  for (const what of QUERY_NAMES) h[what] = async () => queryErrorReply(what, commandError('not_found', `fuzz: no ${what} here`));
  h['guest-rrd'] = async () => ({
    result: { $case: 'rrd', value: { vmid: 101, node: 'pve1', timeframe: 'hour', cf: 'AVERAGE', stepS: 60, points: [{ time: 1_700_000_000, cpu: 0.1 }] } },
    fetchedAtMs: Date.now(),
    freshUntilMs: Date.now() + 30_000,
  });
  return h as QueryHandlers;
};

describe('fuzz: every route, hostile input', () => {
  let fx: Awaited<ReturnType<typeof apiFixture>>;
  let bus: Bus;
  let queries: QueryServer;
  let heartbeat: { stop(): void } | undefined;
  let gatewayQueries: QueryServer;
  const dashboardDir = mkdtempSync(nodePath.join(os.tmpdir(), 'molten-fuzz-dash-'));
  writeFileSync(nodePath.join(dashboardDir, 'index.html'), '<!doctype html><title>Molten</title>');
  beforeAll(async () => {
    fx = await apiFixture({ MOLTEN_DASHBOARD_DIR: dashboardDir, MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS: '1000', MOLTEN_RATE_LIMIT: '60000', MOLTEN_RATE_BURST: '100000' });
    bus = await connectBus({ servers: fx.nats.url, name: 'fuzz-adapter', log: testLogger() });
    queries = serveQueries(bus, { domain: 'proxmox', scope: 'homelab', handlers: queryHandlers(), log: testLogger() });
    // The stand-in adapter beats, so commands are queued (202) for as long as the run lasts
    // instead of meeting "no proxmox-adapter is running" (503) once the api's start-up grace ends.
    heartbeat = startHeartbeat(bus, {
      domain: 'proxmox', instance: 'fuzz-adapter', version: 't', intervalMs: 1_000,
      upstreams: () => [{ serverId: 'pve-homelab', scope: 'homelab', status: ServerStatus.SERVER_STATUS_CONNECTED, lastOkMs: Date.now(), pollMs: 1_000, latencyMs: 1, leader: true, capabilities: [], privileges: [] }],
    });
    gatewayQueries = serveQueries(bus, {
      domain: 'moltbot',
      scope: 'default',
      handlers: {
        'session-history': async (r) => ({
          result: { $case: 'history', value: { gateway: 'default', sessionKey: r.sessionKey, sessionId: '', messages: [], hasMore: false, totalMessages: 0, dropped: [] } },
          fetchedAtMs: Date.now(),
        }),
      },
      log: testLogger(),
    });
    const publisher = new StatePublisher(bus, 'proxmox', 'homelab');
    await publisher.put('qemu', '101', guest(101));
    await publisher.put('qemu', '102', guest(102));
    await waitFor(async () => (await fx.json('/api/vms')).body.data?.length === 2, { message: 'guests visible' });
  });
  afterAll(async () => {
    heartbeat?.stop();
    await queries?.stop();
    await gatewayQueries?.stop();
    await bus?.close();
    await fx?.dispose();
    rmSync(dashboardDir, { recursive: true, force: true });
  });

  it(
    'answers every request below 500 and keeps serving',
    async () => {
      const seen = new Map<number, number>();
      const property = fc.asyncProperty(method, path, headers, body, async (m, p, h, b) => {
        const hs: Record<string, string> = { ...h };
        // A wrong Content-Length would make the socket, not the api, the thing under test.
        delete hs['content-length'];
        const withBody = b !== undefined && m !== 'GET' && m !== 'HEAD';
        let r;
        try {
          r = await rawRequest(fx.api.url, p, { method: m, headers: hs, body: withBody ? b : undefined });
        } catch (err) {
          // The api may close the connection on an oversized body once it has answered 413.
          if (withBody && /EPIPE|ECONNRESET|socket hang up/.test(String(err))) return;
          throw err;
        }
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        expect(r.status, `${m} ${p} → ${r.status} ${r.body.slice(0, 300)}`).toBeLessThan(500);
      });
      const runs = fuzzRuns(RUNS);
      const grownMb = await assertWithHeap(property, runs);
      expect(grownMb, `the api kept ${grownMb.toFixed(1)} MB more heap after hostile requests`).toBeLessThan(RETAINED_BOUND_MB);
      // Still serving, and still itself.
      expect((await fx.json('/api/health')).status).toBe(200);
      expect((await fx.json('/api/vms')).body.data.length).toBe(2);
      console.info(`route fuzz: ${runs} requests (seed ${FUZZ_SEED}); statuses ${JSON.stringify(Object.fromEntries([...seen].sort((a, b) => a[0] - b[0])))}; heap kept after a full collection ${grownMb >= 0 ? '+' : ''}${grownMb.toFixed(1)} MB (bound ${RETAINED_BOUND_MB} MB)`);
    },
    fuzzTimeoutMs(RUNS, 100),
  );
});
