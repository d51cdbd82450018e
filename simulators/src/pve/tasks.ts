import type { ClusterModel } from './cluster-model.js';
import { encodeUpid } from './upid.js';

/**
 * Worker tasks as pve-common's `fork_worker` runs them: a task gets a UPID at once, then (for
 * guest actions) waits for the guest's config lock like `lock_config` (flock, 10 s timeout),
 * decides its outcome once it holds the lock, works for a while, and ends with `TASK OK`,
 * `TASK WARNINGS: n` or `TASK ERROR: <text>` as the last log line. Effects are applied when
 * the task ends successfully.
 */
export interface TaskRecord {
  readonly upid: string;
  readonly node: string;
  readonly pid: number;
  readonly pstart: number;
  /** Unix seconds. */
  readonly starttime: number;
  readonly type: string;
  readonly id: string;
  /** `user@realm` or `user@realm!token`. */
  readonly user: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
  /** Unix seconds. */
  endtime?: number;
  readonly log: string[];
}

export interface WorkerOutcome {
  /** How long the work takes once it may start. */
  durationMs: number;
  /** Lines the worker prints while working. */
  log?: readonly string[];
  /** Warnings printed (`WARN: …`); the task ends `WARNINGS: n`, which is a success. */
  warnings?: readonly string[];
  /** The worker dies with this text after durationMs; nothing is applied. */
  error?: string;
  /** The effect, applied when the task ends successfully. */
  apply?: () => void;
}

export interface WorkerSpec {
  node: string;
  type: string;
  id: string;
  user: string;
  /** Serialise with other tasks on the same guest config (`lock_config`). */
  configLock?: { key: string; file: string };
  /** Runs before waiting for the lock (e.g. `overrule-shutdown` aborting shutdown tasks). */
  beforeLock?: (task: TaskRecord) => void;
  /** Decides the outcome once the lock is held. A thrown Error ends the task quickly with its message. */
  work: (task: TaskRecord) => WorkerOutcome;
  /** Called once the task has ended, whatever the outcome. */
  after?: (task: TaskRecord) => void;
}

export interface TaskRegistryOptions {
  /** `lock_config`'s flock timeout. */
  lockTimeoutMs: number;
  /** How long a worker takes to die on an immediate error. */
  failFastMs: number;
  /** Finished tasks kept per node (the task index is finite too). */
  historyPerNode: number;
}

interface Running {
  spec: WorkerSpec;
  timer: NodeJS.Timeout | undefined;
  lockKey: string | undefined;
  waiting: boolean;
}

interface ConfigLock {
  holder: string | undefined;
  queue: { upid: string; grant: () => void; timer: NodeJS.Timeout }[];
}

export class TaskRegistry {
  readonly #tasks = new Map<string, TaskRecord>();
  readonly #byNode = new Map<string, TaskRecord[]>();
  readonly #running = new Map<string, Running>();
  readonly #locks = new Map<string, ConfigLock>();

  constructor(
    private readonly model: ClusterModel,
    private readonly opts: TaskRegistryOptions,
  ) {}

  get failFastMs(): number {
    return this.opts.failFastMs;
  }

  get(upid: string): TaskRecord | undefined {
    return this.#tasks.get(upid);
  }

  /** A node's tasks, oldest first. */
  onNode(node: string): readonly TaskRecord[] {
    return this.#byNode.get(node) ?? [];
  }

  all(): IterableIterator<TaskRecord> {
    return this.#tasks.values();
  }

  spawn(spec: WorkerSpec): TaskRecord {
    const node = this.model.node(spec.node);
    if (!node) throw new Error(`no node '${spec.node}'`);
    const now = Date.now();
    const pid = this.model.nextPid(node);
    const pstart = Math.floor((now - node.bootedAt) / 10); // clock ticks (USER_HZ 100) since boot
    const starttime = Math.floor(now / 1000);
    const task: TaskRecord = {
      upid: encodeUpid({ node: spec.node, pid, pstart, starttime, type: spec.type, id: spec.id, user: spec.user }),
      node: spec.node,
      pid,
      pstart,
      starttime,
      type: spec.type,
      id: spec.id,
      user: spec.user,
      status: 'running',
      log: [],
    };
    this.#tasks.set(task.upid, task);
    let list = this.#byNode.get(spec.node);
    if (!list) this.#byNode.set(spec.node, (list = []));
    list.push(task);
    const state: Running = { spec, timer: undefined, lockKey: undefined, waiting: false };
    this.#running.set(task.upid, state);
    this.model.announce({ kind: 'task', change: 'started', at: now, upid: task.upid, node: task.node, type: task.type, id: task.id, user: task.user });

    spec.beforeLock?.(task);
    if (spec.configLock) {
      this.#acquire(spec.configLock, task, state);
    } else {
      this.#begin(task, state);
    }
    this.#trim(spec.node);
    return task;
  }

