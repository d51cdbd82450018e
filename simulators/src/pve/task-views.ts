import type { TaskRecord } from './tasks.js';

/**
 * How pve-manager's `API2/Tasks.pm` shows tasks: status, list (with its filters) and who may see
 * which task.
 */
/** PVE's status types (pve-common `PVE::UPID::normalize_status_type`). */
export function statusType(exitstatus: string | undefined): 'ok' | 'warning' | 'error' | 'unknown' {
  if (!exitstatus) return 'unknown';
  if (exitstatus === 'OK') return 'ok';
  if (/^WARNINGS: \d+$/.test(exitstatus)) return 'warning';
  if (exitstatus === 'unexpected status') return 'unknown';
  return 'error';
}

/** Token tasks are shown as `user` + `tokenid` (pve-manager `$convert_token_task`). */
export function splitTaskUser(user: string): { user: string; tokenid?: string } {
  const bang = user.indexOf('!');
  return bang < 0 ? { user } : { user: user.slice(0, bang), tokenid: user.slice(bang + 1) };
}

/** pve-manager `$check_task_user`: a token sees its own tasks, a user its own and its tokens'. */
export function ownsTask(task: Pick<TaskRecord, 'user'>, userid: string): boolean {
  const { user } = splitTaskUser(task.user);
  return userid === task.user || (task.user.includes('!') && userid === user);
}

/** GET /nodes/{node}/tasks/{upid}/status. */
export function taskStatusView(task: TaskRecord): Record<string, unknown> {
  const { user, tokenid } = splitTaskUser(task.user);
  const v: Record<string, unknown> = {
    upid: task.upid,
    node: task.node,
    pid: task.pid,
    pstart: task.pstart,
    starttime: task.starttime,
    type: task.type,
    id: task.id,
    user,
    status: task.status,
  };
  if (tokenid !== undefined) v.tokenid = tokenid;
  if (task.status === 'stopped') v.exitstatus = task.exitstatus;
  return v;
}

export interface TaskQuery {
  start?: number;
  limit?: number;
  userfilter?: string;
  typefilter?: string;
  vmid?: number;
  errors?: boolean;
  source?: 'archive' | 'active' | 'all';
  since?: number;
  until?: number;
  statusfilter?: readonly string[];
}

/**
 * GET /nodes/{node}/tasks as pve-manager's `node_tasks`: by default only finished tasks
 * (`source=archive`), newest first; running ones need `source=active|all` and read
 * `status:"RUNNING"`. `total` counts every match, not just the page.
 */
export function queryTasks(
  tasks: readonly TaskRecord[],
  q: TaskQuery,
  caller: { userid: string; auditor: boolean },
): { rows: Record<string, unknown>[]; total: number } {
  const start = q.start ?? 0;
  let limit = q.limit ?? 50;
  const source = q.source ?? 'archive';
  let statusfilter: Record<string, boolean> = { ok: true, warning: true, error: true, unknown: true };
  if (q.statusfilter && !q.errors) {
    statusfilter = { ok: false, warning: false, error: false, unknown: false };
    for (const s of q.statusfilter) statusfilter[s.toLowerCase()] = true;
  } else if (q.errors) {
    statusfilter.ok = false;
  }
  let count = 0;
  const rows: Record<string, unknown>[] = [];
  const skip = (t: TaskRecord): boolean => {
    if (q.userfilter && !t.user.toLowerCase().includes(q.userfilter.toLowerCase())) return true;
    if (!(caller.auditor || ownsTask(t, caller.userid))) return true;
    if (q.typefilter && t.type !== q.typefilter) return true;
    if (q.vmid && (!t.id || t.id !== String(q.vmid))) return true;
    if (q.since !== undefined && t.starttime < q.since) return true;
    if (q.until !== undefined && t.starttime > q.until) return true;
    if (!statusfilter[statusType(t.status === 'stopped' ? t.exitstatus : undefined)]) return true;
    if (count++ < start) return true;
    return limit <= 0;
  };
  const row = (t: TaskRecord): Record<string, unknown> => {
    const { user, tokenid } = splitTaskUser(t.user);
    const r: Record<string, unknown> = {
      upid: t.upid,
      node: t.node,
      pid: t.pid,
      pstart: t.pstart,
      starttime: t.starttime,
      type: t.type,
      id: t.id,
      user,
    };
    if (tokenid !== undefined) r.tokenid = tokenid;
    if (t.status === 'stopped') {
      r.endtime = t.endtime;
      r.status = t.exitstatus;
    } else {
      r.status = 'RUNNING';
    }
    return r;
  };
  const newestFirst = [...tasks].reverse();
  if (source === 'active' || source === 'all') {
    for (const t of newestFirst) {
      if (t.status !== 'running' || skip(t)) continue;
      rows.push(row(t));
      limit--;
    }
  }
  if (source !== 'active') {
    for (const t of newestFirst) {
      if (t.status !== 'stopped' || skip(t)) continue;
      rows.push(row(t));
      limit--;
    }
  }
  return { rows, total: count };
}
