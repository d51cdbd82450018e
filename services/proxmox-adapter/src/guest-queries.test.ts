import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, requestQuery, type Bus, type QueryReplyOf, type QueryServer } from '@molten/bus';
import type { QueryName } from '@molten/contracts';
import { DEMO_TOKEN, type PveSimulator } from '@molten/simulators/pve';
import { NatsServer, testLogger } from '@molten/testkit';
import { startTestSimulator } from '../../../simulators/test/pve-client.js';
import type { ClusterDriver, GuestRef } from './driver.js';
import { guestQueryHandlers, startGuestQueries } from './guest-queries.js';
import { PveDriver } from './pve/pve-driver.js';

/**
 * The guest page's queries end to end below the api: a real nats-server, the adapter's responder
 * in its queue group, the pve driver, and the PVE simulator.
 */
const log = testLogger('guest-queries');
let sim: PveSimulator;
let nats: NatsServer;
let bus: Bus;
let asker: Bus;
let driver: PveDriver;
let server: QueryServer;

const locateIn = (s: PveSimulator) => async (vmid: number): Promise<GuestRef | undefined> => {
  const g = s.guest(vmid);
  return g && { vmid, node: g.node, type: g.type };
};
const driverFor = (s: PveSimulator, token: { id: string; secret: string } = DEMO_TOKEN) =>
  new PveDriver('homelab', { url: s.url, token: `${token.id}=${token.secret}`, tls: { caFile: s.caFile } });

beforeAll(async () => {
  [sim, nats] = await Promise.all([startTestSimulator(), NatsServer.start()]);
  bus = await connectBus({ servers: nats.url, name: 'adapter', log });
  asker = await connectBus({ servers: nats.url, name: 'api', log });
  driver = driverFor(sim);
  await driver.version();
  server = startGuestQueries(bus, { driver, locate: locateIn(sim), cluster: 'homelab', log });
  await bus.nc.flush();
});
afterAll(async () => {
  await server?.stop();
  await Promise.all([bus?.close(), asker?.close()]);
  await driver?.close();
  await sim?.close();
  await nats?.dispose();
});

function ask<Q extends QueryName>(what: Q, request: Parameters<typeof requestQuery<Q>>[1]['request']): Promise<QueryReplyOf<Q>> {
  return requestQuery(asker, { domain: 'proxmox', scope: 'homelab', what, request, timeoutMs: 20_000 });
}
const guest = (vmid: number) => ({ guest: { vmid, node: '', type: '' } });
/** The reply's data, or a failed expectation showing its error. */
function data<T extends { result?: { $case: string; value: unknown } }>(r: T, $case: string): any {
  expect(r.result?.$case, JSON.stringify(r.result)).toBe($case);
  return r.result!.value;
}

describe('history', () => {
  it('twenty pages asking at once cost one rrddata read; the answer lasts until the next step', async () => {
    sim.clearRequests();
    const replies = await Promise.all(Array.from({ length: 20 }, () => ask('guest-rrd', { ...guest(110), timeframe: 'hour', cf: '' })));
    expect(sim.countRequests({ path: /\/qemu\/110\/rrddata$/ })).toBe(1);
    const first = data(replies[0]!, 'rrd');
    expect(first).toMatchObject({ vmid: 110, node: 'pve1', timeframe: 'hour', cf: 'AVERAGE', stepS: 60 });
    expect(first.points.length).toBeGreaterThanOrEqual(59);
    for (const r of replies) expect(data(r, 'rrd').points).toEqual(first.points);
    const stepEnd = (Math.floor(replies[0]!.fetchedAtMs / 60_000) + 1) * 60_000;
    expect(replies[0]!.freshUntilMs).toBe(stepEnd + 10_000);
    // Asking again within the step reads nothing upstream; another cf or timeframe is its own read.
    await ask('guest-rrd', { ...guest(110), timeframe: 'hour', cf: 'AVERAGE' });
    expect(sim.countRequests({ path: /\/qemu\/110\/rrddata$/ })).toBe(1);
    await ask('guest-rrd', { ...guest(110), timeframe: 'hour', cf: 'MAX' });
    await ask('guest-rrd', { ...guest(110), timeframe: 'week', cf: '' });
    expect(sim.countRequests({ path: /\/qemu\/110\/rrddata$/ })).toBe(3);
  });

  it('a stopped stretch keeps its gaps: limits set, usage unset (not 0)', async () => {
    const rrd = data(await ask('guest-rrd', { ...guest(304), timeframe: 'hour', cf: '' }), 'rrd');
    for (const p of rrd.points) {
      expect(p.maxcpu).toBe(4);
      expect(p.cpu).toBeUndefined();
      expect(p.netin).toBeUndefined();
    }
    const running = data(await ask('guest-rrd', { ...guest(200), timeframe: 'day', cf: 'MAX' }), 'rrd');
    expect(running.stepS).toBe(60);
    expect(running.points.at(-1).cpu).toBeGreaterThan(0);
  });

  it('expires with Proxmox\'s step: one read per guest, timeframe and step', async () => {
    let t = Date.UTC(2026, 4, 21, 10, 0, 5);
    const h = guestQueryHandlers({ driver, locate: locateIn(sim), cluster: 'homelab', log, now: () => t });
    const read = () => h['guest-rrd']!({ ...guest(202), timeframe: 'week', cf: 'AVERAGE' });
    await read();
    t += 25 * 60_000; // same 30-minute step
    await read();
    expect(h.cache.loads).toBe(1);
    t = Date.UTC(2026, 4, 21, 10, 30, 10); // the next step, after the settle delay
    const again = await read();
    expect(h.cache.loads).toBe(2);
    expect(again.freshUntilMs).toBe(Date.UTC(2026, 4, 21, 11, 0, 10));
  });

  it('a node\'s history, decade included on PVE 9', async () => {
    const rrd = data(await ask('node-rrd', { node: 'pve2', timeframe: 'decade', cf: '' }), 'rrd');
    expect(rrd).toMatchObject({ node: 'pve2', stepS: 604_800 });
    expect(rrd.points.at(-1)).toMatchObject({ memtotal: 32 * 1024 ** 3, maxcpu: 12 });
  });
});

