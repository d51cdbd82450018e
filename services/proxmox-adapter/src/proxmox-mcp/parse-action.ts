import { z } from 'zod';
import { ParseError, normalise, stripMarker } from './lines.js';

/**
 * The answers of start_vm / stop_vm / shutdown_vm / reset_vm (vm.py) and of the container
 * actions with format_style="json" (containers.py).
 *
 *     VM 101 start initiated successfully        🚀 VM 101 start initiated successfully (≤ v0.3)
 *     Task ID: UPID:pve:…                        Task ID: UPID:pve:…
 *     Job ID: 6f0c…  (or "n/a" without a job store; absent in the oldest builds)
 *
 *     VM 101 is already running / VM 101 is already stopped          (no task was started)
 *     Cannot reset VM 101: VM is currently stopped\nUse start_vm to start it first
 */
export type VmActionName = 'start' | 'stop' | 'shutdown' | 'reset';

export type VmActionAnswer =
  | { kind: 'started'; action: VmActionName; vmid: number; upid: string; jobId?: string }
  | { kind: 'already'; state: 'running' | 'stopped'; vmid: number; text: string }
  | { kind: 'not_running'; vmid: number; text: string };

const STARTED: [RegExp, VmActionName][] = [
  [/^VM (\d+) start initiated successfully$/, 'start'],
  [/^VM (\d+) stop initiated successfully$/, 'stop'],
  [/^VM (\d+) graceful shutdown initiated$/, 'shutdown'],
  [/^VM (\d+) reset initiated successfully$/, 'reset'],
];

const UPID = /^UPID:[A-Za-z0-9][A-Za-z0-9.-]*:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:[0-9A-Fa-f]{8}:[^:\s]+:[^:\s]*:[^:\s]+:$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseVmAction(tool: string, text: string): VmActionAnswer {
  const lines = normalise(text).filter((l) => l.trim() !== '');
  const first = stripMarker((lines[0] ?? '').trim());
  const already = /^VM (\d+) is already (running|stopped)$/.exec(first);
  if (already) return { kind: 'already', state: already[2] as 'running' | 'stopped', vmid: Number(already[1]), text: first };
  const cannot = /^Cannot reset VM (\d+): VM is currently stopped$/.exec(first);
  if (cannot) return { kind: 'not_running', vmid: Number(cannot[1]), text: lines.map((l) => stripMarker(l.trim())).join('\n') };
  for (const [re, action] of STARTED) {
    const m = re.exec(first);
    if (!m) continue;
    const task = lines.find((l) => /^\s*Task ID:/.test(l));
    const upid = task?.replace(/^\s*Task ID:\s*/, '').trim() ?? '';
    if (!UPID.test(upid)) {
      const at = task ? lines.indexOf(task) + 1 : 0;
      throw new ParseError(tool, at, task ?? first, 'expected "Task ID: UPID:…" after the action line');
    }
    const jobLine = lines.find((l) => /^\s*Job ID:/.test(l));
    const job = jobLine?.replace(/^\s*Job ID:\s*/, '').trim();
    if (job !== undefined && job !== 'n/a' && !UUID.test(job)) throw new ParseError(tool, lines.indexOf(jobLine!) + 1, jobLine!, 'expected "Job ID: <uuid>" or "Job ID: n/a"');
    return { kind: 'started', action, vmid: Number(m[1]), upid, ...(job && job !== 'n/a' ? { jobId: job } : {}) };
  }
  throw new ParseError(tool, 1, lines[0] ?? '', 'not an answer this adapter knows (expected "VM <id> … initiated" or "VM <id> is already …")');
}

const actionRow = z
  .object({
    ok: z.boolean(),
    node: z.string(),
    vmid: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]),
    name: z.string().nullish(),
    message: z.unknown().optional(),
    task_id: z.string().nullish(),
    job_id: z.string().nullish(),
    error: z.string().nullish(),
  })
  .passthrough();

export type ContainerActionRow = z.infer<typeof actionRow>;

/** start_container / stop_container / restart_container with format_style="json": one row per container. */
export function parseContainerAction(tool: string, text: string): ContainerActionRow[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ParseError(tool, 1, normalise(text)[0] ?? '', `expected JSON rows (format_style="json"): ${(err as Error).message}`);
  }
  const rows = z.array(actionRow).safeParse(data);
  if (!rows.success) {
    const issue = rows.error.issues[0]!;
    throw new ParseError(tool, 0, text.slice(0, 120), `row ${issue.path.join('.')}: ${issue.message}`);
  }
  return rows.data;
}
