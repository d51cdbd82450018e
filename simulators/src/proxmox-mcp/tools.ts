import { setTimeout as sleep } from 'node:timers/promises';
import {
  actionResult,
  clusterStatus,
  containerList,
  nodeList,
  nodeStatus,
  pyFloat,
  pyJson,
  storageList,
  theme,
  vmList,
  type ActionRow,
  type ContainerRow,
  type NodeRow,
  type OutputFormat,
  type StorageRow,
  type VmRow,
} from './format.js';
import { JobConflictError, JobNotFoundError, type JobRecord, type JobStore } from './jobs.js';
import type { Params } from './params.js';
import type { PveApi } from './pve-api.js';

/**
 * The ProxmoxMCP-Plus tools the simulator serves, with v0.5.2's names, parameters, Proxmox calls
 * and answers (tools/node.py, vm.py, containers.py, storage.py, cluster.py, jobs.py). There is
 * no reboot_vm: ProxmoxMCP-Plus has none.
 */
export interface ToolContext {
  pve: PveApi;
  /** Undefined when the job store is off (every "Job ID" is then "n/a" and the job tools are absent). */
  jobs: JobStore | undefined;
  format: OutputFormat;
  /** The 5/10 s caches of get_nodes, get_storage and get_cluster_status. */
  cache: Map<string, { until: number; value: unknown }> | undefined;
}

/** A Python exception raised by a tool: FastMCP answers isError "Error executing tool <name>: <message>". */
export class ToolFailure extends Error {}

export interface ToolDef {
  description: string;
  params: Params;
  /** Returns the TextContent's text. */
  run(args: Record<string, any>, ctx: ToolContext): Promise<string>;
  /** Job tools are only registered with a job store. */
  needsJobs?: boolean;
}

/**
 * tools/base.py `_handle_error`: the words depend on the error's own text. Like the original,
 * an error already worded by it gets worded again when an outer `except` catches it
 * ("Failed to get nodes: Failed to get nodes: …").
 */
function handleError(operation: string, err: unknown): never {
  const msg = messageOf(err);
  const lower = msg.toLowerCase();
  if (lower.includes('not found')) throw new ToolFailure(`Resource not found: ${msg}`);
  if (lower.includes('permission denied')) throw new ToolFailure(`Permission denied: ${msg}`);
  if (lower.includes('invalid')) throw new ToolFailure(`Invalid input: ${msg}`);
  throw new ToolFailure(`Failed to ${operation}: ${msg}`);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** tools/base.py `_call_with_retry`: two retries, 0.2 s × attempt apart. */
async function withRetry<T>(operation: string, fn: () => Promise<T>, retries = 2): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= retries) handleError(operation, err);
      await sleep(200 * (attempt + 1));
    }
  }
}

async function cached<T>(ctx: ToolContext, key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
  const hit = ctx.cache?.get(key);
  if (hit && hit.until > Date.now()) return hit.value as T;
  const value = await load();
  ctx.cache?.set(key, { until: Date.now() + ttlMs, value });
  return value;
}

const enc = encodeURIComponent;
const doesNotExist = (err: unknown) => /does not exist|not found/i.test(messageOf(err));

type Row = Record<string, any>;

// ---- nodes ----------------------------------------------------------------------------------

async function getNodes(ctx: ToolContext): Promise<string> {
  const t = theme(ctx.format);
  try {
    const nodes = await cached(ctx, 'nodes:list', 5_000, async () => {
      const result = await withRetry('get nodes', () => ctx.pve.get<Row[]>('/nodes'));
      const out: NodeRow[] = [];
      for (const n of result) {
        try {
          const s = await ctx.pve.get<Row>(`/nodes/${enc(n.node)}/status`);
          out.push({ node: n.node, status: n.status, uptime: s.uptime ?? 0, maxcpu: s.cpuinfo?.cpus ?? 'N/A', memory: { used: s.memory?.used ?? 0, total: s.memory?.total ?? 0 } });
        } catch {
          // Basic info when the node's own status cannot be read (an offline node).
          out.push({ node: n.node, status: n.status, uptime: 0, maxcpu: 'N/A', memory: { used: n.mem ?? 0, total: n.maxmem ?? 0 } });
        }
      }
      return out;
    });
    return nodeList(nodes, t);
  } catch (err) {
    handleError('get nodes', err);
  }
}

