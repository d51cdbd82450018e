import type { ClusterSpec, GuestSpec, GuestType, NodeSpec, StorageSpec } from './cluster-model.js';
import type { PveTokenSpec } from './auth.js';
import { createRng } from './rng.js';

/**
 * Ready-made clusters. `demo` is a hand-written homelab that shows every state a dashboard has
 * to render; `generated` builds N nodes × M guests from a seed (for scale tests and benches);
 * `empty` has nodes and storage only, for tests that add exactly the guests they need.
 */
export type Preset = 'demo' | 'generated' | 'empty';

/**
 * The token `npm start`'s demo mode and most tests use: the privileges the adapter needs on
 * PVE 9 — the guest page's snapshots, rollbacks and guest agent reads included, and what
 * hibernating (suspend to disk) needs besides VM.PowerMgmt: VM.Config.Disk and, on the storage
 * that takes the RAM, Datastore.AllocateSpace.
 */
export const DEMO_TOKEN: PveTokenSpec = {
  id: 'root@pam!molten',
  secret: '5e1d8a3c-7f2b-4c9e-9a61-3b8f0d2e6c47',
  privileges: [
    'VM.Audit', 'VM.PowerMgmt', 'Sys.Audit', 'Datastore.Audit',
    'VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.GuestAgent.Audit', 'VM.Config.Disk', 'Datastore.AllocateSpace',
  ],
};

export const DEMO_CLUSTER_NAME = 'homelab';

/** Each node: local (dir), local-lvm (lvm-thin); the cluster: a shared NFS backup store. */
export function defaultStorages(opts: { shared: boolean }): StorageSpec[] {
  const storages: StorageSpec[] = [
    {
      storage: 'local',
      type: 'dir',
      content: ['backup', 'iso', 'vztmpl'],
      sizeGiB: 94,
      usedFraction: 0.21,
      config: { path: '/var/lib/vz' },
    },
    {
      storage: 'local-lvm',
      type: 'lvmthin',
      content: ['images', 'rootdir'],
      sizeGiB: 832,
      usedFraction: 0.38,
      config: { thinpool: 'data', vgname: 'pve' },
    },
  ];
  if (opts.shared) {
    storages.push({
      storage: 'nas-backup',
      type: 'nfs',
      content: ['backup', 'iso'],
      shared: true,
      sizeGiB: 7450,
      usedFraction: 0.46,
      config: {
        server: '192.168.1.20',
        export: '/mnt/tank/pve-backup',
        path: '/mnt/pve/nas-backup',
        options: 'vers=4.2',
        'prune-backups': 'keep-daily=7,keep-weekly=4',
      },
    });
  }
  return storages;
}

/**
 * Three nodes of different sizes running the usual homelab services: LXC containers, a
 * template, a guest locked by a backup, a paused VM, an HA-managed VM, a Windows VM that ignores
 * ACPI shutdown, and tags everywhere.
 */
