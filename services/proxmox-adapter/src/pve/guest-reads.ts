import type {
  GuestAddresses,
  GuestConfig,
  GuestDisk,
  GuestInterface,
  GuestNic,
  GuestSnapshots,
  GuestType,
  HaStatus,
  HaStatusEntry,
  ProxmoxTask,
} from '@molten/contracts';
import { splitTags } from './pve-schemas.js';

/**
 * Proxmox's answers for a guest's page, turned into the contract's messages. Pure functions:
 * what comes in was checked by the client's zod schemas; here only shape and meaning change.
 */

// ---- rrddata ----

/**
 * Proxmox's step for a timeframe (pve-cluster `PVE::RRD::create_rrd_data`): PVE 9's files
 * (`pve-vm-9.0`) keep 1 min, 30 min, 6 h and 1 week; PVE 8's (`pve2-vm`) 1 min, 30 min, 3 h,
 * 12 h, 1 week.
 */
export function rrdStep(timeframe: string, pveMajor: number): number {
  const pve9: Record<string, number> = { hour: 60, day: 60, week: 1800, month: 1800, year: 21_600, decade: 604_800 };
  const pve2: Record<string, number> = { hour: 60, day: 1800, week: 10_800, month: 43_200, year: 604_800, decade: 604_800 };
  return (pveMajor >= 9 ? pve9 : pve2)[timeframe] ?? 60;
}

/** The step the answer itself shows (its last two points), else the release's table. */
export function observedStep(points: readonly { time: number }[], timeframe: string, pveMajor: number): number {
  const n = points.length;
  const d = n >= 2 ? points[n - 1]!.time - points[n - 2]!.time : 0;
  return d > 0 ? d : rrdStep(timeframe, pveMajor);
}

// ---- config ----

type Config = Record<string, unknown>;

/** A Proxmox property string (`local-lvm:vm-1-disk-0,size=32G` or `order=scsi0;net0`). */
export function parsePropertyString(value: string, defaultKey?: string): { first: string | undefined; props: Record<string, string> } {
  const props: Record<string, string> = {};
  let first: string | undefined;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (first === undefined) first = part;
      continue;
    }
    props[part.slice(0, eq).trim()] = part.slice(eq + 1);
  }
  if (first === undefined && defaultKey && props[defaultKey] !== undefined) first = props[defaultKey];
  return { first, props };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
const int = (v: unknown, fallback: number): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(parsePropertyString(v, 'current').first ?? NaN) : NaN;
  return Number.isFinite(n) ? Math.trunc(n) : fallback;
};
const flag = (v: unknown): boolean => v === 1 || v === true || v === '1' || v === 'on' || v === 'yes';

/** `32G`, `4M`, `709474K` → bytes. */
export function sizeBytes(size: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/i.exec(size ?? '');
  if (!m) return 0;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  return Math.round(Number(m[1]) * unit);
}

/** A volume as shown: credentials in a URL (`iscsi://user:pass@host/…`) are cut out. */
function volumeShown(volume: string): string {
  return volume.replace(/(\/\/)[^/@\s]*@/, '$1');
}

const QEMU_DISK = /^(ide|sata|scsi|virtio)\d+$/;

function diskOf(key: string, value: string, type: GuestType): GuestDisk | undefined {
  const { first, props } = parsePropertyString(value, type === 'lxc' ? 'volume' : 'file');
  const volume = first ?? '';
  let kind: string;
  if (type === 'lxc') kind = key === 'rootfs' ? 'rootfs' : 'mountpoint';
  else if (key.startsWith('efidisk')) kind = 'efidisk';
  else if (key.startsWith('tpmstate')) kind = 'tpmstate';
  else if (/cloudinit/.test(volume)) kind = 'cloudinit';
  else if (props.media === 'cdrom') kind = 'cdrom';
  else kind = 'disk';
  const colon = volume.indexOf(':');
  const storage = volume.startsWith('/') || colon < 0 || /^[a-z]+:\/\//i.test(volume) ? '' : volume.slice(0, colon);
  return {
    key,
    kind,
    storage,
    volume: volumeShown(volume),
    sizeBytes: sizeBytes(props.size),
    mountpoint: type === 'lxc' ? (key === 'rootfs' ? '/' : (props.mp ?? '')) : '',
  };
}