async function getNodeStatus(args: { node: string }, ctx: ToolContext): Promise<string> {
  const t = theme(ctx.format);
  const { node } = args;
  try {
    // /nodes/{n}/status has no "status" and no "maxcpu": the template prints UNKNOWN and N/A.
    const s = await ctx.pve.get<Row>(`/nodes/${enc(node)}/status`);
    return nodeStatus(node, { status: s.status, uptime: s.uptime, maxcpu: s.maxcpu, memory: s.memory, disk: s.disk }, t);
  } catch (err) {
    let nodes: Row[];
    try {
      nodes = await ctx.pve.get<Row[]>('/nodes');
    } catch {
      handleError(`get status for node ${node}`, err);
    }
    const entry = nodes.find((n) => n.node === node);
    if (entry?.status === 'offline') {
      return nodeStatus(node, { status: 'offline', uptime: 0, maxcpu: 'N/A', memory: { used: entry.mem ?? 0, total: entry.maxmem ?? 0 } }, t);
    }
    handleError(`get status for node ${node}`, err);
  }
}

// ---- VMs ------------------------------------------------------------------------------------

async function getVms(ctx: ToolContext): Promise<string> {
  const t = theme(ctx.format);
  let inventory: VmRow[] | undefined;
  try {
    const resources = await ctx.pve.get<Row[]>('/cluster/resources', { type: 'vm' });
    const rows: VmRow[] = [];
    for (const vm of resources) {
      if (vm.type !== 'qemu') continue;
      const vmid = vm.vmid ?? String(vm.id ?? '').split('/').pop();
      if (vmid === undefined || vmid === '') continue;
      rows.push({
        vmid,
        name: vm.name || `VM-${vmid}`,
        status: vm.status ?? 'unknown',
        node: vm.node ?? 'unknown',
        cpus: vm.maxcpu ?? vm.cpus ?? 'N/A',
        memory: { used: vm.mem ?? 0, total: vm.maxmem ?? 0 },
      });
    }
    inventory = rows.length ? rows : undefined;
  } catch {
    inventory = undefined; // falls back to a per-node scan
  }
  if (inventory) return vmList(inventory, t);

  let nodes: Row[];
  try {
    nodes = await ctx.pve.get<Row[]>('/nodes');
  } catch (err) {
    handleError('get VMs', err);
  }
  const rows: VmRow[] = [];
  for (const n of nodes) {
    if (!n.node) continue;
    let vms: Row[];
    try {
      vms = await ctx.pve.get<Row[]>(`/nodes/${enc(n.node)}/qemu`);
    } catch {
      continue;
    }
    for (const vm of vms) {
      let cpus: number | 'N/A' = 'N/A';
      try {
        const config = await ctx.pve.get<Row>(`/nodes/${enc(n.node)}/qemu/${vm.vmid}/config`);
        cpus = config.cores ?? 'N/A';
      } catch {
        cpus = 'N/A';
      }
      rows.push({ vmid: vm.vmid, name: vm.name, status: vm.status, node: n.node, cpus, memory: { used: vm.mem ?? 0, total: vm.maxmem ?? 0 } });
    }
  }
  return vmList(rows, t);
}

type VmAction = 'start' | 'stop' | 'shutdown' | 'reset';

