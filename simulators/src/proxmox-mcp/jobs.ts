import { randomUUID } from 'node:crypto';
import type { PveApi } from './pve-api.js';

/**
 * services/jobs.py `JobStore`: long-running Proxmox tasks behind stable job ids. A job does not
 * follow its task by itself: its status changes only when someone polls it (poll_job, or
 * get_job with refresh), as in ProxmoxMCP-Plus.
 */
export type JobStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'cancel_requested' | 'retrying' | 'unknown';

export interface JobAuditEvent {
  timestamp: string;
  event: string;
  details: Record<string, unknown>;
}

export interface JobRecord {
  job_id: string;
  tool_name: string;
  summary: string;
  node: string | null;
  upid: string | null;
  status: JobStatus;
  progress: number | null;
  attempts: number;
  retry_count: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  result: Record<string, unknown> | null;
  metadata: Record<string, unknown>;
  previous_upids: string[];
  audit_log: JobAuditEvent[];
  retry_spec: { kind: string; params: Record<string, unknown> } | null;
}

/** Raised for an unknown job id (a ValueError in Python: the tool answers isError). */
export class JobNotFoundError extends Error {}
/** Raised when the job cannot do that now. */
export class JobConflictError extends Error {}

const RETRYABLE = new Set<JobStatus>(['failed', 'cancelled', 'cancel_requested']);
const TERMINAL = new Set<JobStatus>(['completed', 'failed', 'cancelled']);
const PROGRESS = /(\d{1,3})%/g;

let lastMicros = 0;

