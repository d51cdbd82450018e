import type { Capability, Command, CommandStatus, Guest, PveNode, Server, Snapshot, Storage } from '$lib/api/types';

const GiB = 1024 ** 3;

export function guest(p: Partial<Guest> = {}): Guest {
  const vmid = p.vmid ?? 101;
  return {
    vmid,
    name: `guest-${vmid}`,
    node: 'pve1',
    type: 'qemu',
    status: 'running',
    qmpstatus: p.type === 'lxc' ? undefined : 'running',
    cpu: 0.12,
    maxcpu: 4,
    mem: 2 * GiB,
    maxmem: 8 * GiB,
    disk: 0,
    maxdisk: 32 * GiB,
    uptime: 3 * 86_400 + 4 * 3600,
    tags: [],
    template: false,
    netin: 0,
    netout: 0,
    diskread: 0,
    diskwrite: 0,
    cluster: 'homelab',
    lastSeen: new Date().toISOString(),
    stale: false,
    ...p,
  };
}

const NAMES = ['web', 'db', 'cache', 'ci', 'media', 'dns', 'vpn', 'git', 'k8s', 'backup'];
const TAGS = ['prod', 'dev', 'web', 'db', 'k8s', 'media', 'infra'];

/** n guests over three nodes, a mix of VMs/CTs and states; deterministic. */
export function guests(n: number, first = 100): Guest[] {
  return Array.from({ length: n }, (_, i) => {
    const vmid = first + i;
    const type = i % 3 === 0 ? 'lxc' : 'qemu';
    const stopped = i % 7 === 3;
    const paused = !stopped && type === 'qemu' && i % 53 === 5;
    return guest({
      vmid,
      name: `${NAMES[i % NAMES.length]}-${String(i).padStart(4, '0')}`,
      node: `pve${((i % 5) % 3) + 1}`,
      type,
      status: stopped ? 'stopped' : 'running',
      qmpstatus: type === 'lxc' ? undefined : stopped ? 'stopped' : paused ? 'paused' : 'running',
      cpu: stopped ? 0 : ((i * 37) % 100) / 100,
      mem: stopped ? 0 : (((i * 13) % 16) + 1) * 0.5 * GiB,
      maxmem: 8 * GiB,
      uptime: stopped ? 0 : (i * 7919) % (40 * 86_400),
      tags: [TAGS[i % TAGS.length]!, ...(i % 4 === 0 ? [TAGS[(i + 3) % TAGS.length]!] : [])],
      ...(i % 97 === 11 ? { lock: 'backup' } : {}),
      template: i % 211 === 17,
    });
  });
}

export function node(p: Partial<PveNode> = {}): PveNode {
  return {
    node: 'pve1',
    status: 'online',
    cpu: 0.23,
    maxcpu: 16,
    mem: 40 * GiB,
    maxmem: 64 * GiB,
    disk: 20 * GiB,
    maxdisk: 100 * GiB,
    uptime: 12 * 86_400,
    level: '',
    loadavg: ['0.5', '0.4', '0.3'],
    cluster: 'homelab',
    lastSeen: new Date().toISOString(),
    stale: false,
    ...p,
  };
}

export function storage(p: Partial<Storage> = {}): Storage {
  const used = p.used ?? 300 * GiB;
  const total = p.total ?? 1000 * GiB;
  return {
    id: 'pve1/local-lvm',
    storage: 'local-lvm',
    node: 'pve1',
    type: 'lvmthin',
    content: ['images', 'rootdir'],
    status: 'available',
    shared: false,
    used,
    total,
    avail: total - used,
    used_fraction: used / total,
    cluster: 'homelab',
    lastSeen: new Date().toISOString(),
    stale: false,
    ...p,
  };
}

export function command(p: Partial<Command> & { status?: CommandStatus } = {}): Command {
  const now = new Date().toISOString();
  return {
    id: '01JD0000000000000000000001',
    correlationId: '01JD0000000000000000000001',
    actor: { kind: 'user', name: 'operator', role: 'operator' },
    domain: 'proxmox',
    scope: 'homelab',
    action: 'vm-stop',
    target: { kind: 'guest', cluster: 'homelab', vmid: 101, node: 'pve1', type: 'qemu', action: 'stop' },
    status: 'requested',
    message: '',
    createdAt: now,
    updatedAt: now,
    acceptBy: now,
    deadline: now,
    transitions: [{ status: 'requested', at: now, message: 'queued', by: 'api' }],
    ...p,
  };
}

/** A command moved along its lifecycle: one transition per status. */
export function commandAt(base: Command, ...statuses: CommandStatus[]): Command {
  const now = new Date().toISOString();
  return {
    ...base,
    status: statuses.at(-1) ?? base.status,
    transitions: [...base.transitions, ...statuses.map((status) => ({ status, at: now, message: status, by: 'adapter' }))],
  };
}

export function server(p: Partial<Server> = {}, capabilities: Capability[] = []): Server {
  return {
    id: 'pve-homelab',
    name: 'Proxmox VE (homelab)',
    kind: 'proxmox-ve',
    domain: 'proxmox',
    scope: 'homelab',
    endpoint: 'https://127.0.0.1:8006',
    transport: 'https',
    status: 'connected',
    statusReason: 'ok',
    reachable: true,
    authenticated: true,
    usable: true,
    latencyMs: 4.2,
    lastSeen: new Date().toISOString(),
    statusSince: new Date().toISOString(),
    stale: false,
    version: '9.0.3',
    demo: true,
    toolCount: 0,
    tools: [],
    capabilities,
    reporter: 'proxmox-adapter-1',
    ...p,
  };
}

export function snapshot(p: Partial<Snapshot> = {}): Snapshot {
  return {
    seq: 10,
    at: new Date().toISOString(),
    defaultCluster: 'homelab',
    demo: true,
    approvals: [],
    clusters: [
      {
        id: 'homelab',
        status: { cluster: 'homelab', name: 'homelab', standalone: false, quorate: true, version: 3, nodes: [], upstreamVersion: 'pve-manager/9.0.3', demo: true },
        nodes: [node(), node({ node: 'pve2' })],
        guests: guests(20),
        storage: [storage()],
      },
    ],
    servers: [server()],
    gateways: [],
    agents: [],
    sessions: [],
    commands: [],
    role: 'operator',
    ...p,
  };
}