  /**
   * Records a task that ran before the simulator started (history for task lists and logs).
   * Call in chronological order, before live tasks exist.
   */
  addFinished(t: { node: string; type: string; id: string; user: string; starttime: number; endtime: number; exitstatus: string; log: readonly string[] }): TaskRecord {
    const node = this.model.node(t.node);
    if (!node) throw new Error(`no node '${t.node}'`);
    const pid = this.model.nextPid(node);
    const pstart = Math.max(1, Math.floor((t.starttime * 1000 - node.bootedAt) / 10)) || pid;
    const task: TaskRecord = {
      upid: encodeUpid({ node: t.node, pid, pstart, starttime: t.starttime, type: t.type, id: t.id, user: t.user }),
      node: t.node,
      pid,
      pstart,
      starttime: t.starttime,
      type: t.type,
      id: t.id,
      user: t.user,
      status: 'stopped',
      exitstatus: t.exitstatus,
      endtime: t.endtime,
      log: [...t.log],
    };
    this.#tasks.set(task.upid, task);
    let list = this.#byNode.get(t.node);
    if (!list) this.#byNode.set(t.node, (list = []));
    list.push(task);
    this.#trim(t.node);
    return task;
  }

  /** Kills a running task like `DELETE /nodes/{node}/tasks/{upid}` (SIGTERM). */
  abort(upid: string): boolean {
    const task = this.#tasks.get(upid);
    const state = this.#running.get(upid);
    if (!task || !state) return false;
    this.#finish(task, state, { durationMs: 0, error: 'received interrupt' });
    return true;
  }

  running(filter: (t: TaskRecord) => boolean = () => true): TaskRecord[] {
    return [...this.#running.keys()].map((u) => this.#tasks.get(u)!).filter(filter);
  }

  /** Stops all timers; running tasks stay running forever (the simulator is being disposed). */
  close(): void {
    for (const s of this.#running.values()) clearTimeout(s.timer);
    for (const l of this.#locks.values()) for (const w of l.queue) clearTimeout(w.timer);
    this.#locks.clear();
  }

  #acquire(lock: { key: string; file: string }, task: TaskRecord, state: Running): void {
    let l = this.#locks.get(lock.key);
    if (!l) this.#locks.set(lock.key, (l = { holder: undefined, queue: [] }));
    state.lockKey = lock.key;
    if (l.holder === undefined) {
      l.holder = task.upid;
      this.#begin(task, state);
      return;
    }
    state.waiting = true;
    const timer = setTimeout(() => {
      l.queue = l.queue.filter((w) => w.upid !== task.upid);
      state.lockKey = undefined;
      this.#finish(task, state, { durationMs: 0, error: `can't lock file '${lock.file}' - got timeout` });
    }, this.opts.lockTimeoutMs);
    timer.unref();
    l.queue.push({
      upid: task.upid,
      timer,
      grant: () => {
        state.waiting = false;
        this.#begin(task, state);
      },
    });
  }

  #release(key: string | undefined, upid: string): void {
    if (key === undefined) return;
    const l = this.#locks.get(key);
    if (!l) return;
    l.queue = l.queue.filter((w) => {
      if (w.upid !== upid) return true;
      clearTimeout(w.timer);
      return false;
    });
    if (l.holder !== upid) return;
    const next = l.queue.shift();
    if (next) {
      clearTimeout(next.timer);
      l.holder = next.upid;
      next.grant();
    } else {
      this.#locks.delete(key);
    }
  }

  #begin(task: TaskRecord, state: Running): void {
    let outcome: WorkerOutcome;
    try {
      outcome = state.spec.work(task);
    } catch (err) {
      outcome = { durationMs: this.opts.failFastMs, error: (err as Error).message };
    }
    task.log.push(...(outcome.log ?? []));
    state.timer = setTimeout(() => this.#finish(task, state, outcome), Math.max(0, outcome.durationMs));
    state.timer.unref();
  }

  #finish(task: TaskRecord, state: Running, outcome: WorkerOutcome): void {
    if (task.status !== 'running') return;
    clearTimeout(state.timer);
    this.#running.delete(task.upid);
    let error = outcome.error;
    if (error === undefined && outcome.apply) {
      try {
        outcome.apply();
      } catch (err) {
        error = (err as Error).message;
      }
    }
    if (error !== undefined) {
      task.exitstatus = firstLine(error);
      task.log.push(`TASK ERROR: ${task.exitstatus}`);
    } else if (outcome.warnings?.length) {
      for (const w of outcome.warnings) task.log.push(`WARN: ${w}`);
      task.exitstatus = `WARNINGS: ${outcome.warnings.length}`;
      task.log.push(`TASK ${task.exitstatus}`);
    } else {
      task.exitstatus = 'OK';
      task.log.push('TASK OK');
    }
    task.status = 'stopped';
    task.endtime = Math.floor(Date.now() / 1000);
    this.#release(state.lockKey, task.upid);
    this.model.announce({
      kind: 'task',
      change: 'finished',
      at: Date.now(),
      upid: task.upid,
      node: task.node,
      type: task.type,
      id: task.id,
      user: task.user,
      exitstatus: task.exitstatus,
    });
    state.spec.after?.(task);
  }

  #trim(node: string): void {
    const list = this.#byNode.get(node)!;
    let finished = 0;
    for (const t of list) if (t.status === 'stopped') finished++;
    if (finished <= this.opts.historyPerNode) return;
    let drop = finished - this.opts.historyPerNode;
    this.#byNode.set(
      node,
      list.filter((t) => {
        if (drop > 0 && t.status === 'stopped') {
          drop--;
          this.#tasks.delete(t.upid);
          return false;
        }
        return true;
      }),
    );
  }
}

const firstLine = (s: string) => s.replace(/\n[\s\S]*$/, '').trimEnd();
