import { mix, type ClusterModel, type Guest } from './cluster-model.js';
import type { TaskRegistry } from './tasks.js';

/**
 * The tasks a cluster has behind it when the simulator starts, so a guest's task list is not
 * empty: nightly backups (`vzdump`, by `root@pam`, with vzdump's log), the guest's last start,
 * the snapshots it has, a Windows VM's failed ACPI shutdown, and a VM paused by another user
 * (`alice@pve`), whose tasks a token without Sys.Audit on the node neither lists nor may read.
 */
const DAY = 86_400;

interface Seed {
  node: string;
  type: string;
  id: string;
  user: string;
  starttime: number;
  endtime: number;
  exitstatus: string;
  log: string[];
}

const stamp = (unix: number) => new Date(unix * 1000).toISOString().replace('T', ' ').slice(0, 19);
const fileStamp = (unix: number) => stamp(unix).replace(/-/g, '_').replace(' ', '-').replace(/:/g, '_');
const gib = (bytes: number) => (bytes / 1024 ** 3).toFixed(1);

function backup(g: Guest, start: number, warn: boolean): Seed {
  const kind = g.type === 'qemu' ? 'qemu' : 'lxc';
  const secs = 20 + (mix(g.vmid, 30) % 90);
  const end = start + secs;
  const mode = g.type === 'qemu' && !g.running ? 'stop' : 'snapshot';
  const ext = g.type === 'qemu' ? 'vma.zst' : 'tar.zst';
  const dur = `00:${String(Math.floor(secs / 60)).padStart(2, '0')}:${String(secs % 60).padStart(2, '0')}`;
  const log = [
    `INFO: starting new backup job: vzdump ${g.vmid} --mode ${mode} --compress zstd --storage nas-backup --node ${g.node} --notes-template '{{guestname}}'`,
    `INFO: Starting Backup of VM ${g.vmid} (${kind})`,
    `INFO: Backup started at ${stamp(start + 2)}`,
    `INFO: status = ${g.running ? 'running' : 'stopped'}`,
    g.type === 'qemu' ? `INFO: VM Name: ${g.name}` : `INFO: CT Name: ${g.name}`,
    g.type === 'qemu'
      ? `INFO: include disk 'scsi0' 'local-lvm:vm-${g.vmid}-disk-0' ${gib(g.maxdisk)}G`
      : `INFO: including mount point rootfs ('/') in backup`,
    `INFO: backup mode: ${mode}`,
    'INFO: ionice priority: 7',
    `INFO: creating vzdump archive '/mnt/pve/nas-backup/dump/vzdump-${kind}-${g.vmid}-${fileStamp(start + 2)}.${ext}'`,
  ];
  if (warn) log.push('WARN: guest-fsfreeze-freeze failed - got timeout');
  log.push(
    `INFO: transferred ${gib(g.maxdisk)} GiB in ${secs - 3} seconds`,
    `INFO: archive file size: ${gib(g.maxdisk * 0.2)}GB`,
    'INFO: adding notes to backup',
    `INFO: Finished Backup of VM ${g.vmid} (${dur})`,
    `INFO: Backup finished at ${stamp(end)}`,
    'INFO: Backup job finished successfully',
    warn ? 'TASK WARNINGS: 1' : 'TASK OK',
  );
  return { node: g.node, type: 'vzdump', id: String(g.vmid), user: 'root@pam', starttime: start, endtime: end, exitstatus: warn ? 'WARNINGS: 1' : 'OK', log };
}

function guestHistory(g: Guest, now: number): Seed[] {
  if (g.template) return [];
  const seeds: Seed[] = [];
  const qm = g.type === 'qemu';
  // Nightly backups at 02:00 (UTC) plus a few minutes per guest, the last three nights.
  const midnight = Math.floor(now / DAY) * DAY;
  for (let k = 3; k >= 0; k--) {
    const start = midnight - k * DAY + 2 * 3600 + (mix(g.vmid, 31) % 1800);
    if (start * 1000 > g.createdAt && start + 300 < now) seeds.push(backup(g, start, k <= 1 && mix(g.vmid, 32) % 7 === 0));
  }
  for (const s of g.snapshots.values()) {
    if (s.snaptime * 1000 < g.createdAt) continue;
    const log = s.vmstate ? ["saving VM state and RAM using storage 'local-lvm'"] : [];
    log.push(`snapshotting '${qm ? 'drive-scsi0' : 'rootfs'}' (local-lvm:vm-${g.vmid}-disk-0)`, 'TASK OK');
    seeds.push({ node: g.node, type: qm ? 'qmsnapshot' : 'vzsnapshot', id: String(g.vmid), user: 'root@pam', starttime: s.snaptime - 3, endtime: s.snaptime + 2, exitstatus: 'OK', log });
  }
  // The last (re)start and the last stop, from the guest's power history.
  for (let i = 1; i < g.powerLog.length; i++) {
    const e = g.powerLog[i]!;
    const t = Math.floor(e.at / 1000);
    if (t < now - 40 * DAY) continue;
    if (e.state === 'running' && g.powerLog[i - 1]!.state === 'stopped') {
      if (g.ha) {
        seeds.push({ node: g.node, type: 'hastart', id: String(g.vmid), user: 'root@pam', starttime: t - 4, endtime: t - 3, exitstatus: 'OK', log: [`Requesting HA start for ${qm ? 'VM' : 'CT'} ${g.vmid}`, 'TASK OK'] });
      }
      seeds.push({ node: g.node, type: qm ? 'qmstart' : 'vzstart', id: String(g.vmid), user: 'root@pam', starttime: t - 2, endtime: t, exitstatus: 'OK', log: ['TASK OK'] });
    } else if (e.state === 'stopped') {
      if (qm && g.ignoresShutdown) {
        seeds.push({ node: g.node, type: 'qmshutdown', id: String(g.vmid), user: 'root@pam', starttime: t - 190, endtime: t - 10, exitstatus: 'VM quit/powerdown failed - got timeout', log: ['TASK ERROR: VM quit/powerdown failed - got timeout'] });
        seeds.push({ node: g.node, type: 'qmstop', id: String(g.vmid), user: 'root@pam', starttime: t - 2, endtime: t, exitstatus: 'OK', log: ['TASK OK'] });
      } else {
        seeds.push({ node: g.node, type: qm ? 'qmshutdown' : 'vzshutdown', id: String(g.vmid), user: 'root@pam', starttime: t - 8, endtime: t, exitstatus: 'OK', log: ['TASK OK'] });
      }
    } else if (e.state === 'paused') {
      seeds.push({ node: g.node, type: 'qmpause', id: String(g.vmid), user: 'alice@pve', starttime: t - 1, endtime: t, exitstatus: 'OK', log: ['TASK OK'] });
    }
  }
  return seeds;
}

/** Adds each node's recent history (at most `perNode` tasks each), oldest first. */
export function seedTaskHistory(model: ClusterModel, tasks: TaskRegistry, o: { now?: number; perNode?: number } = {}): void {
  const now = Math.floor((o.now ?? Date.now()) / 1000);
  const perNode = o.perNode ?? 200;
  const byNode = new Map<string, Seed[]>();
  for (const g of model.guests()) {
    for (const s of guestHistory(g, now)) {
      if (s.endtime >= now) continue;
      let list = byNode.get(s.node);
      if (!list) byNode.set(s.node, (list = []));
      list.push(s);
    }
  }
  for (const list of byNode.values()) {
    list.sort((a, b) => a.starttime - b.starttime);
    for (const s of list.slice(-perNode)) tasks.addFinished(s);
  }
}