const VM_ACTION: Record<VmAction, { summary: string; done: string; skipWhen: 'running' | 'stopped'; skipText: (vmid: string) => string; kind: string }> = {
  start: { summary: 'Start', done: 'start initiated successfully', skipWhen: 'running', skipText: (v) => `VM ${v} is already running`, kind: 'vm.start' },
  stop: { summary: 'Stop', done: 'stop initiated successfully', skipWhen: 'stopped', skipText: (v) => `VM ${v} is already stopped`, kind: 'vm.stop' },
  shutdown: { summary: 'Shutdown', done: 'graceful shutdown initiated', skipWhen: 'stopped', skipText: (v) => `VM ${v} is already stopped`, kind: 'vm.shutdown' },
  reset: {
    summary: 'Reset',
    done: 'reset initiated successfully',
    skipWhen: 'stopped',
    skipText: (v) => `Cannot reset VM ${v}: VM is currently stopped\nUse start_vm to start it first`,
    kind: 'vm.reset',
  },
};

/** vm.py start_vm / stop_vm / shutdown_vm / reset_vm: read the status, then POST (or say why not). */
async function vmPower(action: VmAction, args: { node: string; vmid: string }, ctx: ToolContext): Promise<string> {
  const a = VM_ACTION[action];
  const t = theme(ctx.format);
  const { node, vmid } = args;
  const base = `/nodes/${enc(node)}/qemu/${enc(vmid)}/status`;
  const prefix = {
    start: t.action.started,
    stop: t.action.stopped,
    shutdown: t.action.shutdown,
    reset: t.action.reset,
  }[action];
  try {
    const current = await ctx.pve.get<Row>(`${base}/current`);
    if (current.status === a.skipWhen) {
      const p = action === 'start' ? t.action.alreadyRunning : action === 'reset' ? t.action.cannotReset : t.action.alreadyStopped;
      return `${p}${a.skipText(vmid)}`;
    }
    const upid = await ctx.pve.post<string>(`${base}/${action}`);
    const job = ctx.jobs?.register({
      tool_name: `${action}_vm`,
      summary: `${a.summary} VM ${vmid} on ${node}`,
      node,
      upid,
      metadata: { vmid },
      retry_spec: { kind: a.kind, params: { node, vmid } },
    });
    return `${prefix}VM ${vmid} ${a.done}\nTask ID: ${upid}\nJob ID: ${job ? job.job_id : 'n/a'}`;
  } catch (err) {
    if (doesNotExist(err)) throw new ToolFailure(`VM ${vmid} not found on node ${node}`);
    handleError(`${action} VM ${vmid}`, err);
  }
}

// ---- containers -----------------------------------------------------------------------------

async function containerPairs(ctx: ToolContext, node?: string | null): Promise<[string, Row][]> {
  try {
    const resources = await ctx.pve.get<Row[]>('/cluster/resources', { type: 'vm' });
    const out: [string, Row][] = [];
    for (const item of resources) {
      if (item.type !== 'lxc' || !item.node) continue;
      if (node && item.node !== node) continue;
      const vmid = item.vmid ?? String(item.id ?? '').split('/').pop();
      if (vmid === undefined || vmid === '') continue;
      out.push([item.node, { ...item, vmid }]);
    }
    if (out.length) return out;
  } catch {
    // falls back to a per-node scan
  }
  const out: [string, Row][] = [];
  const nodes = node ? [{ node }] : await ctx.pve.get<Row[]>('/nodes').catch((err) => handleError('list containers', err));
  for (const n of nodes) {
    try {
      for (const ct of await ctx.pve.get<Row[]>(`/nodes/${enc(n.node)}/lxc`)) out.push([n.node, ct]);
    } catch {
      continue;
    }
  }
  return out;
}

