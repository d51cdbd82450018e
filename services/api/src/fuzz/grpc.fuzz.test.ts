import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { StatePublisher, connectBus, encodeBus, type Bus } from '@molten/bus';
import { ServerStatus, subjects, type Guest } from '@molten/contracts';
import { ControlPlaneServiceClient, type SubmitCommandRequest } from '@molten/contracts/grpc';
import { testLogger, waitFor } from '@molten/testkit';
import { AGENT, OPERATOR, VIEWER, apiFixture } from '../test/api-fixture.js';
import { FUZZ_SEED, RETAINED_BOUND_MB, assertWithHeap, fuzzRuns, fuzzTimeoutMs } from './fuzz-config.js';

/**
 * Property: whatever a gRPC client sends (any field, any token, tool arguments of any shape,
 * depth and size below the transport's limit) the api answers with a status that names a
 * problem of the request (or OK), never INTERNAL or UNKNOWN, and keeps serving.
 */

const guest = (vmid: number): Guest => ({
  cluster: 'homelab', vmid, name: `vm${vmid}`, node: 'pve1', type: 'qemu', status: 'running', qmpstatus: 'running',
  cpu: 0.1, maxcpu: 2, mem: 1, maxmem: 2, disk: 0, maxdisk: 10, uptime: 100, tags: [], template: false,
  netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [],
});

const text = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('', ' ', 'homelab', 'mcp-fz', 'echo', 'main', '%', '..', '\u0000', 'x'.repeat(600), '01ARZ3NDEKTSV4RRFFQ69G5FAV'));
const nested = (depth: number) => `{"a":${'['.repeat(depth)}1${']'.repeat(depth)}}`;
const argumentsJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })).map((v) => JSON.stringify(v)),
  fc.integer({ min: 60, max: 20_000 }).map(nested),
  fc.integer({ min: 1, max: 2 * 1024 * 1024 }).map((n) => JSON.stringify({ message: 'x'.repeat(n) })),
  fc.constantFrom('', '{', 'null', '[]', '{"__proto__":{"x":1}}', '{"message":1e999}'),
  fc.string({ maxLength: 50 }),
);
const uint32 = fc.oneof(fc.constantFrom(0, 99, 100, 101, 999_999_999, 1_000_000_000, 4_294_967_295), fc.integer({ min: 0, max: 4_294_967_295 }));
const payload = fc.oneof(
  fc.record({ $case: fc.constant('power' as const), value: fc.record({ vmid: uint32, action: fc.oneof(fc.constantFrom('start', 'stop', 'reboot', 'shutdown'), text), node: text, type: text }) }),
  fc.record({ $case: fc.constant('toolCall' as const), value: fc.record({ serverId: fc.oneof(fc.constant('mcp-fz'), text), tool: fc.oneof(fc.constant('echo'), text), argumentsJson }) }),
  fc.record({ $case: fc.constant('agentRun' as const), value: fc.record({ agentId: text, message: text, sessionKey: text, timeoutS: uint32 }) }),
  fc.constant(undefined),
);
const submit = fc.record({ cluster: text, idempotencyKey: text, reason: text, payload }) as fc.Arbitrary<SubmitCommandRequest>;
const token = fc.constantFrom<string | null>(OPERATOR, OPERATOR, OPERATOR, VIEWER, AGENT, null, 'garbage', `${OPERATOR} `);
const request = fc.oneof(
  { weight: 4, arbitrary: submit.map((req) => ({ method: 'submitCommand' as const, req })) },
  fc.record({ cluster: text, vmid: uint32 }).map((req) => ({ method: 'getGuest' as const, req })),
  fc.record({ cluster: text }).map((req) => ({ method: 'listGuests' as const, req })),
  fc.record({ cluster: text }).map((req) => ({ method: 'listNodes' as const, req })),
  fc.record({ id: text }).map((req) => ({ method: 'getCommand' as const, req })),
);

/** What a request's own problem may be answered with; INTERNAL, UNKNOWN and the like are the api's fault. */
const REQUEST_CODES = new Set([
  status.OK, status.INVALID_ARGUMENT, status.NOT_FOUND, status.PERMISSION_DENIED, status.UNAUTHENTICATED,
  status.FAILED_PRECONDITION, status.RESOURCE_EXHAUSTED, status.UNAVAILABLE,
]);