describe('config, addresses, snapshots, HA', () => {
  it('config summary with no secret of the config in it', async () => {
    const vm = data(await ask('guest-config', guest(110)), 'config');
    expect(vm).toMatchObject({ vmid: 110, type: 'qemu', name: 'k3s-server-1', cores: 2, sockets: 1, memoryMib: 4096, agentEnabled: true, cloudInit: true, parent: 'pre-k3s-1-33', bootOrder: ['scsi0', 'ide2', 'net0'] });
    expect(vm.nics[0]).toMatchObject({ model: 'virtio', bridge: 'vmbr0', firewall: true, ip: '192.168.1.110/24', gateway: '192.168.1.1' });
    const ct = data(await ask('guest-config', guest(302)), 'config');
    expect(ct).toMatchObject({ type: 'lxc', name: 'vaultwarden', ostype: 'unmanaged', unprivileged: true });
    const win = data(await ask('guest-config', guest(203)), 'config');
    expect(win).toMatchObject({ ostype: 'win11', bios: 'ovmf', memoryMib: 8192 });
    const all = JSON.stringify([vm, ct, win]);
    for (const secret of ['ADMIN_TOKEN', 'sim-vaultwarden-admin', 'Tr0ub4dor', '**********', '$5$', 'ssh-ed25519', 'debian@', 'entrypoint']) expect(all).not.toContain(secret);
  });

  it('addresses from the agent or the container; otherwise why not, as an answer', async () => {
    const vm = data(await ask('guest-addresses', guest(110)), 'addresses');
    expect(vm).toMatchObject({ source: 'qemu-agent', unavailable: '' });
    expect(vm.interfaces.find((i: any) => i.name === 'ens18').addresses).toContainEqual({ address: '192.168.1.110', family: 'ipv4', prefix: 24 });
    const ct = data(await ask('guest-addresses', guest(100)), 'addresses');
    expect(ct.source).toBe('lxc');
    expect(ct.interfaces.find((i: any) => i.name === 'eth0').addresses[0]).toMatchObject({ family: 'ipv4', prefix: 24 });
    const cases: [number, string, RegExp][] = [
      [300, 'agent_not_running', /^QEMU guest agent is not running: install and start qemu-guest-agent/],
      [303, 'agent_not_configured', /qm set 303 --agent 1/],
      [304, 'guest_stopped', /VM 304 is not running/],
    ];
    for (const [vmid, unavailable, message] of cases) {
      const a = data(await ask('guest-addresses', guest(vmid)), 'addresses');
      expect(a, String(vmid)).toMatchObject({ unavailable, interfaces: [] });
      expect(a.message).toMatch(message);
    }
    sim.setStatus(103, 'stopped');
    expect(data(await ask('guest-addresses', guest(103)), 'addresses')).toMatchObject({ source: 'lxc', unavailable: 'guest_stopped' });
    sim.setStatus(103, 'running');
  });

  it('snapshots as a tree, and the HA manager\'s view of one guest', async () => {
    const s = data(await ask('guest-snapshots', guest(304)), 'snapshots');
    expect(s).toMatchObject({ vmid: 304, currentParent: 'world-v2', running: false });
    expect(s.snapshots.map((x: any) => [x.name, x.parent])).toEqual([['world-v1', ''], ['world-v2', 'world-v1']]);
    const ha = data(await ask('ha-status', { vmid: 101 }), 'status');
    expect(ha.managed).toBe(true);
    expect(ha.entries.map((e: any) => e.type)).toEqual(['quorum', 'master', 'lrm', 'lrm', 'lrm', 'service']);
    expect(ha.entries.at(-1)).toMatchObject({ sid: 'vm:101', vmid: 101, state: 'started', crmState: 'started', requestState: 'started' });
    expect(data(await ask('ha-status', { vmid: 110 }), 'status').managed).toBe(false);
  });

  it('tasks of a guest, whoever started them, and a task\'s log', async () => {
    const list = data(await ask('guest-tasks', { ...guest(303), limit: 0, since: 0, errorsOnly: false, typefilter: '' }), 'tasks');
    expect(list.total).toBeGreaterThanOrEqual(list.tasks.length);
    const pause = list.tasks.find((t: any) => t.type === 'qmpause');
    expect(pause).toMatchObject({ user: 'alice@pve', status: 'OK', statusType: 'ok', node: 'pve3', id: '303' });
    const log = data(await ask('task-log', { upid: list.tasks.find((t: any) => t.type === 'vzdump').upid, start: 0, limit: 3 }), 'log');
    expect(log.lines).toEqual([
      { n: 1, text: expect.stringMatching(/^INFO: starting new backup job: vzdump 303/) },
      { n: 2, text: 'INFO: Starting Backup of VM 303 (qemu)' },
      { n: 3, text: expect.stringMatching(/^INFO: Backup started at/) },
    ]);
    expect(log).toMatchObject({ running: false, exitstatus: expect.stringMatching(/^(OK|WARNINGS: 1)$/) });
    expect(log.total).toBeGreaterThan(10);
  });
});