async function getContainers(
  args: { node?: string | null; include_stats: boolean; include_raw: boolean; format_style: string; payload?: Record<string, unknown> | null },
  ctx: ToolContext,
): Promise<string> {
  let { node, include_stats: includeStats, include_raw: includeRaw, format_style: style } = args;
  if (args.payload) {
    const p = args.payload as Record<string, any>;
    if ('node' in p) node = p.node;
    if ('include_stats' in p) includeStats = Boolean(p.include_stats);
    if ('include_raw' in p) includeRaw = Boolean(p.include_raw);
    if ('format_style' in p) style = String(p.format_style);
  }
  try {
    const rows: Row[] = [];
    for (const [nname, ct] of await containerPairs(ctx, node)) {
      const vmidVal = ct.vmid;
      const rec: Row = {
        vmid: vmidVal !== undefined && vmidVal !== null ? String(vmidVal) : null,
        name: ct.name || ct.hostname || (vmidVal !== undefined ? `ct-${vmidVal}` : 'ct-?'),
        node: nname,
        status: ct.status ?? null,
      };
      if (ct.cpu !== undefined) rec.cpu_pct = pyFloat(round2(Number(ct.cpu) * 100));
      if (ct.mem !== undefined) rec.mem_bytes = Math.trunc(Number(ct.mem));
      if (ct.maxmem !== undefined) {
        const maxmem = Math.trunc(Number(ct.maxmem));
        rec.maxmem_bytes = maxmem;
        rec.mem_pct = maxmem > 0 ? pyFloat(round2(((rec.mem_bytes ?? 0) / maxmem) * 100)) : null;
      }
      if (ct.maxcpu !== undefined) rec.cores = ct.maxcpu;
      if (includeStats && vmidVal !== undefined) {
        let status: Row = {};
        let config: Row = {};
        try {
          status = await ctx.pve.get<Row>(`/nodes/${enc(nname)}/lxc/${vmidVal}/status/current`);
        } catch {
          status = {};
        }
        try {
          config = await ctx.pve.get<Row>(`/nodes/${enc(nname)}/lxc/${vmidVal}/config`);
        } catch {
          config = {};
        }
        const cpuPct = round2(Number(status.cpu ?? 0) * 100);
        let memBytes = Math.trunc(Number(status.mem ?? 0));
        let maxmemBytes = Math.trunc(Number(status.maxmem ?? 0));
        const memoryMib = Math.trunc(Number(config.memory ?? 0)) || 0;
        const unlimited = (config.swap ?? 0) === 0 && memoryMib === 0;
        const cores = config.cores !== undefined ? Math.trunc(Number(config.cores)) : config.cpulimit > 0 ? Number(config.cpulimit) : null;
        if (String(status.status ?? ct.status ?? '').toLowerCase() === 'stopped') memBytes = 0;
        if (!maxmemBytes && memoryMib > 0) maxmemBytes = memoryMib * 1024 * 1024;
        Object.assign(rec, {
          cores,
          memory: memoryMib,
          cpu_pct: pyFloat(cpuPct),
          mem_bytes: memBytes,
          maxmem_bytes: maxmemBytes,
          mem_pct: maxmemBytes > 0 ? pyFloat(round2((memBytes / maxmemBytes) * 100)) : null,
          unlimited_memory: unlimited,
        });
        if (includeRaw) Object.assign(rec, { raw_status: status, raw_config: config });
      }
      rows.push(rec);
    }
    if (style === 'json') return pyJson(rows);
    const plain: ContainerRow[] = rows.map((r) => ({ ...r, cpu_pct: num(r.cpu_pct), mem_pct: r.mem_pct === null ? null : num(r.mem_pct) }) as ContainerRow);
    return containerList(plain, ctx.format);
  } catch (err) {
    handleError('Failed to list containers', err);
  }
}

const num = (v: unknown) => (v && typeof v === 'object' && 'value' in v ? (v as { value: number }).value : (v as number | undefined));
/** Python's round(x, 2) (half to even on exact ties, as the float sits). */
const round2 = (x: number) => Number(Math.round(x * 100) / 100);