export function demoCluster(): ClusterSpec {
  const nodes: NodeSpec[] = [
    { name: 'pve1', ip: '192.168.1.11', sockets: 1, cores: 8, threads: 16, memoryGiB: 64, cpuModel: 'AMD Ryzen 7 5700G with Radeon Graphics', uptime: 1_734_512 },
    { name: 'pve2', ip: '192.168.1.12', sockets: 1, cores: 6, threads: 12, memoryGiB: 32, cpuModel: 'Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz', uptime: 1_734_260 },
    { name: 'pve3', ip: '192.168.1.13', sockets: 1, cores: 4, threads: 4, memoryGiB: 16, cpuModel: 'Intel(R) N100', uptime: 602_118 },
  ];
  const qemu = (s: Omit<GuestSpec, 'type'>): GuestSpec => ({ type: 'qemu', ...s });
  const lxc = (s: Omit<GuestSpec, 'type'>): GuestSpec => ({ type: 'lxc', ...s });
  const guests: GuestSpec[] = [
    lxc({ vmid: 100, node: 'pve1', name: 'pihole', status: 'running', cpus: 1, memory: 512, diskSize: 8, tags: ['dns', 'infra'], load: { cpu: 0.02, mem: 0.35 },
      snapshots: [{ name: 'pre-v6', description: 'before Pi-hole v6', ageHours: 72 }] }),
    qemu({ vmid: 101, node: 'pve1', name: 'home-assistant', status: 'running', cpus: 2, memory: 4096, diskSize: 32, tags: ['automation', 'home'], ha: true, agent: true, load: { cpu: 0.06, mem: 0.55 },
      config: { bios: 'ovmf', machine: 'q35', efidisk0: 'local-lvm:vm-101-disk-1,efitype=4m,pre-enrolled-keys=0,size=4M', onboot: 1, usb0: 'host=10c4:ea60' },
      snapshots: [{ name: 'before-2026-5', description: 'Before the Home Assistant 2026.5 update', ageHours: 240 }] }),
    qemu({ vmid: 102, node: 'pve1', name: 'nextcloud', status: 'running', cpus: 4, memory: 8192, diskSize: 64, tags: ['cloud', 'web'], lock: 'backup', agent: true, load: { cpu: 0.18, mem: 0.62 },
      config: { balloon: 4096, scsi1: 'local-lvm:vm-102-disk-1,backup=0,iothread=1,size=500G', onboot: 1 } }),
    lxc({ vmid: 103, node: 'pve1', name: 'gitea', status: 'running', cpus: 2, memory: 1024, diskSize: 16, tags: ['dev'], load: { cpu: 0.03, mem: 0.4 } }),
    qemu({ vmid: 110, node: 'pve1', name: 'k3s-server-1', status: 'running', cpus: 2, memory: 4096, diskSize: 40, tags: ['k3s'], agent: true, load: { cpu: 0.12, mem: 0.7 }, ip: '192.168.1.110',
      config: cloudInit(110, '192.168.1.110'),
      snapshots: [{ name: 'pre-k3s-1-33', description: 'k3s 1.32, before upgrading to 1.33', vmstate: true, ageHours: 400 }] }),
    qemu({ vmid: 9000, node: 'pve1', name: 'debian-12-cloudinit', template: true, cpus: 2, memory: 2048, diskSize: 3, tags: ['template'],
      config: cloudInit(9000) }),
    qemu({ vmid: 200, node: 'pve2', name: 'plex', status: 'running', cpus: 4, memory: 8192, diskSize: 64, tags: ['media'], agent: true, load: { cpu: 0.22, mem: 0.5 },
      config: { hostpci0: '0000:00:02.0,pcie=0', onboot: 1 } }),
    lxc({ vmid: 201, node: 'pve2', name: 'arr-stack', status: 'running', cpus: 2, memory: 2048, diskSize: 32, tags: ['media'], load: { cpu: 0.05, mem: 0.45 } }),
    qemu({ vmid: 202, node: 'pve2', name: 'k3s-agent-1', status: 'running', cpus: 2, memory: 4096, diskSize: 40, tags: ['k3s'], agent: true, load: { cpu: 0.1, mem: 0.6 }, ip: '192.168.1.111',
      config: cloudInit(202, '192.168.1.111') }),
    qemu({ vmid: 203, node: 'pve2', name: 'win11', status: 'stopped', cpus: 4, memory: 8192, diskSize: 128, tags: ['desktop'], ignoresShutdown: true, agent: true,
      config: {
        bios: 'ovmf', machine: 'pc-q35-9.2', ostype: 'win11', cpu: 'host',
        efidisk0: 'local-lvm:vm-203-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M',
        tpmstate0: 'local-lvm:vm-203-disk-2,size=4M,version=v2.0',
        ide0: 'local:iso/virtio-win-0.1.271.iso,media=cdrom,size=709474K',
        boot: 'order=scsi0;ide0;net0',
        // Free text in the config: people do write passwords here.
        description: 'Windows 11 desktop for the kids.\nLocal admin password: Tr0ub4dor&3',
      } }),
    lxc({ vmid: 204, node: 'pve2', name: 'paperless-ngx', status: 'running', cpus: 2, memory: 2048, diskSize: 16, tags: ['docs'], load: { cpu: 0.04, mem: 0.5 } }),
    qemu({ vmid: 300, node: 'pve3', name: 'k3s-agent-2', status: 'running', cpus: 2, memory: 4096, diskSize: 40, tags: ['k3s'], agent: true, agentRunning: false, load: { cpu: 0.09, mem: 0.58 }, ip: '192.168.1.112',
      config: cloudInit(300, '192.168.1.112') }),
    lxc({ vmid: 301, node: 'pve3', name: 'unifi', status: 'running', cpus: 1, memory: 1024, diskSize: 8, tags: ['network'], load: { cpu: 0.03, mem: 0.6 } }),
    // An OCI application container (PVE 9.1): its environment, secrets included, is in the config.
    lxc({ vmid: 302, node: 'pve3', name: 'vaultwarden', status: 'running', cpus: 1, memory: 512, diskSize: 4, tags: ['security', 'web'], load: { cpu: 0.01, mem: 0.3 },
      config: { ostype: 'unmanaged', entrypoint: '/start.sh', env: 'DOMAIN=https://vault.home.arpa\0ADMIN_TOKEN=sim-vaultwarden-admin-4c1f9e2b\0SIGNUPS_ALLOWED=false' } }),
    qemu({ vmid: 303, node: 'pve3', name: 'kali-lab', status: 'paused', cpus: 2, memory: 4096, diskSize: 48, tags: ['lab'] }),
    qemu({ vmid: 304, node: 'pve3', name: 'minecraft', status: 'stopped', cpus: 4, memory: 6144, diskSize: 32, tags: ['games'], agent: true,
      snapshots: [
        { name: 'world-v1', description: 'Survival world, day 1', ageHours: 900 },
        { name: 'world-v2', description: 'After the nether update', ageHours: 300 },
      ] }),
    lxc({ vmid: 305, node: 'pve3', name: 'uptime-kuma', status: 'running', cpus: 1, memory: 512, diskSize: 4, tags: ['monitoring'], load: { cpu: 0.02, mem: 0.4 } }),
  ];
  return { clusterName: DEMO_CLUSTER_NAME, nodes, guests, storages: defaultStorages({ shared: true }) };
}

