import { createHash } from 'node:crypto';
import { mix, type ClusterModel, type Guest, type Snapshot } from './cluster-model.js';
import type { PveRelease } from './version.js';

/**
 * GET /nodes/{node}/{qemu|lxc}/{vmid}/config: the guest's config file as qemu-server and
 * pve-container return it. Values keep the types PVE's config parsers give them (qemu-server
 * `parse_vm_config` → `check_type`): integers and booleans as numbers, property strings as
 * strings — `memory` is a string since it became a property string (`[current=]<MiB>`, PVE 8.1),
 * `agent` is a string (`1`, `enabled=1,fstrim_cloned_disks=1`). The cloud-init password comes
 * back as `**********` (qemu-server `API2/Qemu.pm` `vm_config`: `$conf->{cipassword} =
 * '**********' if $conf->{cipassword}`), but other keys carry secrets in clear: an OCI
 * container's `env` (PVE 9.1), `args`, free-text `description`.
 */
export type Config = Record<string, string | number>;

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function uuid(vmid: number, salt: number): string {
  const h = [mix(vmid, salt), mix(vmid, salt + 1), mix(vmid, salt + 2), mix(vmid, salt + 3)].map((x) => x.toString(16).padStart(8, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const size = (bytes: number) => (bytes % GiB === 0 ? `${bytes / GiB}G` : `${Math.round(bytes / MiB)}M`);

/** The keys a guest's config file holds from its creation on (qm create / pct create defaults). */
export function staticConfig(g: Guest, release: PveRelease): Config {
  const created = Math.floor(g.createdAt / 1000);
  if (g.type === 'lxc') {
    return {
      arch: 'amd64',
      ostype: 'debian',
      rootfs: `local-lvm:vm-${g.vmid}-disk-0,size=${size(g.maxdisk)}`,
      net0: `name=eth0,bridge=vmbr0,firewall=1,gw=192.168.1.1,hwaddr=${g.mac},ip=${g.ipv4}/24,type=veth`,
      nameserver: '192.168.1.1',
      searchdomain: 'home.arpa',
      onboot: 1,
      unprivileged: 1,
      features: 'nesting=1',
    };
  }
  const machine = release.pve9Metrics ? '9.2' : '8.1';
  return {
    boot: 'order=scsi0;ide2;net0',
    cpu: 'x86-64-v2-AES',
    ide2: 'none,media=cdrom',
    meta: `creation-qemu=${machine}.0,ctime=${created}`,
    net0: `virtio=${g.mac},bridge=vmbr0,firewall=1`,
    numa: 0,
    ostype: 'l26',
    scsi0: `local-lvm:vm-${g.vmid}-disk-0,iothread=1,size=${size(g.maxdisk)}`,
    scsihw: 'virtio-scsi-single',
    smbios1: `uuid=${uuid(g.vmid, 11)}`,
    sockets: 1,
    vmgenid: uuid(g.vmid, 21),
  };
}

/** The config as GET …/config returns it: static keys, the guest's live settings, then overrides. */
export function guestConfig(model: ClusterModel, g: Guest, release: PveRelease): Config {
  const c: Config = { ...staticConfig(g, release), ...g.config };
  if (g.type === 'qemu') {
    c.name = g.name;
    c.cores = Math.max(1, Math.round(g.cpus / Number(c.sockets ?? 1)));
    // memory is a property string since PVE 8.1; plain integers before.
    c.memory = release.pve9Metrics ? String(Math.round(g.maxmem / MiB)) : Math.round(g.maxmem / MiB);
    if (g.agent !== undefined && c.agent === undefined) c.agent = g.agent ? '1' : '0';
    if (g.lock === 'suspended') c.vmstate = `local-lvm:vm-${g.vmid}-state-suspend-${isoDay(g)}`;
  } else {
    c.hostname = g.name;
    c.cores = g.cpus;
    c.memory = Math.round(g.maxmem / MiB);
    c.swap = Math.round(g.maxswap / MiB);
  }
  if (g.tags.length) c.tags = g.tags.join(';');
  if (g.template) c.template = 1;
  if (g.lock) c.lock = g.lock;
  if (g.parent) c.parent = g.parent;
  if (g.type === 'qemu' && typeof c.cipassword === 'string' && c.cipassword) c.cipassword = '**********';
  c.digest = digest(c, g);
  return sorted(c);
}

/** A snapshot's config section (GET …/snapshot/{name}/config): what the guest was, plus snapshot keys. */
export function snapshotConfig(model: ClusterModel, g: Guest, s: Snapshot, release: PveRelease): Config {
  const base = Object.keys(s.config).length ? { ...s.config } : guestConfig(model, g, release);
  delete base.digest;
  delete base.lock;
  delete base.parent;
  const c: Config = { ...base, snaptime: s.snaptime };
  if (s.description) c.description = s.description;
  if (s.parent) c.parent = s.parent;
  if (s.snapstate) c.snapstate = s.snapstate;
  if (s.vmstate) {
    c.vmstate = s.vmstate;
    c.runningmachine = 'pc-i440fx-9.2+pve1';
    c.runningcpu = 'qemu64,+aes,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+pni,+popcnt,+sse4.1,+sse4.2,+ssse3';
  }
  if (g.type === 'qemu' && typeof c.cipassword === 'string' && c.cipassword) c.cipassword = '**********';
  return sorted(c);
}

/** The config as it is now, kept in a new snapshot (no lock, no digest, no parent). */
export function configForSnapshot(model: ClusterModel, g: Guest, release: PveRelease): Config {
  const c = { ...staticConfig(g, release), ...g.config, ...guestConfig(model, g, release) };
  // Keep the real cipassword in the stored copy (the view masks it again).
  if (g.config.cipassword !== undefined) c.cipassword = g.config.cipassword;
  delete c.digest;
  delete c.lock;
  delete c.parent;
  return c;
}

/** The day the guest was hibernated (its last power change), as in the state volume's name. */
function isoDay(g: Guest): string {
  const last = g.powerLog.at(-1)?.at ?? Date.now();
  return new Date(last).toISOString().slice(0, 10);
}

/** SHA-1 of the config file as written (the real digest is of the file's bytes). */
function digest(c: Config, g: Guest): string {
  const h = createHash('sha1');
  for (const k of Object.keys(c).sort()) h.update(`${k}: ${c[k]}\n`);
  for (const s of g.snapshots.values()) h.update(`[${s.name}]\nsnaptime: ${s.snaptime}\n${s.snapstate ?? ''}`);
  return h.digest('hex');
}

function sorted(c: Config): Config {
  const out: Config = {};
  for (const k of Object.keys(c).sort()) out[k] = c[k]!;
  return out;
}