/** containers.py `_resolve_targets`: '123', 'pve1:123', 'pve1/name', 'name', or a comma list. */
async function resolveTargets(ctx: ToolContext, selector: string): Promise<[string, number, string][]> {
  if (!selector) return [];
  const tokens = selector.split(',').map((s) => s.trim()).filter(Boolean);
  const inventory = await containerPairs(ctx, undefined);
  const resolved: [string, number, string][] = [];
  const label = (ct: Row, vmid: number) => ct.name || ct.hostname || `ct-${vmid}`;
  for (const tok of tokens) {
    if (tok.includes(':') && !tok.includes('/')) {
      const [node, v] = tok.split(':', 2) as [string, string];
      if (!/^\s*[-+]?\d+\s*$/.test(v)) continue;
      const vmid = Number(v);
      const hit = inventory.find(([n, ct]) => n === node && Number(ct.vmid) === vmid);
      if (hit) resolved.push([node, vmid, label(hit[1], vmid)]);
      continue;
    }
    if (tok.includes('/') && !tok.includes(':')) {
      const [node, rawName] = [tok.slice(0, tok.indexOf('/')), tok.slice(tok.indexOf('/') + 1).trim()];
      for (const [n, ct] of inventory) if (n === node && (ct.name === rawName || ct.hostname === rawName)) resolved.push([node, Number(ct.vmid), rawName]);
      continue;
    }
    if (/^\d+$/.test(tok)) {
      const vmid = Number(tok);
      for (const [n, ct] of inventory) if (Number(ct.vmid) === vmid) resolved.push([n, vmid, label(ct, vmid)]);
      continue;
    }
    for (const [n, ct] of inventory) if (ct.name === tok || ct.hostname === tok) resolved.push([n, Number(ct.vmid), tok]);
  }
  const unique = new Map<string, [string, number, string]>();
  for (const r of resolved) unique.set(`${r[0]}/${r[1]}`, r);
  return [...unique.values()];
}

type CtAction = 'start' | 'stop' | 'restart';

async function containerAction(
  action: CtAction,
  args: { selector: string; graceful?: boolean; timeout_seconds?: number; format_style: string },
  ctx: ToolContext,
): Promise<string> {
  const title = { start: 'Start Containers', stop: 'Stop Containers', restart: 'Restart Containers' }[action];
  const failure = { start: 'Failed to start container(s)', stop: 'Failed to stop container(s)', restart: 'Failed to restart container(s)' }[action];
  try {
    const targets = await resolveTargets(ctx, args.selector);
    // `_err("No containers matched the selector", ValueError(selector))`
    if (!targets.length) handleError('No containers matched the selector', new Error(args.selector));
    const results: (ActionRow & Row)[] = [];
    for (const [node, vmid, name] of targets) {
      const base = `/nodes/${enc(node)}/lxc/${vmid}/status`;
      try {
        let upid: string;
        let kind: string;
        const params: Record<string, unknown> = { node, vmid };
        const metadata: Record<string, unknown> = { vmid };
        if (action === 'start') {
          upid = await ctx.pve.post<string>(`${base}/start`);
          kind = 'ct.start';
        } else if (action === 'stop') {
          const graceful = args.graceful ?? true;
          const timeout = args.timeout_seconds ?? 10;
          upid = graceful ? await ctx.pve.post<string>(`${base}/shutdown`, { timeout }) : await ctx.pve.post<string>(`${base}/stop`);
          kind = 'ct.stop';
          params.graceful = graceful;
          params.timeout_seconds = timeout;
          metadata.graceful = graceful;
        } else {
          upid = await ctx.pve.post<string>(`${base}/reboot`);
          kind = 'ct.restart';
        }
        const job = ctx.jobs?.register({
          tool_name: `${action}_container`,
          summary: `${action === 'start' ? 'Start' : action === 'stop' ? 'Stop' : 'Restart'} container ${vmid} on ${node}`,
          node,
          upid,
          metadata,
          retry_spec: { kind, params },
        });
        results.push({ ok: true, node, vmid, name, message: upid, task_id: String(upid), job_id: job ? job.job_id : null });
      } catch (err) {
        results.push({ ok: false, node, vmid, name, error: messageOf(err) });
      }
    }
    if (args.format_style === 'json') return pyJson(results);
    return actionResult(title, results, ctx.format);
  } catch (err) {
    handleError(failure, err);
  }
}

// ---- storage, cluster -----------------------------------------------------------------------