describe('one missing privilege degrades one panel', () => {
  it('without VM.GuestAgent.Audit: addresses answer forbidden with the privilege and pveum; the rest works', async () => {
    const token = { id: 'molten@pve!ro', secret: 'f1e2d3c4-0000-4000-8000-000000000001' };
    sim.addToken({ ...token, privileges: ['VM.Audit', 'Sys.Audit', 'Datastore.Audit'] });
    const limited = driverFor(sim, token);
    const h = guestQueryHandlers({ driver: limited, locate: locateIn(sim), cluster: 'homelab', log });
    try {
      const addresses = await h['guest-addresses']!(guest(110));
      expect(addresses.result).toMatchObject({
        $case: 'error',
        value: { code: 'forbidden', privilege: 'VM.GuestAgent.Audit', upstreamStatus: '403', remedy: expect.stringContaining('pveum role modify MoltenOperator -append 1 -privs VM.GuestAgent.Audit') },
      });
      expect((await h['guest-config']!(guest(110))).result?.$case).toBe('config');
      expect((await h['guest-snapshots']!(guest(110))).result?.$case).toBe('snapshots');
      expect((await h['guest-rrd']!({ ...guest(110), timeframe: 'hour', cf: '' })).result?.$case).toBe('rrd');
    } finally {
      await limited.close();
    }
  });

  it('without Sys.Audit: only its own tasks listed, and another user\'s log forbidden with Sys.Audit named', async () => {
    const token = { id: 'molten@pve!vms', secret: 'f1e2d3c4-0000-4000-8000-000000000002' };
    sim.addToken({ ...token, privileges: { '/vms': ['VM.Audit'] } });
    const limited = driverFor(sim, token);
    const h = guestQueryHandlers({ driver: limited, locate: locateIn(sim), cluster: 'homelab', log });
    try {
      const mine = await h['guest-tasks']!({ ...guest(303), limit: 0, since: 0, errorsOnly: false, typefilter: '' });
      expect(data(mine, 'tasks').tasks).toEqual([]);
      const theirs = data(await ask('guest-tasks', { ...guest(303), limit: 1, since: 0, errorsOnly: false, typefilter: '' }), 'tasks').tasks[0];
      const log = await h['task-log']!({ upid: theirs.upid, start: 0, limit: 0 });
      expect(log.result).toMatchObject({ $case: 'error', value: { code: 'forbidden', privilege: 'Sys.Audit', message: expect.stringContaining('/nodes/pve3') } });
    } finally {
      await limited.close();
    }
  });
});

describe('bad asks', () => {
  it('invalid requests name the field; an unknown guest is not_found; a driver without the guest page is unsupported', async () => {
    const bad = await ask('guest-rrd', { guest: { vmid: 5, node: '', type: '' }, timeframe: 'decade', cf: 'MIN' });
    expect(bad.result).toMatchObject({ $case: 'error', value: { code: 'invalid' } });
    const fields = (bad.result as { value: { fields: Record<string, string> } }).value.fields;
    expect(Object.keys(fields).sort()).toEqual(['cf', 'guest.vmid', 'timeframe']);
    expect((await ask('task-log', { upid: 'not-a-upid', start: 0, limit: 0 })).result).toMatchObject({ $case: 'error', value: { code: 'invalid', fields: { upid: 'must be a Proxmox task id (UPID:node:…)' } } });
    expect((await ask('guest-config', guest(4242))).result).toMatchObject({ $case: 'error', value: { code: 'not_found', message: 'guest 4242 is not in cluster homelab (as of the adapter\'s last read)' } });
    // Hints let a guest the adapter has not polled yet be read.
    expect((await ask('guest-config', { guest: { vmid: 110, node: 'pve1', type: 'qemu' } })).result?.$case).toBe('config');

    const mcp = { kind: 'proxmox-mcp', capabilities: () => [] } as unknown as ClusterDriver;
    const h = guestQueryHandlers({ driver: mcp, locate: locateIn(sim), cluster: 'homelab', log });
    expect((await h['guest-addresses']!(guest(110))).result).toMatchObject({ $case: 'error', value: { code: 'unsupported', remedy: expect.stringContaining('PVE_URL') } });
  });
});
