import type { PowerAction, ScriptedOutcome } from './power.js';
import type { SnapshotTaskAction } from './snapshots.js';

/**
 * Failure injection: scripted answers for the next matching requests and tasks, and extra
 * latency. Every rule is consumed by the requests it hits, in the order rules were added.
 */
export interface RequestMatch {
  method?: string;
  /** The path below /api2/json, e.g. `/cluster/resources`; a RegExp is tested against it. */
  path?: string | RegExp;
  node?: string;
  vmid?: number;
  /** The power action of a `POST …/status/{action}`, or `snapshot`, `rollback`, `delsnapshot`. */
  action?: string;
}

/** What the simulator knows about a request before handling it. */
export interface RequestInfo {
  method: string;
  path: string;
  node?: string;
  vmid?: number;
  action?: string;
}

export type RequestFault =
  | { kind: 'status'; status: number; reason: string }
  /** Destroy the connection without answering; `afterProcessing`: only after the request took effect. */
  | { kind: 'drop'; afterProcessing: boolean };

export interface TaskMatch {
  vmid: number;
  /** Any power or snapshot action when omitted. */
  action?: PowerAction | SnapshotTaskAction;
}

/** Extracts node, vmid and power action from an API path. */
export function describeRequest(method: string, path: string): RequestInfo {
  const info: RequestInfo = { method, path };
  const node = /^\/nodes\/([^/]+)/.exec(path);
  if (node) info.node = decodeURIComponent(node[1]!);
  const vm = /^\/nodes\/[^/]+\/(?:qemu|lxc)\/(\d+)(?:\/|$)/.exec(path);
  if (vm) info.vmid = Number(vm[1]);
  const action = /\/status\/([a-z]+)$/.exec(path);
  if (action && method === 'POST') info.action = action[1]!;
  if (/\/(?:qemu|lxc)\/\d+\/snapshot$/.test(path) && method === 'POST') info.action = 'snapshot';
  if (/\/snapshot\/[^/]+\/rollback$/.test(path) && method === 'POST') info.action = 'rollback';
  if (/\/snapshot\/[^/]+$/.test(path) && method === 'DELETE') info.action = 'delsnapshot';
  return info;
}

export function requestMatches(match: RequestMatch | undefined, info: RequestInfo): boolean {
  if (!match) return true;
  if (match.method && match.method.toUpperCase() !== info.method) return false;
  if (match.path !== undefined) {
    if (typeof match.path === 'string' ? match.path !== info.path : !match.path.test(info.path)) return false;
  }
  if (match.node !== undefined && match.node !== info.node) return false;
  if (match.vmid !== undefined && match.vmid !== info.vmid) return false;
  if (match.action !== undefined && match.action !== info.action) return false;
  return true;
}

interface Rule<T> {
  match: T;
  remaining: number;
}

export class Faults {
  readonly #requests: Rule<RequestMatch & { fault: RequestFault }>[] = [];
  readonly #tasks: Rule<TaskMatch & { outcome: ScriptedOutcome }>[] = [];
  #latency: { ms: number; match?: RequestMatch } = { ms: 0 };

  addRequestFault(match: RequestMatch, fault: RequestFault, times = 1): void {
    if (!Number.isInteger(times) || times < 1) throw new Error(`times must be a positive integer, got ${times}`);
    this.#requests.push({ match: { ...match, fault }, remaining: times });
  }

  takeRequestFault(info: RequestInfo): RequestFault | undefined {
    const i = this.#requests.findIndex((r) => requestMatches(r.match, info));
    if (i < 0) return undefined;
    const rule = this.#requests[i]!;
    if (--rule.remaining <= 0) this.#requests.splice(i, 1);
    return rule.match.fault;
  }

  addTaskOutcome(match: TaskMatch, outcome: ScriptedOutcome): void {
    this.#tasks.push({ match: { ...match, outcome }, remaining: 1 });
  }

  takeTaskOutcome(vmid: number, action: PowerAction | SnapshotTaskAction): ScriptedOutcome | undefined {
    const i = this.#tasks.findIndex((r) => r.match.vmid === vmid && (r.match.action === undefined || r.match.action === action));
    if (i < 0) return undefined;
    const [rule] = this.#tasks.splice(i, 1);
    return rule!.match.outcome;
  }

  setLatency(ms: number, match?: RequestMatch): void {
    if (!(ms >= 0)) throw new Error(`latency must be >= 0 ms, got ${ms}`);
    this.#latency = match ? { ms, match } : { ms };
  }

  latencyFor(info: RequestInfo): number {
    return requestMatches(this.#latency.match, info) ? this.#latency.ms : 0;
  }

  clear(): void {
    this.#requests.length = 0;
    this.#tasks.length = 0;
    this.#latency = { ms: 0 };
  }
}