describe('fuzz: the gRPC ControlPlaneService', () => {
  let fx: Awaited<ReturnType<typeof apiFixture>>;
  let bus: Bus;
  let client: ControlPlaneServiceClient;
  let beat: NodeJS.Timeout | undefined;
  beforeAll(async () => {
    fx = await apiFixture({ MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS: '1000', MOLTEN_RATE_LIMIT: '60000', MOLTEN_RATE_BURST: '100000' });
    bus = await connectBus({ servers: fx.nats.url, name: 'fuzz-adapter', log: testLogger() });
    await new StatePublisher(bus, 'proxmox', 'homelab').put('qemu', '101', guest(101));
    // A callable MCP server, so that tool calls reach the argument checks.
    const server = { id: 'mcp-fz', name: 'Fuzz', kind: 'mcp', domain: 'mcp', scope: 'fz', endpoint: 'stdio:fz', transport: 'stdio',
      status: ServerStatus.SERVER_STATUS_CONNECTED, statusReason: '', remedy: '', reachable: true, authenticated: true, usable: true,
      latencyMs: 1, lastSeenMs: Date.now(), statusSinceMs: Date.now(), version: '', demo: false, methods: [], reporter: 'fuzz-mcp',
      tools: [{ name: 'echo', title: '', description: '', inputSchemaJson: '{"type":"object","properties":{"message":{"type":"string","maxLength":100}}}' }],
      capabilities: [{ action: 'tool-call', available: true, reason: '', privilege: '' }] };
    await new StatePublisher(bus, 'mcp', 'fz').put('server', 'mcp-fz', server);
    const send = () => {
      const { data, headers } = encodeBus('molten.v1.Heartbeat', {
        domain: 'mcp', instance: 'fuzz-mcp', version: 't', startedAtMs: Date.now(), atMs: Date.now(), intervalMs: 2_000,
        upstreams: [{ serverId: 'mcp-fz', scope: 'fz', status: ServerStatus.SERVER_STATUS_CONNECTED, lastOkMs: Date.now(), pollMs: 2_000, latencyMs: 1, leader: true, capabilities: [], privileges: [] }],
      });
      bus.nc.publish(subjects.heartbeat('mcp', 'fuzz-mcp'), data, { headers });
    };
    send();
    beat = setInterval(send, 100);
    client = new ControlPlaneServiceClient(fx.api.grpcUrl, credentials.createInsecure());
    await waitFor(() => fx.api.reads.servers({ tools: false }).some((s) => s.id === 'mcp-fz' && s.status === 'connected' && !s.stale), { message: 'the server is callable' });
  });
  afterAll(async () => {
    clearInterval(beat);
    client?.close();
    await bus?.close();
    await fx?.dispose();
  });

  const RUNS = 200;
  it(
    'answers every call with OK or a status naming the request’s problem, never INTERNAL or UNKNOWN',
    async () => {
      const seen = new Map<string, number>();
      const grownMb = await assertWithHeap(
        fc.asyncProperty(request, token, async ({ method, req }, tok) => {
          const md = new Metadata();
          if (tok !== null) md.set('authorization', `Bearer ${tok}`);
          const code = await new Promise<status>((resolve) => {
            const fn = (client[method] as unknown as (r: unknown, m: Metadata, cb: (err: ServiceError | null) => void) => void).bind(client);
            fn(req, md, (err) => resolve(err ? err.code : status.OK));
          });
          const name = status[code] ?? String(code);
          seen.set(name, (seen.get(name) ?? 0) + 1);
          expect(REQUEST_CODES.has(code), `${method} ${JSON.stringify(req).slice(0, 400)} → ${name}`).toBe(true);
        }),
        fuzzRuns(RUNS),
      );
      expect(grownMb, `the api kept ${grownMb.toFixed(1)} MB more heap after hostile calls`).toBeLessThan(RETAINED_BOUND_MB);
      const md = new Metadata();
      md.set('authorization', `Bearer ${VIEWER}`);
      const ok = await new Promise<boolean>((resolve) => client.listGuests({ cluster: '' }, md, (err) => resolve(!err)));
      expect(ok).toBe(true);
      console.info(`gRPC fuzz: ${fuzzRuns(RUNS)} calls (seed ${FUZZ_SEED}); codes ${JSON.stringify(Object.fromEntries(seen))}; heap kept after a full collection ${grownMb >= 0 ? '+' : ''}${grownMb.toFixed(1)} MB (bound ${RETAINED_BOUND_MB} MB)`);
    },
    fuzzTimeoutMs(RUNS, 100),
  );
});
