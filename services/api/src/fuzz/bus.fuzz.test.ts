import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatePublisher, busHeaders, connectBus, decodeBySubject, decodeCommandRecord, decodeStateValue, type Bus } from '@molten/bus';
import { CommandStatus, MESSAGE_TYPES, ServerStatus, encodeMessage, subjects, type Guest, type MessageTypeName } from '@molten/contracts';
import { NatsServer, capturingLogger, testLogger, waitFor } from '@molten/testkit';
import { apiFixture } from '../test/api-fixture.js';
import { FUZZ_SEED, fuzzRuns, fuzzTimeoutMs } from './fuzz-config.js';

/**
 * Property: whatever lands on the subjects the api consumes (state, command status and progress,
 * events, heartbeats) and in its KV buckets — protobuf garbage, the wrong molten-type, a valid
 * message of another kind or another id — the api neither crashes nor answers 500, and every
 * message its decoder refuses is logged with its subject (or key), live and on hydration.
 */

const guest = (vmid: number): Guest => ({
  cluster: 'homelab', vmid, name: `vm${vmid}`, node: 'pve1', type: 'qemu', status: 'running', qmpstatus: 'running',
  cpu: 0.1, maxcpu: 2, mem: 1, maxmem: 2, disk: 0, maxdisk: 10, uptime: 100, tags: [], template: false,
  netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [],
});
const ULID = (n: number) => `01JFZ${String(n).padStart(21, '0')}`;
const server = (id: string) => ({
  id, name: id, kind: 'mcp', domain: 'proxmox', scope: 'homelab', endpoint: 'stdio:x', transport: 'stdio', status: ServerStatus.SERVER_STATUS_CONNECTED,
  statusReason: '', remedy: '', reachable: true, authenticated: true, usable: true, latencyMs: 1, lastSeenMs: 1, statusSinceMs: 1, version: '',
  tools: [], capabilities: [], demo: false, methods: [], reporter: 'fuzz',
});

/** A valid value of a few types, to be put where it belongs or where it does not. */
const VALUES: Partial<Record<MessageTypeName, (n: number, id: string) => unknown>> = {
  'molten.v1.Guest': (n, id) => guest(/^\d+$/.test(id) ? Number(id) : 100 + n),
  'molten.v1.UpstreamServer': (_n, id) => server(id),
  'molten.v1.Node': (_n, id) => ({ cluster: 'homelab', node: id, status: 'online', cpu: 0, maxcpu: 1, mem: 0, maxmem: 1, disk: 0, maxdisk: 1, uptime: 1, level: '', loadavg: [], imprecise: [] }),
  'molten.v1.CommandTransition': (n) => ({ commandId: ULID(n), status: CommandStatus.COMMAND_STATUS_RUNNING, atMs: 1, message: 'x', by: 'fuzz', upstreamTaskId: '', resultJson: '' }),
  'molten.v1.CommandProgress': (n) => ({ commandId: ULID(n), seq: 1, atMs: 1, stream: 'stdout', text: 'x' }),
};
/**
 * Well-formed values of a kind, with its own id, and every other field wild: what a buggy adapter
 * could publish that passes every check. The api must still answer.
 */
