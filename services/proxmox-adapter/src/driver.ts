import type { Capability, ClusterStatus, Guest, GuestType, Node, PowerActionName, Storage } from '@molten/contracts';

export interface GuestRef {
  vmid: number;
  node: string;
  type: GuestType;
}

export interface ClusterRead {
  guests: Guest[];
  nodes: Node[];
  storage: Storage[];
  /** How long the upstream took to answer (ms), without the driver's own parsing, when known. */
  answerMs?: number;
}

export interface TaskOutcome {
  /** "ok", "failed", or "lost": the task could not be read before the deadline. */
  result: 'ok' | 'failed' | 'lost' | 'deadline';
  /** The upstream's exit status ("OK", "WARNINGS: 2", the error text). */
  exitstatus: string;
  /**
   * The task only handed the request on (Proxmox HA's hastart/hastop queue it for the HA
   * manager): the guest reaches its new state later, and the command waits for that.
   */
  handedOver?: boolean;
}

/**
 * How the proxmox-adapter talks to a cluster. The pve driver speaks the Proxmox VE API; the
 * proxmox-mcp driver goes through ProxmoxMCP-Plus. Both produce the same state messages, so
 * nothing above the driver knows which one is in use.
 */
export interface ClusterDriver {
  readonly kind: 'proxmox-ve' | 'proxmox-mcp';
  /** Where the upstream is, without credentials. */
  readonly endpoint: string;
  readonly transport: string;
  /**
   * Whether one read's list is the whole truth. Proxmox's /cluster/resources is; ProxmoxMCP-Plus
   * falls back to per-node scans that skip nodes it could not read, so a guest missing from one
   * of its reads is removed only when the next read misses it too.
   */
  readonly completeReads: boolean;
  /**
   * Reads every guest, node and storage of the cluster; one poll. A driver may give a guest as
   * the very object an earlier read gave when nothing but its counters moved (uptime growing,
   * network and disk totals) and `stillPublished(thatObject)` holds: the publisher would find
   * the new reading unchanged anyway (counters never count alone).
   */
  readResources(o?: { stillPublished?(guest: Guest): boolean }): Promise<ClusterRead>;
  readClusterStatus(): Promise<Pick<ClusterStatus, 'name' | 'standalone' | 'quorate' | 'version' | 'nodes'>>;
  /** Slow-changing node details (versions, CPU model, load); optional. */
  readNodeDetails?(node: string): Promise<Partial<Node>>;
  /** Reads one guest now (after a command, not waiting for the next poll). */
  readGuest(ref: GuestRef): Promise<Guest | undefined>;
  version(): Promise<string>;
  /** What the driver can do, and why not where it cannot. */
  capabilities(): Capability[];
  /** Set by the adapter: called when capabilities() changes (a privilege found missing, or back). */
  onCapabilitiesChange?: (() => void) | undefined;
  /** The one mutating call: starts a power action and returns the upstream's task id. */
  startPower(ref: GuestRef, action: PowerActionName): Promise<string>;
  /** Follows a task to its end (or the deadline, or the signal). */
  followTask(taskId: string, o: { deadlineMs: number; signal: AbortSignal }): Promise<TaskOutcome>;
  /** Looks for a task this action may have started since sinceMs (to reconcile a lost answer). */
  findTask(ref: GuestRef, action: PowerActionName, sinceMs: number): Promise<string | undefined>;
  /** Turns a task's failure text into a classified error. */
  taskError(exitstatus: string): import('./upstream-error.js').UpstreamError;
  close(): Promise<void>;
}

/** The guest state each action aims for: used to reconcile when the task is lost. */
export const TARGET_STATUS: Record<PowerActionName, 'running' | 'stopped'> = {
  start: 'running',
  stop: 'stopped',
  shutdown: 'stopped',
  reboot: 'running',
};