/** A VM cloned from the cloud-init template: its cloud-init drive, user, password and keys. */
function cloudInit(vmid: number, ip?: string): Record<string, string | number> {
  return {
    ide2: `local-lvm:vm-${vmid}-cloudinit,media=cdrom`,
    ciuser: 'debian',
    // PVE stores the password hashed; GET …/config shows it as **********.
    cipassword: '$5$rounds=5000$molten$Qm9nVXNlZEluVGVzdHMwbmx5LnNpbQ',
    ipconfig0: ip ? `ip=${ip}/24,gw=192.168.1.1` : 'ip=dhcp',
    sshkeys: 'ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIMoltenSimulatedKeyForTestsOnly000000000%20admin%40homelab',
    serial0: 'socket',
    vga: 'serial0',
  };
}

const SERVICES = [
  'web', 'db', 'cache', 'k3s-agent', 'runner', 'proxy', 'dns', 'grafana', 'media', 'backup', 'dev', 'build',
  'mail', 'vpn', 'git', 'ci', 'minio', 'mqtt', 'nextcloud', 'immich', 'jellyfin', 'postgres', 'redis', 'traefik',
] as const;
const TAGS = ['prod', 'dev', 'k3s', 'db', 'web', 'media', 'infra', 'monitoring'] as const;

export interface GeneratedClusterOptions {
  nodes: number | readonly string[];
  guestsPerNode: number;
  seed: number;
  /** Undefined: standalone (only valid for one node). */
  clusterName: string | undefined;
}