const wildString = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', '%', '<script>', 'x'.repeat(1000), '\u0000', 'NaN'));
// Unsigned integers (most numeric fields are uint32/uint64; what protobuf cannot carry is not sent anyway).
const wildNumber = fc.oneof(fc.nat(), fc.constantFrom(0, 4_294_967_295, Number.MAX_SAFE_INTEGER));
const wildUint = fc.oneof(fc.integer({ min: 0, max: 4_294_967_295 }), fc.constantFrom(0, 4_294_967_295));
const wildStrings = fc.array(wildString, { maxLength: 4 });
const WILD: Record<string, (id: string) => fc.Arbitrary<{ type: MessageTypeName; value: unknown }>> = {
  qemu: (id) => fc.record({ name: wildString, node: wildString.filter((x) => x.length > 0), status: wildString, qmpstatus: fc.option(wildString, { nil: undefined }), cpu: wildNumber, maxcpu: wildNumber, mem: wildNumber, maxmem: wildNumber, uptime: wildNumber, tags: wildStrings, template: fc.boolean(), imprecise: wildStrings, lock: fc.option(wildString, { nil: undefined }) })
    .map((w) => ({ type: 'molten.v1.Guest' as const, value: { ...guest(Number(id)), ...w } })),
  lxc: (id) => fc.record({ name: wildString, status: wildString, mem: wildNumber, netin: wildNumber, tags: wildStrings }).map((w) => ({ type: 'molten.v1.Guest' as const, value: { ...guest(Number(id)), type: 'lxc', qmpstatus: undefined, ...w } })),
  node: (id) => fc.record({ status: wildString, cpu: wildNumber, maxcpu: wildNumber, mem: wildNumber, uptime: wildNumber, level: wildString, loadavg: wildStrings, nodeid: fc.option(wildNumber, { nil: undefined }), pveversion: fc.option(wildString, { nil: undefined }) })
    .map((w) => ({ type: 'molten.v1.Node' as const, value: { ...(VALUES['molten.v1.Node']!(0, id) as object), ...w } })),
  storage: (id) => fc.record({ storage: wildString, node: wildString, type: wildString, content: wildStrings, status: wildString, shared: fc.boolean(), used: wildNumber, total: wildNumber, imprecise: wildStrings })
    .map((w) => ({ type: 'molten.v1.Storage' as const, value: { cluster: 'homelab', id, ...w } })),
  cluster: (id) => fc.record({ name: wildString, standalone: fc.boolean(), quorate: fc.boolean(), version: wildNumber, upstreamVersion: wildString, demo: fc.boolean(), nodes: fc.array(fc.record({ name: wildString, nodeid: wildNumber, ip: wildString, online: fc.boolean(), local: fc.boolean(), level: wildString }), { maxLength: 3 }) })
    .map((w) => ({ type: 'molten.v1.ClusterStatus' as const, value: { cluster: id, ...w } })),
  server: (id) => fc.record({
    name: wildString, kind: wildString.filter((x) => x.length > 0), endpoint: wildString, transport: wildString, status: fc.integer({ min: 0, max: 40 }), statusReason: wildString, remedy: wildString,
    latencyMs: wildNumber, lastSeenMs: wildNumber, statusSinceMs: wildNumber, version: wildString, demo: fc.boolean(), methods: wildStrings, reporter: wildString,
    tools: fc.array(fc.record({ name: wildString, title: wildString, description: wildString, inputSchemaJson: fc.oneof(wildString, fc.constantFrom('{"type":"object"}', '{', 'null', '[]', '{"$ref":"#"}', '{"type":"object","properties":{"a":{"$ref":"#"}}}')) }), { maxLength: 3 }),
    capabilities: fc.array(fc.record({ action: wildString, available: fc.boolean(), reason: wildString, privilege: wildString }), { maxLength: 3 }),
    toolsConfirmedMs: fc.option(wildNumber, { nil: undefined }), toolsStale: fc.option(fc.boolean(), { nil: undefined }), protocolVersion: fc.option(wildString, { nil: undefined }),
  }).map((w) => ({ type: 'molten.v1.UpstreamServer' as const, value: { ...server(id), ...w } })),
};
void wildUint;

/** A wild value's bytes, or undefined when protobuf cannot encode it (the adapter could not have sent it). */
function wildBytes(kind: string, id: string, n: number): Uint8Array | undefined {
  const [w] = fc.sample(WILD[kind]!(id), { seed: FUZZ_SEED + n, numRuns: 1 });
  try {
    return encodeMessage(w!.type, w!.value as never);
  } catch {
    return undefined;
  }
}

const TYPE_NAMES = Object.keys(MESSAGE_TYPES) as MessageTypeName[];
const KINDS = ['qemu', 'lxc', 'node', 'storage', 'cluster', 'server', 'gateway', 'agent', 'session', 'widget'];