async function getStorage(ctx: ToolContext): Promise<string> {
  const t = theme(ctx.format);
  try {
    const rows = await cached(ctx, 'storage:list', 10_000, async () => {
      const stores = await withRetry('get storage', () => ctx.pve.get<Row[]>('/storage'));
      const nodes = await withRetry('get nodes', () => ctx.pve.get<Row[]>('/nodes'));
      const online = nodes.filter((n) => n.node && n.status !== 'offline').map((n) => String(n.node));
      const names = online.length ? online : nodes.filter((n) => n.node).map((n) => String(n.node));
      const out: StorageRow[] = [];
      for (const store of stores) {
        const restricted = typeof store.nodes === 'string' ? store.nodes.split(',').map((s: string) => s.trim()).filter(Boolean) : [];
        const preferred = names.filter((n) => restricted.includes(n));
        const candidates = restricted.length ? (preferred.length ? preferred : restricted) : names;
        let status: Row | undefined;
        for (const node of candidates) {
          try {
            status = await ctx.pve.get<Row>(`/nodes/${enc(node)}/storage/${enc(store.storage)}/status`);
            break;
          } catch {
            // next candidate node
          }
        }
        // /storage has no "enabled" key: every storage is "online".
        out.push({
          storage: store.storage,
          type: store.type,
          status: (store.enabled ?? true) ? 'online' : 'offline',
          used: status?.used ?? 0,
          total: status?.total ?? 0,
        });
      }
      return out;
    });
    return storageList(rows, t);
  } catch (err) {
    handleError('get storage', err);
  }
}

async function getClusterStatus(ctx: ToolContext): Promise<string> {
  const t = theme(ctx.format);
  try {
    const status = await cached(ctx, 'cluster:status', 5_000, async () => {
      const result = await withRetry('get cluster status', () => ctx.pve.get<Row[]>('/cluster/status'));
      // The first entry is the cluster's; a standalone node has none, so its own entry stands
      // in: its name becomes the "cluster" name and, having no "quorate", the quorum "NOT OK".
      const first = result[0];
      return {
        name: first ? (first.name ?? null) : null,
        quorum: first ? first.quorate : null,
        nodes: result.filter((r) => r.type === 'node').length,
        resources: result.filter((r) => r.type === 'resource'),
      };
    });
    return clusterStatus(status, t);
  } catch (err) {
    handleError('get cluster status', err);
  }
}

// ---- jobs -----------------------------------------------------------------------------------

function jobsOf(ctx: ToolContext): JobStore {
  if (!ctx.jobs) throw new ToolFailure('JobStore is not available');
  return ctx.jobs;
}

async function jobCall(fn: () => Promise<JobRecord | JobRecord[]> | JobRecord | JobRecord[]): Promise<string> {
  try {
    return pyJson(await fn());
  } catch (err) {
    if (err instanceof JobNotFoundError || err instanceof JobConflictError) throw new ToolFailure(err.message);
    throw new ToolFailure(messageOf(err));
  }
}

export async function retryRecipe(ctx: ToolContext, spec: NonNullable<JobRecord['retry_spec']>): Promise<string> {
  const p = spec.params as Row;
  const type = spec.kind.startsWith('ct.') ? 'lxc' : 'qemu';
  const base = `/nodes/${enc(p.node)}/${type}/${enc(String(p.vmid))}/status`;
  switch (spec.kind) {
    case 'vm.start':
    case 'ct.start':
      return ctx.pve.post(`${base}/start`);
    case 'vm.stop':
      return ctx.pve.post(`${base}/stop`);
    case 'vm.shutdown':
      return ctx.pve.post(`${base}/shutdown`);
    case 'vm.reset':
      return ctx.pve.post(`${base}/reset`);
    case 'ct.stop':
      return p.graceful === false ? ctx.pve.post(`${base}/stop`) : ctx.pve.post(`${base}/shutdown`, { timeout: p.timeout_seconds ?? 10 });
    case 'ct.restart':
      return ctx.pve.post(`${base}/reboot`);
    default:
      throw new JobConflictError(`Retry handler '${spec.kind}' is not available`);
  }
}

// ---- the catalogue --------------------------------------------------------------------------

