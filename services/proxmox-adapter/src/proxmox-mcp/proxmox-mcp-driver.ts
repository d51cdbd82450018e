import { GUEST_TYPES, powerActionToken, type Capability, type ClusterNode, type Guest, type Node, type PowerActionName } from '@molten/contracts';
import { sleep, type Logger } from '@molten/kit';
import { TARGET_STATUS, type ClusterDriver, type ClusterRead, type GuestRef, type TaskOutcome } from '../driver.js';
import { pveHttpError } from '../pve/pve-errors.js';
import { WORKER_TYPES, exitStatusOk, parseUpid } from '../pve/upid.js';
import { UpstreamError } from '../upstream-error.js';
import type { ProxmoxMcpClient, ToolAnswer } from './client.js';
import { toolError } from './errors.js';
import { defined } from './rest-bridge.js';
import { ParseError } from './lines.js';
import { parseContainerAction, parseVmAction } from './parse-action.js';
import { parseClusterStatus } from './parse-cluster.js';
import { parseJob, parseJobs, type JobRecord } from './parse-jobs.js';
import { parseNodes } from './parse-nodes.js';
import { parseStorage } from './parse-storage.js';
import { parseContainersJson, parseContainersPretty, parseVms } from './parse-vms.js';

export interface ProxmoxMcpDriverOptions {
  client: ProxmoxMcpClient;
  /** Molten's cluster id (the adapter's scope). */
  cluster: string;
  log: Logger;
  /** Per tool call (default 30 s: ProxmoxMCP-Plus itself waits up to 30 s for Proxmox, with retries). */
  timeoutMs?: number;
  /** stop_container's timeout_seconds for a graceful shutdown of a container (default 60, PVE's own default). */
  containerShutdownSeconds?: number;
}

/** No graceful VM reboot exists in ProxmoxMCP-Plus; say so wherever reboot is offered. */
export const NO_REBOOT_REASON = 'ProxmoxMCP-Plus has no graceful reboot tool (reset_vm is a hard reset)';

const VM_TOOL: Record<Exclude<PowerActionName, 'reboot'>, 'start_vm' | 'stop_vm' | 'shutdown_vm'> = {
  start: 'start_vm',
  stop: 'stop_vm',
  shutdown: 'shutdown_vm',
};

/**
 * How each power action maps to ProxmoxMCP-Plus's tools:
 *
 * | action   | qemu                        | lxc                                                     |
 * |----------|-----------------------------|---------------------------------------------------------|
 * | start    | start_vm                    | start_container                                         |
 * | stop     | stop_vm (forced stop)       | stop_container graceful=false (forced stop)             |
 * | shutdown | shutdown_vm (ACPI)          | stop_container graceful=true (shutdown, 60 s)           |
 * | reboot   | — (reset_vm is a hard reset) | restart_container (lxc status/reboot; see capabilities) |
 */