type Where = { family: 'state'; kind: string } | { family: 'status' | 'progress' | 'event' | 'heartbeat' };
const where: fc.Arbitrary<Where> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...KINDS).map((kind): Where => ({ family: 'state', kind })) },
  fc.constantFrom<Where>({ family: 'status' }, { family: 'progress' }, { family: 'event' }, { family: 'heartbeat' }),
);
const header = fc.oneof(fc.constant<string | undefined>(undefined), fc.constant('right'), fc.constantFrom(...TYPE_NAMES), fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x21-\x7e]/g, '') || 'x'));
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 256 }).map((b) => ({ bytes: b })),
  fc.constantFrom(...(Object.keys(VALUES) as MessageTypeName[])).chain((type) => fc.boolean().map((ownId) => ({ type, ownId }))),
  fc.constant({ bytes: new Uint8Array() }),
);
const plain = fc.record({ where, header, payload, del: fc.boolean(), kv: fc.boolean() });
/** A well-formed message of the right kind and id, wild otherwise, on its own subject with its own header. */
const wild = fc.constantFrom(...Object.keys(WILD)).map((kind) => ({ where: { family: 'state', kind } as Where, header: 'right' as string | undefined, payload: { wild: kind }, del: false, kv: true }));
const message = fc.oneof({ weight: 3, arbitrary: plain }, { weight: 1, arbitrary: wild });