const QEMU_NIC_MODELS = new Set(['virtio', 'e1000', 'e1000e', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em', 'i82551', 'i82557b', 'i82559er', 'ne2k_isa', 'ne2k_pci', 'pcnet', 'rtl8139', 'vmxnet3']);

function nicOf(key: string, value: string, type: GuestType, ipconfig: string | undefined): GuestNic {
  const { props } = parsePropertyString(value);
  let model = type === 'lxc' ? (props.type ?? 'veth') : (props.model ?? '');
  let mac = props.hwaddr ?? props.macaddr ?? '';
  if (type === 'qemu') {
    for (const m of QEMU_NIC_MODELS) {
      if (props[m] !== undefined) {
        model = m;
        mac = props[m]!;
      }
    }
    if (!model) {
      const bare = parsePropertyString(value).first;
      if (bare && QEMU_NIC_MODELS.has(bare)) model = bare;
    }
  }
  const ip = type === 'lxc' ? props : parsePropertyString(ipconfig ?? '').props;
  return {
    key,
    model,
    mac,
    bridge: props.bridge ?? '',
    vlanTag: int(props.tag, 0),
    firewall: flag(props.firewall),
    linkDown: flag(props.link_down),
    name: type === 'lxc' ? (props.name ?? '') : '',
    ip: ip.ip ?? '',
    ip6: ip.ip6 ?? '',
    gateway: ip.gw ?? '',
  };
}

function byIndex(a: string, b: string): number {
  const [, pa = '', na = '0'] = /^(\D+)(\d*)$/.exec(a) ?? [];
  const [, pb = '', nb = '0'] = /^(\D+)(\d*)$/.exec(b) ?? [];
  return pa === pb ? Number(na) - Number(nb) : pa < pb ? -1 : 1;
}

/** The QEMU guest agent is enabled: `agent: 1`, `agent: enabled=1,…` (`agent: 0` is off). */
export function agentEnabled(agent: unknown): boolean {
  if (agent === undefined || agent === null) return false;
  if (typeof agent === 'number' || typeof agent === 'boolean') return flag(agent);
  const { first, props } = parsePropertyString(String(agent), 'enabled');
  return flag(first ?? props.enabled);
}

/**
 * GET …/config summarised. Only the keys read here leave the adapter; cipassword, env, args,
 * description, hookscript, sshkeys, cicustom and anything else are never read, so no secret a
 * config can hold is passed on.
 */
export function guestConfigSummary(ref: { vmid: number; node: string; type: GuestType }, c: Config): GuestConfig {
  const qm = ref.type === 'qemu';
  const keys = Object.keys(c);
  const disks = keys
    .filter((k) => (qm ? QEMU_DISK.test(k) || /^(efidisk|tpmstate)\d+$/.test(k) : k === 'rootfs' || /^mp\d+$/.test(k)))
    .sort(byIndex)
    .map((k) => diskOf(k, String(c[k]), ref.type))
    .filter((d): d is GuestDisk => d !== undefined);
  const nics = keys
    .filter((k) => /^net\d+$/.test(k))
    .sort(byIndex)
    .map((k) => nicOf(k, String(c[k]), ref.type, str(c[`ipconfig${k.slice(3)}`])));
  const cores = int(c.cores, qm ? 1 : 0);
  const sockets = qm ? int(c.sockets, 1) : 1;
  const boot = str(c.boot) ?? '';
  const order = parsePropertyString(boot).props.order;
  const bootOrder = order !== undefined ? order.split(';').filter(Boolean) : legacyBoot(boot, str(c.bootdisk));
  const balloon = qm && c.balloon !== undefined ? int(c.balloon, 0) : undefined;
  const summary: GuestConfig = {
    vmid: ref.vmid,
    node: ref.node,
    type: ref.type,
    name: str(qm ? c.name : c.hostname) ?? '',
    ostype: str(c.ostype) ?? (qm ? 'other' : ''),
    cores,
    sockets,
    vcpus: qm ? int(c.vcpus, sockets * cores) : cores,
    cpulimit: Number(c.cpulimit ?? 0) || 0,
    cpuType: qm ? (parsePropertyString(str(c.cpu) ?? '', 'cputype').first ?? '') : '',
    memoryMib: int(c.memory, 512),
    swapMib: qm ? 0 : int(c.swap, 512),
    disks,
    nics,
    bootOrder: qm ? bootOrder : [],
    agentEnabled: qm && agentEnabled(c.agent),
    bios: qm ? (str(c.bios) ?? 'seabios') : '',
    machine: qm ? (str(c.machine) ?? '') : '',
    onboot: flag(c.onboot),
    protection: flag(c.protection),
    template: flag(c.template),
    unprivileged: !qm && flag(c.unprivileged),
    arch: str(c.arch) ?? (qm ? '' : 'amd64'),
    cloudInit: disks.some((d) => d.kind === 'cloudinit'),
    lock: str(c.lock) ?? '',
    parent: str(c.parent) ?? '',
    digest: str(c.digest) ?? '',
    tags: splitTags(str(c.tags)),
  };
  if (balloon !== undefined) summary.balloonMib = balloon;
  return summary;
}

/** `boot: cdn` with `bootdisk: scsi0` (deprecated): disk, CD-ROM, network. */
function legacyBoot(boot: string, bootdisk: string | undefined): string[] {
  const legacy = parsePropertyString(boot, 'legacy').first ?? '';
  if (!/^[acdn]+$/.test(legacy)) return [];
  return [...legacy].map((ch) => (ch === 'c' ? (bootdisk ?? 'disk') : ch === 'd' ? 'cdrom' : ch === 'n' ? 'network' : 'floppy'));
}

// ---- addresses ----

type AgentIface = { name: string; 'hardware-address'?: string; 'ip-addresses'?: { 'ip-address'?: string; 'ip-address-type'?: string; prefix?: number }[] };

function family(t: string | undefined): string {
  return t === 'ipv6' || t === 'inet6' ? 'ipv6' : t === 'ipv4' || t === 'inet' ? 'ipv4' : (t ?? '');
}

export function interfacesOf(list: readonly AgentIface[]): GuestInterface[] {
  return list.map((i) => ({
    name: i.name,
    mac: i['hardware-address'] ?? '',
    addresses: (i['ip-addresses'] ?? [])
      .filter((a) => a['ip-address'])
      .map((a) => ({ address: a['ip-address']!, family: family(a['ip-address-type']), prefix: Math.trunc(a.prefix ?? 0) })),
  }));
}

/**
 * Proxmox's refusals of the agent read (qemu-server `assert_agent_available`), as an answer:
 * the reason phrase of its 500.
 */
export function agentUnavailable(vmid: number, reason: string): Pick<GuestAddresses, 'unavailable' | 'message'> | undefined {
  if (/QEMU guest agent is not running/i.test(reason)) {
    return {
      unavailable: 'agent_not_running',
      message: `${reason}: install and start qemu-guest-agent in the guest, and check that the VM's Options → QEMU Guest Agent is enabled (a change needs a VM restart).`,
    };
  }
  if (/No QEMU guest agent configured/i.test(reason)) {
    return {
      unavailable: 'agent_not_configured',
      message: `${reason}: enable Options → QEMU Guest Agent on the VM (qm set ${vmid} --agent 1), install qemu-guest-agent in the guest, and restart the VM.`,
    };
  }
  if (/\bis not running\b|\bnot running\b/i.test(reason)) {
    return { unavailable: 'guest_stopped', message: `${reason}: the guest has no addresses while it is stopped.` };
  }
  return undefined;
}

// ---- tasks ----

type TaskRow = { upid: string; type: string; id?: string; user?: string; node?: string; starttime: number; endtime?: number; status?: string; tokenid?: unknown };

/** pve-common `normalize_status_type`. */
export function statusType(status: string | undefined, running: boolean): string {
  if (running) return 'running';
  if (!status) return 'unknown';
  if (status === 'OK') return 'ok';
  if (/^WARNINGS: \d+$/.test(status)) return 'warning';
  if (status === 'unexpected status') return 'unknown';
  return 'error';
}

export function taskOf(r: TaskRow): ProxmoxTask {
  const running = r.status === 'RUNNING' || r.endtime === undefined;
  // The task list splits a token's user into user and tokenid (pve-manager $convert_token_task).
  const user = typeof r.tokenid === 'string' && r.user && !r.user.includes('!') ? `${r.user}!${r.tokenid}` : (r.user ?? '');
  const t: ProxmoxTask = {
    upid: r.upid,
    node: r.node ?? '',
    type: r.type,
    id: r.id ?? '',
    user,
    starttime: Math.trunc(r.starttime),
    status: running ? 'running' : (r.status ?? ''),
    statusType: statusType(r.status, running),
  };
  if (!running && r.endtime !== undefined) t.endtime = Math.trunc(r.endtime);
  return t;
}

// ---- snapshots ----

type SnapshotRow = { name: string; description?: string; snaptime?: number; parent?: string; vmstate?: boolean; snapstate?: string; running?: boolean };

export function snapshotsOf(vmid: number, rows: readonly SnapshotRow[]): GuestSnapshots {
  const current = rows.find((r) => r.name === 'current');
  const snapshots = rows
    .filter((r) => r.name !== 'current')
    .sort((a, b) => (a.snaptime ?? 0) - (b.snaptime ?? 0) || (a.name < b.name ? -1 : 1))
    .map((r) => {
      const s = { name: r.name, description: r.description ?? '', parent: r.parent ?? '', vmstate: r.vmstate === true, snapstate: r.snapstate ?? '' } as GuestSnapshots['snapshots'][number];
      if (r.snaptime !== undefined) s.snaptime = Math.trunc(r.snaptime);
      return s;
    });
  return { vmid, snapshots, currentParent: current?.parent ?? '', running: current?.running === true };
}

// ---- HA ----

type HaRow = {
  id: string;
  type: string;
  node?: string;
  status?: string;
  sid?: string;
  state?: string;
  crm_state?: string;
  request_state?: string;
  max_restart?: number;
  max_relocate?: number;
  quorate?: boolean;
  'armed-state'?: string;
  timestamp?: number;
};

/** The HA manager's entries; with a vmid, only that guest's resource besides the cluster-wide ones. */
export function haStatusOf(rows: readonly HaRow[], vmid = 0): HaStatus {
  const entries: HaStatusEntry[] = [];
  let managed = false;
  for (const r of rows) {
    const sidVmid = Number(/^(?:vm|ct):(\d+)$/.exec(r.sid ?? '')?.[1] ?? 0);
    if (r.type === 'service' && vmid && sidVmid !== vmid) continue;
    if (r.type === 'service' && sidVmid) managed ||= !vmid || sidVmid === vmid;
    entries.push({
      id: r.id,
      type: r.type,
      node: r.node ?? '',
      status: r.status ?? '',
      sid: r.sid ?? '',
      vmid: sidVmid,
      state: r.state ?? '',
      crmState: r.crm_state ?? '',
      requestState: r.request_state ?? '',
      maxRestart: Math.trunc(r.max_restart ?? 0),
      maxRelocate: Math.trunc(r.max_relocate ?? 0),
      quorate: r.quorate === true,
      armedState: r['armed-state'] ?? '',
      timestamp: Math.trunc(r.timestamp ?? 0),
    });
  }
  return { entries, managed };
}