const CT_TOOL: Record<PowerActionName, 'start_container' | 'stop_container' | 'restart_container'> = {
  start: 'start_container',
  stop: 'stop_container',
  shutdown: 'stop_container',
  reboot: 'restart_container',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const JOB_WAITING = new Set(['running', 'retrying', 'cancel_requested', 'queued', 'unknown']);

/**
 * The proxmox-adapter's driver for ProxmoxMCP-Plus: it reads the cluster by parsing the tools'
 * text (get_nodes, get_vms, get_containers as JSON, get_storage, get_cluster_status) into the
 * same messages as the pve driver, with the values that lost precision named, and runs
 * start/stop/shutdown through the VM and container tools. The task id it records is the job id
 * when the server tracks jobs (followed with poll_job), else the UPID (followed by reading the
 * guest until it reaches the action's target state).
 */
export class ProxmoxMcpDriver implements ClusterDriver {
  readonly kind = 'proxmox-mcp' as const;
  readonly completeReads = false;
  readonly client: ProxmoxMcpClient;
  readonly #o: Required<Omit<ProxmoxMcpDriverOptions, 'client'>>;
  /** The last nodes read: the storage's node guess and the cluster's member list. */
  #nodes: Node[] = [];
  /** What this process started: task id → guest and action (UPIDs are self-describing; this is for job ids). */
  readonly #started = new Map<string, { ref: GuestRef; action: PowerActionName; upid: string }>();
  #warnedWarnings = false;
  onCapabilitiesChange: (() => void) | undefined;

  constructor(o: ProxmoxMcpDriverOptions) {
    this.client = o.client;
    this.#o = { timeoutMs: 30_000, containerShutdownSeconds: 60, ...defined(o) };
    let last = '';
    o.client.onChange(() => {
      const now = JSON.stringify(this.capabilities());
      if (now !== last) {
        last = now;
        this.onCapabilitiesChange?.();
      }
    });
  }

  get endpoint(): string {
    return this.client.endpoint;
  }

  get transport(): string {
    return this.client.transport;
  }

  async version(): Promise<string> {
    await this.client.whenReady(Math.min(5_000, this.#o.timeoutMs));
    const v = this.client.health.version;
    return `ProxmoxMCP-Plus (${this.client.transport}${v ? `, ${v}` : ''})`;
  }

  /** A tool the server offers; when the catalog is not known yet, assume it does (the call will say). */
  has(tool: string): boolean {
    return !this.client.toolsKnown || this.client.tools.some((t) => t.name === tool);
  }

  async readResources(): Promise<ClusterRead> {
    const { cluster } = this.#o;
    const [nodesText, vmsText, ctText, storageText] = await Promise.all([
      this.#text('get_nodes', {}),
      this.#text('get_vms', {}),
      this.has('get_containers') ? this.#text('get_containers', { format_style: 'json' }) : Promise.resolve(undefined),
      this.#text('get_storage', {}),
    ]);
    const nodes = this.#parse('get_nodes', () => parseNodes(nodesText, cluster));
    this.#nodes = nodes;
    const guests = this.#parse('get_vms', () => parseVms(vmsText, cluster));
    if (ctText !== undefined) guests.push(...this.#parse('get_containers', () => containers(ctText, cluster)));
    // get_storage reads each storage's usage on the first online node that answers.
    const firstOnline = nodes.find((n) => n.status === 'online')?.node ?? nodes[0]?.node;
    const storage = this.#parse('get_storage', () => parseStorage(storageText, cluster, { node: firstOnline }));
    return { guests, nodes, storage };
  }

  async readClusterStatus() {
    const text = await this.#text('get_cluster_status', {});
    const parsed = this.#parse('get_cluster_status', () => parseClusterStatus(text));
    if (this.#nodes.length === 0) {
      const nodesText = await this.#text('get_nodes', {});
      this.#nodes = this.#parse('get_nodes', () => parseNodes(nodesText, this.#o.cluster));
    }
    const nodes: ClusterNode[] = this.#nodes.map((n) => ({ name: n.node, nodeid: 0, ip: '', online: n.status === 'online', local: false, level: '' }));
    return {
      name: parsed.name || this.#o.cluster,
      standalone: parsed.standalone,
      quorate: parsed.quorate,
      version: 0,
      nodes,
    };
  }

  async readGuest(ref: GuestRef): Promise<Guest | undefined> {
    const { cluster } = this.#o;
    if (ref.type === 'qemu') {
      const text = await this.#text('get_vms', {});
      return this.#parse('get_vms', () => parseVms(text, cluster)).find((g) => g.vmid === ref.vmid);
    }
    const text = await this.#text('get_containers', { node: ref.node, format_style: 'json' });
    return this.#parse('get_containers', () => containers(text, cluster)).find((g) => g.vmid === ref.vmid);
  }

  capabilities(): Capability[] {
    const missing = (tools: string[]) => tools.filter((t) => !this.has(t));
    const action = (a: keyof typeof VM_TOOL): Capability => {
      const absent = missing([VM_TOOL[a]]);
      return {
        action: powerActionToken(a),
        available: absent.length === 0,
        reason: absent.length ? `ProxmoxMCP-Plus at ${this.endpoint} does not offer ${absent.join(', ')} (an older release, or hidden by MCP_TOOL_ALLOWLIST / MCP_TOOL_DENYLIST)` : '',
        privilege: 'VM.PowerMgmt',
      };
    };
    return [
      action('start'),
      action('stop'),
      action('shutdown'),
      // One capability per action: a container could reboot (restart_container), a VM cannot.
      { action: 'vm-reboot', available: false, reason: NO_REBOOT_REASON, privilege: 'VM.PowerMgmt' },
      { action: 'tool-call', available: true, reason: '', privilege: '' },
    ];
  }

  async startPower(ref: GuestRef, action: PowerActionName): Promise<string> {
    return ref.type === 'qemu' ? this.#vmPower(ref, action) : this.#ctPower(ref, action);
  }

  async #vmPower(ref: GuestRef, action: PowerActionName): Promise<string> {
    if (action === 'reboot') throw new UpstreamError({ code: 'unsupported', message: `reboot of VM ${ref.vmid} is not possible: ${NO_REBOOT_REASON}`, remedy: 'Shut the VM down and start it again, or configure PVE_URL so Molten uses the Proxmox API directly.' });
    const tool = VM_TOOL[action];
    const answer = await this.#call(tool, { node: ref.node, vmid: String(ref.vmid) }, true);
    if (answer.isError) throw toolError(tool, answer.text);
    let parsed;
    try {
      parsed = parseVmAction(tool, answer.text);
    } catch (err) {
      // It answered, but not in words this adapter knows: something may have started.
      throw new UpstreamError({ code: 'upstream', message: (err as Error).message, outcomeUnknown: true, cause: err });
    }
    if (parsed.kind === 'already') {
      throw new UpstreamError({ code: 'conflict', message: `VM ${ref.vmid} is already ${parsed.state}: ProxmoxMCP-Plus started no task ("${parsed.text}")` });
    }
    if (parsed.kind === 'not_running') throw new UpstreamError({ code: 'conflict', message: parsed.text });
    const taskId = parsed.jobId && this.#canFollowJobs() ? parsed.jobId : parsed.upid;
    this.#remember(taskId, { ref, action, upid: parsed.upid });
    return taskId;
  }

  async #ctPower(ref: GuestRef, action: PowerActionName): Promise<string> {
    const tool = CT_TOOL[action];
    const args: Record<string, unknown> = { selector: `${ref.node}:${ref.vmid}`, format_style: 'json' };
    if (action === 'stop') args.graceful = false;
    if (action === 'shutdown') Object.assign(args, { graceful: true, timeout_seconds: this.#o.containerShutdownSeconds });
    const answer = await this.#call(tool, args, true);
    if (answer.isError) {
      const e = toolError(tool, answer.text);
      // "No containers matched the selector": the container is not where Molten thinks.
      if (/No containers matched the selector/.test(answer.text)) throw new UpstreamError({ code: 'not_found', message: `CT ${ref.vmid} is not on ${ref.node} as far as ProxmoxMCP-Plus sees (${e.message})` });
      throw e;
    }
    let rows;
    try {
      rows = parseContainerAction(tool, answer.text);
    } catch (err) {
      throw new UpstreamError({ code: 'upstream', message: (err as Error).message, outcomeUnknown: true, cause: err });
    }
    const row = rows.find((r) => r.vmid === ref.vmid);
    if (!row) throw new UpstreamError({ code: 'upstream', message: `${tool} answered without a row for CT ${ref.vmid}`, outcomeUnknown: true });
    if (!row.ok) {
      // proxmoxer's words: "500 Internal Server Error: CT 100 already running".
      const e = toolError(tool, row.error ?? 'failed');
      throw new UpstreamError({ code: e.code, status: e.status, message: `CT ${ref.vmid}: ${row.error ?? 'failed'}`, remedy: e.remedy, privilege: e.privilege });
    }
    const upid = row.task_id ?? (typeof row.message === 'string' ? row.message : '');
    const taskId = row.job_id && this.#canFollowJobs() ? row.job_id : upid;
    if (!taskId) throw new UpstreamError({ code: 'upstream', message: `${tool} answered ok without a task id for CT ${ref.vmid}`, outcomeUnknown: true });
    this.#remember(taskId, { ref, action, upid });
    return taskId;
  }

  #remember(taskId: string, what: { ref: GuestRef; action: PowerActionName; upid: string }): void {
    this.#started.set(taskId, what);
    // Followed tasks are forgotten when they end; this bounds the ones never followed.
    if (this.#started.size > 1_000) this.#started.delete(this.#started.keys().next().value!);
  }

  #canFollowJobs(): boolean {
    return this.has('poll_job') || this.has('get_job');
  }

  async followTask(taskId: string, o: { deadlineMs: number; signal: AbortSignal }): Promise<TaskOutcome> {
    const outcome = UUID.test(taskId) ? await this.#followJob(taskId, o) : await this.#followState(taskId, o);
    if (outcome.result === 'ok' || outcome.result === 'failed') this.#started.delete(taskId);
    return outcome;
  }

  /** poll_job until the job ends: it reads the task's status and log from Proxmox each time. */
  async #followJob(jobId: string, o: { deadlineMs: number; signal: AbortSignal }): Promise<TaskOutcome> {
    let delay = 200;
    let lastError: unknown;
    const poll = this.has('poll_job') ? ('poll_job' as const) : ('get_job' as const);
    while (!o.signal.aborted) {
      try {
        const answer = await this.#call(poll, poll === 'poll_job' ? { job_id: jobId } : { job_id: jobId, refresh: true }, false, Math.max(1_000, Math.min(this.#o.timeoutMs, o.deadlineMs - Date.now())), o.signal);
        if (answer.isError) {
          const e = toolError(poll, answer.text);
          // The job store forgot it (a new SQLite file), or the job tools are gone: follow the guest's state.
          if (e.code === 'not_found' || e.code === 'unsupported') {
            const known = this.#started.get(jobId);
            if (known?.upid) return this.#followState(known.upid, o);
            return { result: 'lost', exitstatus: `ProxmoxMCP-Plus no longer knows job ${jobId}` };
          }
          throw e;
        }
        lastError = undefined;
        const job = parseJob(poll, answer.text);
        const outcome = this.#jobOutcome(job);
        if (outcome) return outcome;
      } catch (err) {
        // The REST bridge answers 404 for a tool it does not have.
        if (err instanceof UpstreamError && err.code === 'unsupported') {
          const known = this.#started.get(jobId);
          if (known?.upid) return this.#followState(known.upid, o);
          return { result: 'lost', exitstatus: `${poll} is not offered any more: ${err.message}` };
        }
        lastError = err;
      }
      if (Date.now() + delay > o.deadlineMs) {
        return lastError ? { result: 'lost', exitstatus: (lastError as Error).message } : { result: 'deadline', exitstatus: 'job still running at the deadline' };
      }
      await sleep(delay, o.signal).catch(() => {});
      delay = Math.min(delay * 1.5, 1_000);
    }
    return { result: 'lost', exitstatus: 'stopped following (shutdown)' };
  }

  #jobOutcome(job: JobRecord): TaskOutcome | undefined {
    if (JOB_WAITING.has(job.status)) return undefined;
    const exitstatus = typeof job.result?.exitstatus === 'string' ? job.result.exitstatus : '';
    if (job.status === 'completed') return { result: 'ok', exitstatus: exitstatus || 'OK' };
    if (job.status === 'failed') {
      const said = job.last_error ?? exitstatus ?? 'failed';
      // Up to v0.5.2 a task that ended "WARNINGS: n" was a failed job; to Proxmox it succeeded.
      if (exitStatusOk(said) || exitStatusOk(exitstatus)) {
        if (!this.#warnedWarnings) {
          this.#warnedWarnings = true;
          this.#o.log.info({ job: job.job_id, exitstatus: said }, 'ProxmoxMCP-Plus reported a job with warnings as failed (a bug up to v0.5.2); Proxmox counts it as success');
        }
        return { result: 'ok', exitstatus: exitStatusOk(said) ? said : exitstatus };
      }
      return { result: 'failed', exitstatus: said || 'failed' };
    }
    if (job.status === 'cancelled') return { result: 'failed', exitstatus: 'the task was cancelled' };
    return { result: 'failed', exitstatus: `job ${job.status}${job.last_error ? `: ${job.last_error}` : ''}` };
  }

  /**
   * Without job tools the task's own status cannot be read through ProxmoxMCP-Plus: read the
   * guest until it is in the state the action aims for. The UPID says which guest and action.
   */
  async #followState(upid: string, o: { deadlineMs: number; signal: AbortSignal }): Promise<TaskOutcome> {
    const target = this.#targetOf(upid);
    if (!target) return { result: 'lost', exitstatus: `cannot tell which guest ${upid} acts on` };
    const want = TARGET_STATUS[target.action];
    let delay = 300;
    let lastError: unknown;
    while (!o.signal.aborted) {
      try {
        let guest: Guest | undefined;
        for (const ref of target.refs) {
          guest = await this.readGuest(ref);
          if (guest) break;
        }
        lastError = undefined;
        if (guest && guest.status === want && target.action !== 'reboot') {
          return { result: 'ok', exitstatus: `guest is ${want} (read from its state: the task status is not readable without ProxmoxMCP-Plus's job tools)` };
        }
      } catch (err) {
        lastError = err;
      }
      if (Date.now() + delay > o.deadlineMs) {
        return lastError ? { result: 'lost', exitstatus: (lastError as Error).message } : { result: 'deadline', exitstatus: `the guest did not reach ${want} by the deadline` };
      }
      await sleep(delay, o.signal).catch(() => {});
      delay = Math.min(delay * 1.5, 2_000);
    }
    return { result: 'lost', exitstatus: 'stopped following (shutdown)' };
  }

  #targetOf(taskId: string): { refs: GuestRef[]; action: PowerActionName } | undefined {
    const known = this.#started.get(taskId);
    if (known) return { refs: [known.ref], action: known.action };
    const u = parseUpid(taskId);
    if (!u) return undefined;
    const vmid = Number(u.id);
    if (!Number.isInteger(vmid)) return undefined;
    for (const type of GUEST_TYPES) {
      for (const [action, workers] of Object.entries(WORKER_TYPES[type])) {
        if (workers.includes(u.type) && !u.type.startsWith('ha')) return { refs: [{ vmid, node: u.node, type }], action: action as PowerActionName };
      }
    }
    // hastart / hastop: the guest type is not in the UPID.
    const action: PowerActionName | undefined = u.type === 'hastart' ? 'start' : u.type === 'hastop' ? 'stop' : undefined;
    if (!action) return undefined;
    return { refs: [{ vmid, node: u.node, type: 'qemu' }, { vmid, node: u.node, type: 'lxc' }], action };
  }

  /** The job this action started since sinceMs, from list_jobs (undefined when there is none or no job tools). */
  async findTask(ref: GuestRef, action: PowerActionName, sinceMs: number): Promise<string | undefined> {
    if (!this.has('list_jobs') || !this.client.toolsKnown) return undefined;
    const tool = ref.type === 'qemu' ? (action === 'reboot' ? undefined : VM_TOOL[action]) : CT_TOOL[action];
    if (!tool) return undefined;
    const answer = await this.#call('list_jobs', { tool_name: tool, limit: 50 }, false);
    if (answer.isError) throw toolError('list_jobs', answer.text);
    const jobs = parseJobs('list_jobs', answer.text);
    const candidates = jobs
      .filter((j) => j.node === ref.node && String(j.metadata?.vmid ?? '') === String(ref.vmid))
      .filter((j) => ref.type === 'qemu' || action === 'reboot' || action === 'start' || (j.metadata?.graceful === true) === (action === 'shutdown'))
      .map((j) => ({ id: j.job_id, at: Date.parse(j.created_at) }))
      .sort((a, b) => a.at - b.at);
    // The first job created after the call; within 5 s before it only when there is none (clock skew).
    return (candidates.find((j) => j.at >= sinceMs) ?? candidates.find((j) => j.at >= sinceMs - 5_000))?.id;
  }

  taskError(exitstatus: string): UpstreamError {
    return pveHttpError(500, exitstatus);
  }

  close(): Promise<void> {
    return this.client.close();
  }

  // ---- calls --------------------------------------------------------------------------------

  async #call(tool: string, args: Record<string, unknown>, mutating: boolean, timeoutMs = this.#o.timeoutMs, signal?: AbortSignal): Promise<ToolAnswer> {
    return this.client.call(tool, args, { timeoutMs, mutating, signal });
  }

  /** A read tool's text; its isError is an error. */
  async #text(tool: string, args: Record<string, unknown>): Promise<string> {
    const answer = await this.#call(tool, args, false);
    if (answer.isError) throw toolError(tool, answer.text);
    return answer.text;
  }

  /** Runs a parser; a ParseError becomes an UpstreamError that names the tool and the line. */
  #parse<T>(tool: string, parse: () => T): T {
    try {
      return parse();
    } catch (err) {
      if (err instanceof ParseError) {
        throw new UpstreamError({
          code: 'upstream',
          message: err.message,
          remedy: 'This ProxmoxMCP-Plus release writes text this adapter does not know (supported: v0.4–v0.6 ASCII tags, ≤ v0.3 emoji). Report it with the line quoted, or set PVE_URL to read Proxmox directly.',
          cause: err,
        });
      }
      throw err;
    }
  }
}

/** get_containers: JSON as asked; the pretty text if an old release ignored format_style. */
function containers(text: string, cluster: string): Guest[] {
  return text.trimStart().startsWith('[') ? parseContainersJson(text, cluster) : parseContainersPretty(text, cluster);
}