describe('fuzz: what the api reads from the bus', () => {
  let nats: NatsServer;
  let bus: Bus;
  beforeAll(async () => {
    nats = await NatsServer.start();
    bus = await connectBus({ servers: nats.url, name: 'mallory', log: testLogger() });
  });
  afterAll(async () => {
    await bus?.close();
    await nats?.dispose();
  });

  const readsBelow500 = async (fx: Awaited<ReturnType<typeof apiFixture>>, n: number) => {
    for (const p of ['/api/vms', '/api/nodes', '/api/storage', '/api/servers', '/api/agents', '/api/commands', `/api/commands/${ULID(n)}`, '/api/health', '/api/cluster/status']) {
      const r = await fx.json(p);
      expect(r.status, `${p}: ${JSON.stringify(r.body).slice(0, 300)} ${JSON.stringify(logOf(r.body))}`).toBeLessThan(500);
    }
  };
  let logOf: (body: unknown) => unknown = () => undefined;

  const RUNS = 60;
  it(
    'neither crashes nor answers 500, and logs every message it refuses (live, then on hydration)',
    async () => {
      const cap = capturingLogger('api', 'warn');
      const fx = await apiFixture({}, nats, cap.log);
      // A 500's log line (by request id), so that a failure says what broke.
      logOf = (body) => cap.lines.find((l) => l.msg === 'request failed' && JSON.stringify(body).includes(String(l.requestId)))?.err;
      const publisher = new StatePublisher(bus, 'proxmox', 'homelab');
      let n = 0;
      let refused = 0;
      let applied = 0;
      const badKeys: string[] = [];
      // What the api holds is kept bounded (older applied resources and sentinels are removed again),
      // so that a long run costs time in proportion to its count.
      const kept: { subject: string; type: string }[] = [];
      const KEEP = 50;
      let lastSentinel: string | undefined;
      const loggedSubjects = new Set<unknown>();
      let scanned = 0;
      const logged = (subject: string) => {
        for (; scanned < cap.lines.length; scanned++) loggedSubjects.add(cap.lines[scanned]!.subject);
        return loggedSubjects.has(subject);
      };
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 4 }), async (batch) => {
            const bad: string[] = [];
            for (const m of batch) {
              n++;
              const id = m.where.family === 'state' && (m.where.kind === 'qemu' || m.where.kind === 'lxc') ? String(100_000 + n) : `fz-${n}`;
              const subject =
                m.where.family === 'state' ? `molten.state.proxmox.homelab.${m.where.kind}.${id}`
                : m.where.family === 'status' ? subjects.commandStatus(ULID(n))
                : m.where.family === 'progress' ? subjects.commandProgress(ULID(n))
                : m.where.family === 'event' ? `molten.event.proxmox.homelab.qemu.${id}.fuzzed`
                : subjects.heartbeat('proxmox', `fz-${n}`);
              const data =
                'bytes' in m.payload ? m.payload.bytes
                : 'wild' in m.payload ? wildBytes(m.payload.wild, id, n)
                : encodeMessage(m.payload.type, VALUES[m.payload.type]!(n, m.payload.ownId ? id : `other-${n}`) as never);
              if (!data) continue; // a wild value protobuf cannot carry (a negative uint64): nothing to send
              const right = m.where.family === 'state' ? (({ qemu: 'molten.v1.Guest', lxc: 'molten.v1.Guest', server: 'molten.v1.UpstreamServer', node: 'molten.v1.Node', cluster: 'molten.v1.ClusterStatus' }) as Record<string, string>)[m.where.kind] ?? 'molten.v1.Storage' : 'molten.v1.CommandTransition';
              const type = m.header === 'right' ? right : m.header;
              const h = type ? busHeaders('molten.v1.Guest', m.del ? { 'molten-op': 'DEL' } : {}) : undefined;
              if (h && type) h.set('molten-type', type);
              const raw = { subject, data, headers: h };
              // The oracle for "bad": the decoder the api uses (events and watches by subject, heartbeats by type).
              let refusedHere = false;
              try {
                if (m.where.family === 'heartbeat') {
                  const { decodeBus } = await import('@molten/bus');
                  decodeBus(raw, ['molten.v1.Heartbeat']);
                } else decodeBySubject(raw);
              } catch {
                refusedHere = true;
              }
              if (refusedHere) bad.push(subject);
              if (refusedHere) refused++;
              else {
                applied++;
                if (m.where.family === 'state' && !m.del && type) kept.push({ subject, type });
              }
              bus.nc.publish(subject, data, h ? { headers: h } : undefined);
              if (m.kv && m.where.family === 'state' && m.where.kind !== 'widget') {
                const key = subject.slice('molten.state.'.length);
                await bus.kv.state.put(key, data);
                try {
                  decodeStateValue(key, data);
                } catch {
                  badKeys.push(key);
                }
              }
              if (m.kv && m.where.family === 'status') {
                const key = `cmd.${ULID(n)}`;
                await bus.kv.commands.put(key, data);
                try {
                  decodeCommandRecord(key, data);
                } catch {
                  badKeys.push(key);
                }
              }
            }
            // A sentinel after the batch: once the api shows it, it has read the batch.
            n++;
            await publisher.put('qemu', String(n + 500_000), guest(n + 500_000));
            await waitFor(async () => (await fx.json(`/api/vms/${n + 500_000}/status`)).status === 200, { message: 'sentinel seen' });
            await readsBelow500(fx, n);
            for (const s of bad) {
              await waitFor(() => logged(s), { message: `a log line for the refused message on ${s}`, timeoutMs: 5_000 });
            }
            if (lastSentinel) await publisher.remove('qemu', lastSentinel);
            lastSentinel = String(n + 500_000);
            while (kept.length > KEEP) {
              const old = kept.shift()!;
              bus.nc.publish(old.subject, new Uint8Array(), { headers: busHeaders(old.type as MessageTypeName, { 'molten-op': 'DEL' }) });
              await bus.kv.state.delete(old.subject.slice('molten.state.'.length));
            }
          }),
          { seed: FUZZ_SEED, numRuns: fuzzRuns(RUNS), endOnFailure: true },
        );
      } finally {
        await fx.dispose();
      }
      // A restart hydrates the buckets as they are now: every entry that does not fit is logged by key.
      const again = capturingLogger('api', 'warn');
      const fx2 = await apiFixture({}, nats, again.log);
      try {
        await readsBelow500(fx2, n);
        const logged = new Set(again.lines.map((l) => l.key));
        expect(badKeys.filter((k) => !logged.has(k))).toEqual([]);
      } finally {
        await fx2.dispose();
      }
      console.info(`bus fuzz: ${n} messages in ${fuzzRuns(RUNS)} batches (seed ${FUZZ_SEED}); ${refused} refused and logged, ${applied} applied; ${badKeys.length} bad KV entries logged on hydration`);
    },
    fuzzTimeoutMs(RUNS, 400),
  );
});