/** `datetime.now(timezone.utc).isoformat()`: microseconds and +00:00 (strictly increasing here, so newest-first is stable). */
export function pyUtcNow(now = Date.now()): string {
  const micros = Math.max(now * 1000, lastMicros + 1);
  lastMicros = micros;
  const ms = Math.floor(micros / 1000);
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(micros % 1_000_000).padStart(6, '0')}+00:00`;
}

export interface JobStoreOptions {
  pve: PveApi;
  /**
   * v0.5.2's `_normalize_status` counts every exit status but "OK" as a failure, so a task that
   * ended "WARNINGS: 2" (a success to PVE) becomes a failed job. On: reproduce that.
   */
  warningsAsFailed?: boolean;
}

export class JobStore {
  readonly #jobs = new Map<string, JobRecord>();
  readonly #o: JobStoreOptions;

  constructor(o: JobStoreOptions) {
    this.#o = o;
  }

  register(o: {
    tool_name: string;
    summary: string;
    node: string;
    upid: string;
    metadata: Record<string, unknown>;
    retry_spec: JobRecord['retry_spec'];
  }): JobRecord {
    const now = pyUtcNow();
    const record: JobRecord = {
      job_id: randomUUID(),
      tool_name: o.tool_name,
      summary: o.summary,
      node: o.node,
      upid: o.upid,
      status: 'running',
      progress: null,
      attempts: 1,
      retry_count: 0,
      last_error: null,
      created_at: now,
      updated_at: now,
      completed_at: null,
      result: null,
      metadata: { ...o.metadata },
      previous_upids: [],
      audit_log: [],
      retry_spec: o.retry_spec,
    };
    audit(record, 'created', { upid: o.upid, metadata: record.metadata });
    this.#jobs.set(record.job_id, record);
    return structuredClone(record);
  }

  /** Newest first, at most 500. */
  list(o: { status?: string | null; tool_name?: string | null; limit?: number } = {}): JobRecord[] {
    const limit = Math.max(1, Math.min(Math.trunc(o.limit ?? 100), 500));
    return [...this.#jobs.values()]
      .filter((j) => (!o.status || j.status === o.status) && (!o.tool_name || j.tool_name === o.tool_name))
      .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0))
      .slice(0, limit)
      .map((j) => structuredClone(j));
  }

  get(jobId: string): JobRecord {
    return structuredClone(this.#record(jobId));
  }

  /** Reads the task's status and log from Proxmox and updates the job. */
  async poll(jobId: string): Promise<JobRecord> {
    const record = this.#record(jobId);
    if (!record.upid || !record.node) {
      audit(record, 'poll_skipped', { reason: 'missing_upid_or_node' });
      return structuredClone(record);
    }
    const { upid, node } = record;
    const path = `/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}`;
    const status = await this.#o.pve.get<Record<string, unknown>>(`${path}/status`);
    const log = await this.#o.pve.get<{ n: number; t: string }[]>(`${path}/log`);
    const fresh = this.#record(jobId);
    if (fresh.upid !== upid) {
      audit(fresh, 'poll_discarded', { stale_upid: upid, current_upid: fresh.upid });
      return structuredClone(fresh);
    }
    const [next, lastError, completedAt] = this.#normalize(status);
    fresh.progress = progressOf(log);
    fresh.status = next;
    fresh.last_error = lastError;
    fresh.completed_at = completedAt;
    fresh.result = status && typeof status === 'object' ? status : { raw: status };
    audit(fresh, 'polled', { status: next, progress: fresh.progress, exitstatus: (fresh.result as { exitstatus?: unknown }).exitstatus ?? null });
    return structuredClone(fresh);
  }

  /** Stops the task (DELETE /nodes/{n}/tasks/{upid}, as vm.py does after v0.5.2). */
  async cancel(jobId: string): Promise<JobRecord> {
    const record = this.#record(jobId);
    if (!record.upid || !record.node) throw new JobConflictError(`Job ${jobId} has no task UPID to cancel`);
    if (TERMINAL.has(record.status) || record.status === 'retrying') {
      throw new JobConflictError(`Job ${jobId} cannot be cancelled while status is '${record.status}'`);
    }
    const { upid, node } = record;
    await this.#o.pve.delete(`/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}`);
    const fresh = this.#record(jobId);
    if (fresh.upid !== upid || TERMINAL.has(fresh.status) || fresh.status === 'retrying') {
      audit(fresh, 'cancel_discarded', { upid, current_status: fresh.status });
      return structuredClone(fresh);
    }
    fresh.status = 'cancel_requested';
    audit(fresh, 'cancel_requested', { upid });
    return structuredClone(fresh);
  }

  /** Runs the job's recipe again (a new task); the job id stays, attempts grows. */
  async retry(jobId: string, run: (spec: NonNullable<JobRecord['retry_spec']>) => Promise<string>): Promise<JobRecord> {
    const record = this.#record(jobId);
    if (!RETRYABLE.has(record.status)) {
      throw new JobConflictError(
        `Job ${jobId} cannot be retried while status is '${record.status}'. Poll the job first and retry only failed or cancelled jobs.`,
      );
    }
    if (!record.retry_spec) throw new JobConflictError(`Job ${jobId} does not support retry`);
    const previous = record.status;
    const original = record.upid;
    record.status = 'retrying';
    audit(record, 'retry_started', { previous_status: previous, upid: original });
    let upid: string;
    try {
      upid = await run(record.retry_spec);
    } catch (err) {
      record.status = previous;
      record.last_error = String((err as Error).message ?? err);
      audit(record, 'retry_failed', { error: record.last_error.slice(0, 500) });
      throw err;
    }
    if (original) record.previous_upids.push(original);
    record.upid = upid;
    record.status = 'running';
    record.progress = 0;
    record.last_error = null;
    record.completed_at = null;
    record.result = null;
    record.attempts++;
    record.retry_count++;
    audit(record, 'retried', { new_upid: upid });
    return structuredClone(record);
  }

  #record(jobId: string): JobRecord {
    const r = this.#jobs.get(jobId);
    if (!r) throw new JobNotFoundError(`Unknown job_id: ${jobId}`);
    return r;
  }

  /** `_normalize_status` (v0.5.2), with the WARNINGS fix of later releases unless warningsAsFailed. */
  #normalize(payload: unknown): [JobStatus, string | null, string | null] {
    const now = pyUtcNow();
    if (!payload || typeof payload !== 'object') return ['unknown', null, null];
    const p = payload as Record<string, unknown>;
    const state = String(p.status ?? '').toLowerCase();
    const exit = String(p.exitstatus ?? '');
    if (exit === 'OK') return ['completed', null, now];
    if (!this.#o.warningsAsFailed && /^WARNINGS: \d+$/.test(exit)) return ['completed', null, now];
    if (exit) return ['failed', exit, now];
    if (state === 'stopped' || state === 'stop') return ['cancelled', null, now];
    if (state === 'running' || state === 'queued') return ['running', null, null];
    if (state === 'error' || state === 'failed') return ['failed', state, now];
    return ['running', null, null];
  }
}

function audit(record: JobRecord, event: string, details: Record<string, unknown>): void {
  const timestamp = pyUtcNow();
  record.audit_log.push({ timestamp, event, details });
  record.updated_at = timestamp;
}

function progressOf(log: unknown): number | null {
  if (!Array.isArray(log)) return null;
  let max: number | null = null;
  for (const item of log) {
    const text = typeof item === 'object' && item ? String((item as { t?: unknown }).t ?? '') : String(item);
    for (const m of text.matchAll(PROGRESS)) {
      const v = Number(m[1]);
      if (v > 100) continue;
      max = max === null ? v : Math.max(max, v);
    }
  }
  return max;
}