const node = { type: 'string', required: true, description: "Host node name (e.g. 'pve')" } as const;
const vmid = { type: 'string', required: true, description: "VM ID number (e.g. '101')" } as const;
const jobId = { type: 'string', required: true, description: 'Stable job identifier' } as const;
const style = { type: 'string', default: 'pretty', description: "'pretty' or 'json'", pattern: '^(pretty|json)$' } as const;
const styleLiteral = { type: 'string', default: 'pretty', description: 'Output format', enum: ['pretty', 'json'] } as const;
const selector = { type: 'string', required: true, description: 'CT selector (see start_container)' } as const;

const vmTool = (action: VmAction, description: string): ToolDef => ({
  description,
  params: { node, vmid },
  run: (args, ctx) => vmPower(action, args as { node: string; vmid: string }, ctx),
});

export const TOOLS: Record<string, ToolDef> = {
  get_nodes: {
    description: 'List all nodes in the Proxmox cluster with their status, CPU, memory, and role information.',
    params: {},
    run: (_a, ctx) => getNodes(ctx),
  },
  get_node_status: {
    description: "Get detailed status information for a specific Proxmox node.\n\nParameters:\nnode* - Name/ID of node to query (e.g. 'pve1')",
    params: { node: { type: 'string', required: true, description: "Name/ID of node to query (e.g. 'pve1', 'proxmox-node2')" } },
    run: (args, ctx) => getNodeStatus(args as { node: string }, ctx),
  },
  get_storage: {
    description: 'List storage pools across the cluster with their usage and configuration.',
    params: {},
    run: (_a, ctx) => getStorage(ctx),
  },
  get_cluster_status: {
    description: 'Get overall Proxmox cluster health and configuration status.',
    params: {},
    run: (_a, ctx) => getClusterStatus(ctx),
  },
  list_jobs: {
    description: 'List tracked long-running jobs created by MCP tools.\n\nParameters:\nstatus - Filter by job status (optional)\ntool_name - Filter by originating tool (optional)\nlimit - Maximum rows to return (default: 100)',
    params: {
      status: { type: 'string', nullable: true, description: 'Optional status filter' },
      tool_name: { type: 'string', nullable: true, description: 'Optional originating tool filter' },
      limit: { type: 'integer', default: 100, minimum: 1, maximum: 500, description: 'Maximum jobs to return' },
    },
    needsJobs: true,
    run: (args, ctx) => jobCall(() => jobsOf(ctx).list({ status: args.status, tool_name: args.tool_name, limit: args.limit })),
  },
  get_job: {
    description: 'Get the current state of a tracked job by job_id.\n\nParameters:\njob_id* - Stable job identifier returned by long-running tools\nrefresh - Poll Proxmox before returning the job state (default: false)',
    params: { job_id: jobId, refresh: { type: 'boolean', default: false, description: 'Poll Proxmox before returning' } },
    needsJobs: true,
    run: (args, ctx) => jobCall(() => (args.refresh ? jobsOf(ctx).poll(args.job_id) : jobsOf(ctx).get(args.job_id))),
  },
  poll_job: {
    description: 'Poll the backing Proxmox task for a tracked job and refresh status/progress.',
    params: { job_id: jobId },
    needsJobs: true,
    run: (args, ctx) => jobCall(() => jobsOf(ctx).poll(args.job_id)),
  },
  cancel_job: {
    description: 'Best-effort cancel for a tracked long-running job.\n\nThis uses the stored Proxmox task UPID when cancellation is supported.',
    params: { job_id: jobId },
    needsJobs: true,
    run: (args, ctx) => jobCall(() => jobsOf(ctx).cancel(args.job_id)),
  },
  retry_job: {
    description: 'Retry a tracked long-running job using its stored retry recipe.\n\nThe same job_id is preserved and its attempt counter is incremented.',
    params: { job_id: jobId, approval_token: { type: 'string', nullable: true, description: 'Optional approval token for high-risk job retries' } },
    needsJobs: true,
    run: (args, ctx) => jobCall(() => jobsOf(ctx).retry(args.job_id, (spec) => retryRecipe(ctx, spec))),
  },
  get_vms: {
    description: 'List all virtual machines across the cluster with their status and resource usage.',
    params: {},
    run: (_a, ctx) => getVms(ctx),
  },
  start_vm: vmTool('start', "Start a virtual machine.\n\nParameters:\nnode* - Host node name (e.g. 'pve')\nvmid* - VM ID number (e.g. '101')"),
  stop_vm: vmTool('stop', "Stop a virtual machine (force stop).\n\nParameters:\nnode* - Host node name (e.g. 'pve')\nvmid* - VM ID number (e.g. '101')"),
  shutdown_vm: vmTool('shutdown', "Shutdown a virtual machine gracefully.\n\nParameters:\nnode* - Host node name (e.g. 'pve')\nvmid* - VM ID number (e.g. '101')"),
  reset_vm: vmTool('reset', "Reset (restart) a virtual machine.\n\nParameters:\nnode* - Host node name (e.g. 'pve')\nvmid* - VM ID number (e.g. '101')"),
  get_containers: {
    description:
      "List LXC containers across the cluster (or filter by node).\n\nParameters:\n- node (optional): Node name to filter (e.g. 'pve1')\n- include_stats (bool, default false): Fetch per-container live CPU/memory stats\n- include_raw (bool, default false): Include raw Proxmox API payloads for debugging\n- format_style ('pretty'|'json', default 'pretty'): Pretty text or raw JSON list",
    params: {
      node: { type: 'string', nullable: true, description: "Optional node name (e.g. 'pve1')" },
      include_stats: { type: 'boolean', default: false, description: 'Fetch per-container live stats and fallbacks' },
      include_raw: { type: 'boolean', default: false, description: 'Include raw status/config' },
      format_style: { type: 'string', default: 'pretty', enum: ['pretty', 'json'], description: "'pretty' or 'json'" },
      payload: { type: 'object', nullable: true, description: 'Legacy container query options' },
    },
    run: (args, ctx) => getContainers(args as Parameters<typeof getContainers>[0], ctx),
  },
  start_container: {
    description: "Start one or more LXC containers.\nselector: '123' | 'pve1:123' | 'pve1/name' | 'name' | comma list\nExample: start_container selector='pve1:101,pve2/web'",
    params: { selector: { type: 'string', required: true, description: "CT selector: '123' | 'pve1:123' | 'pve1/name' | 'name' | comma list" }, format_style: style },
    run: (args, ctx) => containerAction('start', args as { selector: string; format_style: string }, ctx),
  },
  stop_container: {
    description: 'Stop LXC containers. graceful=True uses shutdown; otherwise force stop.\nselector: same grammar as start_container\ntimeout_seconds: 10 (default)',
    params: {
      selector,
      graceful: { type: 'boolean', default: true, description: 'Graceful shutdown (True) or forced stop (False)' },
      timeout_seconds: { type: 'integer', default: 10, minimum: 1, maximum: 600, description: 'Timeout for stop/shutdown' },
      format_style: styleLiteral,
    },
    run: (args, ctx) => containerAction('stop', args as { selector: string; graceful: boolean; timeout_seconds: number; format_style: string }, ctx),
  },
  restart_container: {
    description: 'Restart LXC containers (reboot).\nselector: same grammar as start_container',
    params: {
      selector,
      timeout_seconds: { type: 'integer', default: 10, minimum: 1, maximum: 600, description: 'Timeout for reboot' },
      format_style: style,
    },
    run: (args, ctx) => containerAction('restart', args as { selector: string; format_style: string }, ctx),
  },
};

/** Tool names in registration order (core, jobs, VMs, containers), as tools/list returns them. */
export function toolNames(o: { jobs: boolean; deny?: readonly string[] }): string[] {
  return Object.entries(TOOLS)
    .filter(([name, def]) => (o.jobs || !def.needsJobs) && !o.deny?.includes(name))
    .map(([name]) => name);
}