/**
 * N nodes × M guests, deterministic for a seed: about 30 % containers, 70 % running, and on
 * every node a template; across the cluster a few paused VMs, backup locks and HA guests.
 * vmids are 100, 101, … in node order.
 */
export function generatedCluster(o: GeneratedClusterOptions): ClusterSpec {
  const rng = createRng(o.seed);
  const nodes = nodeSpecs(o.nodes, o.clusterName === undefined, rng);
  const guests: GuestSpec[] = [];
  let vmid = 100;
  for (const node of nodes) {
    for (let i = 0; i < o.guestsPerNode; i++, vmid++) {
      const isTemplate = o.guestsPerNode >= 5 && i === o.guestsPerNode - 1;
      const type: GuestType = !isTemplate && rng.chance(0.3) ? 'lxc' : 'qemu';
      const roll = rng.next();
      const status = isTemplate ? 'stopped' : roll < 0.68 ? 'running' : type === 'qemu' && roll < 0.71 ? 'paused' : 'stopped';
      const tags = rng.chance(0.8) ? [...new Set([rng.pick(TAGS), ...(rng.chance(0.4) ? [rng.pick(TAGS)] : [])])].sort() : [];
      guests.push({
        vmid,
        type,
        node: node.name,
        name: isTemplate ? `${rng.pick(['debian-12', 'ubuntu-24.04', 'rocky-9'])}-template` : `${rng.pick(SERVICES)}-${vmid}`,
        status,
        template: isTemplate || undefined,
        cpus: type === 'lxc' ? rng.pick([1, 1, 2, 4]) : rng.pick([1, 2, 2, 4, 8]),
        memory: type === 'lxc' ? rng.pick([256, 512, 1024, 2048]) : rng.pick([1024, 2048, 4096, 8192, 16384]),
        diskSize: type === 'lxc' ? rng.pick([4, 8, 16, 32]) : rng.pick([16, 32, 64, 128]),
        tags: isTemplate ? ['template'] : tags,
        lock: !isTemplate && status !== 'paused' && rng.chance(0.01) ? 'backup' : undefined,
        ha: !isTemplate && status !== 'paused' && rng.chance(0.08) ? true : undefined,
        agent: type === 'qemu' ? rng.chance(0.7) : undefined,
      });
    }
  }
  return { clusterName: o.clusterName, nodes, guests, storages: defaultStorages({ shared: o.clusterName !== undefined }) };
}

export function emptyCluster(o: Omit<GeneratedClusterOptions, 'guestsPerNode'>): ClusterSpec {
  return { ...generatedCluster({ ...o, guestsPerNode: 0 }), guests: [] };
}

const NODE_HARDWARE = [
  { cpuModel: 'AMD Ryzen 7 5700G with Radeon Graphics', sockets: 1, cores: 8, threads: 16, memoryGiB: 64 },
  { cpuModel: 'Intel(R) Core(TM) i5-12500T', sockets: 1, cores: 6, threads: 12, memoryGiB: 64 },
  { cpuModel: 'Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz', sockets: 1, cores: 6, threads: 12, memoryGiB: 128 },
  { cpuModel: 'AMD EPYC 7302P 16-Core Processor', sockets: 1, cores: 16, threads: 32, memoryGiB: 256 },
] as const;

function nodeSpecs(nodes: number | readonly string[], standalone: boolean, rng: ReturnType<typeof createRng>): NodeSpec[] {
  const names =
    typeof nodes === 'number'
      ? standalone && nodes === 1
        ? ['pve']
        : Array.from({ length: nodes }, (_, i) => `pve${i + 1}`)
      : [...nodes];
  return names.map((name, i) => ({
    name,
    ip: `10.0.${Math.floor(i / 200)}.${11 + (i % 200)}`,
    ...rng.pick(NODE_HARDWARE),
  }));
}
