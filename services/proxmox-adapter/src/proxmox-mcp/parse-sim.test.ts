import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxmoxMcpSimulator, type OutputFormat, type ProxmoxMcpSimulator } from '@molten/simulators/proxmox-mcp';
import { DEMO_TOKEN, startPveSimulator, type PveSimulator } from '@molten/simulators/pve';
import { parseClusterStatus } from './parse-cluster.js';
import { parseNodeStatus, parseNodes } from './parse-nodes.js';
import { parseStorage } from './parse-storage.js';
import { parseContainersJson, parseContainersPretty, parseVms } from './parse-vms.js';

/**
 * The parsers against answers the simulator writes from a PVE simulator's state, in each
 * style: a second source of fixtures beside the hand-written ones, checked against the truth.
 */
const near = (got: number, want: number) => Math.abs(got - want) <= Math.max(1, want * 0.005);

let pve: PveSimulator;
let sim: ProxmoxMcpSimulator;

beforeAll(async () => {
  pve = await startPveSimulator({ loadIntervalMs: 0 });
  sim = await startProxmoxMcpSimulator({ pve: { url: pve.url, token: `${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`, ca: pve.ca }, restPort: false, mcpPort: false, cache: false });
});
afterAll(async () => {
  await sim?.close();
  await pve?.close();
});

async function text(tool: string, args: Record<string, unknown> = {}) {
  const r = await sim.callTool(tool, args);
  expect(r.isError, r.text).toBe(false);
  return r.text;
}

describe.each(['ascii', 'emoji', 'bullets'] as OutputFormat[])('parsers on the simulator\'s %s answers', (format) => {
  beforeAll(() => sim.setFormat(format));

  it('get_vms: every qemu guest with its name, node, status (paused split out) and memory within rounding', async () => {
    const parsed = parseVms(await text('get_vms'), 'homelab');
    const truth = pve.guests({ type: 'qemu' });
    expect(parsed.map((g) => g.vmid).sort()).toEqual(truth.map((g) => g.vmid).sort());
    for (const g of truth) {
      const p = parsed.find((x) => x.vmid === g.vmid)!;
      expect(p).toMatchObject({ name: g.name, node: g.node, type: 'qemu', status: g.status, qmpstatus: g.qmpstatus, maxcpu: g.cpus });
      expect(near(p.maxmem, g.maxmem), `${g.vmid} maxmem ${p.maxmem} vs ${g.maxmem}`).toBe(true);
    }
  });

  it('get_containers: JSON exact, pretty within rounding', async () => {
    const truth = pve.guests({ type: 'lxc' });
    const json = parseContainersJson(await text('get_containers', { format_style: 'json' }), 'homelab');
    const pretty = parseContainersPretty(await text('get_containers'), 'homelab');
    for (const list of [json, pretty]) expect(list.map((g) => g.vmid).sort()).toEqual(truth.map((g) => g.vmid).sort());
    for (const g of truth) {
      expect(json.find((x) => x.vmid === g.vmid)).toMatchObject({ name: g.name, node: g.node, type: 'lxc', status: g.status, maxmem: g.maxmem, maxcpu: g.cpus });
      const p = pretty.find((x) => x.vmid === g.vmid)!;
      expect(p).toMatchObject({ name: g.name, status: g.status });
      expect(near(p.maxmem, g.maxmem)).toBe(true);
    }
  });

  it('get_nodes and get_node_status', async () => {
    const nodes = parseNodes(await text('get_nodes'), 'homelab');
    expect(nodes.map((n) => n.node)).toEqual([...pve.nodes]);
    expect(nodes.every((n) => n.status === 'online' && n.maxcpu > 0 && n.maxmem > 0 && n.uptime > 0)).toBe(true);
    const one = parseNodeStatus(await text('get_node_status', { node: pve.nodes[0] }), 'homelab');
    expect(one).toMatchObject({ node: pve.nodes[0], status: 'unknown' });
    expect(near(one.maxmem, nodes[0]!.maxmem)).toBe(true);
  });

  it('get_storage and get_cluster_status', async () => {
    const storage = parseStorage(await text('get_storage'), 'homelab', { node: pve.nodes[0] });
    expect(storage.map((s) => s.storage)).toEqual(['local', 'local-lvm', 'nas-backup']);
    expect(storage.every((s) => s.status === 'available' && s.total > 0)).toBe(true);
    expect(parseClusterStatus(await text('get_cluster_status'))).toMatchObject({ name: 'homelab', quorate: true, standalone: false, nodeCount: pve.nodes.length });
  });
});
