import { z } from 'zod';
import { COMMAND_STATUS_NAMES, POWER_ACTIONS, SUSPEND_RESUME_ACTIONS, type PowerActionName, type SuspendResumeActionName } from '@molten/contracts';
import { notFound } from '../errors.js';
import type { Commands, Reads, SubmitCaller, Submitted } from '../ports.js';
import { commandJson, guestJson, metaJson } from '../state/json.js';
import { clusterQuery, commandIdParam, reasonField } from '../validate.js';
import { refusalAnswer, textAnswer, type ToolAnswer } from './call-result.js';

/** MCP's tool hints (ToolAnnotations). */
export interface ToolHints {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** One of Molten's own tools: its schema, hints, and what it does (reads answer at once; acts return the submitted command). */
export interface MoltenTool<S extends z.ZodObject = z.ZodObject> {
  title: string;
  description: string;
  input: S;
  annotations: ToolHints;
  run(args: z.infer<S>, caller: SubmitCaller): Promise<ToolAnswer | Submitted> | ToolAnswer;
}

/** A guest id as MCP clients send it: a JSON number (the schema has to be plain JSON Schema, no transforms). */
const vmidParam = z.number().int('vmid must be an integer').min(100, 'vmid must be from 100 to 999999999').max(999_999_999, 'vmid must be from 100 to 999999999');

const READ: ToolHints = { readOnlyHint: true, openWorldHint: false };
const STATUS_NAMES = Object.values(COMMAND_STATUS_NAMES).filter((s) => s !== 'unspecified') as [string, ...string[]];

const json = (data: unknown, structured: Record<string, unknown>) => textAnswer(JSON.stringify(data, null, 1), structured);

/** Runs a read; a refusal (404 of an unknown guest or cluster) becomes a tool error. */
function reading(fn: () => ToolAnswer): ToolAnswer {
  try {
    return fn();
  } catch (err) {
    return refusalAnswer(err);
  }
}

const tool = <S extends z.ZodObject>(t: MoltenTool<S>): MoltenTool => t as unknown as MoltenTool;

/**
 * Molten's own tools on its MCP endpoint: reads of the guests and commands, and guest power
 * actions, which go through the Commands port like the dashboard's (an agent's stop waits for an
 * operator's approval there).
 */
export function moltenTools(reads: Reads, commands: Commands): Record<string, MoltenTool> {
  return {
    list_guests: tool({
      title: 'List guests',
      description: 'Lists the VMs and containers of a Proxmox cluster with their live status (filters: status, node, tag).',
      input: z.object({
        cluster: clusterQuery.describe('the cluster id; the default cluster when left out'),
        status: z.string().max(32).optional().describe('running, stopped, paused…'),
        node: z.string().max(64).optional(),
        tag: z.string().max(64).optional(),
      }),
      annotations: { title: 'List guests', ...READ },
      run: (a) =>
        reading(() => {
          const s = reads.guests(a.cluster, { status: a.status, node: a.node, tag: a.tag });
          const guests = s.data.map((g) => guestJson(g, s));
          return json(guests, { guests, meta: metaJson(s) });
        }),
    }),
    get_guest: tool({
      title: 'Get a guest',
      description: 'One VM or container by its id: status, node, resources, tags.',
      input: z.object({ vmid: vmidParam.describe('the guest id, e.g. 101'), cluster: clusterQuery }),
      annotations: { title: 'Get a guest', ...READ },
      run: (a) =>
        reading(() => {
          const s = reads.guest(a.vmid, a.cluster);
          const guest = guestJson(s.data, s);
          return json(guest, { guest, meta: metaJson(s) });
        }),
    }),
    guest_power: tool({
      title: 'Power action on a guest',
      description:
        "Starts, stops (hard), shuts down (ACPI) or reboots a VM or container; pauses (suspend) or resumes a VM. Anything but start and resume may lose the guest's unsaved work; every action waits for an operator's approval in Molten, and the call then returns the result.",
      input: z.object({
        vmid: vmidParam.describe('the guest id, e.g. 101'),
        action: z.enum([...POWER_ACTIONS, ...SUSPEND_RESUME_ACTIONS]).describe('start, stop (hard stop), shutdown (clean, ACPI), reboot, suspend (pause a VM) or resume'),
        cluster: clusterQuery,
        reason: reasonField.describe('why, shown to the operator who approves it'),
      }),
      annotations: { title: 'Power action on a guest', readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
      run: (a, caller) =>
        (SUSPEND_RESUME_ACTIONS as readonly string[]).includes(a.action)
          ? commands.suspendResume({ ...caller, reason: a.reason }, { cluster: a.cluster, vmid: a.vmid, action: a.action as SuspendResumeActionName })
          : commands.power({ ...caller, reason: a.reason }, { cluster: a.cluster, vmid: a.vmid, action: a.action as PowerActionName }),
    }),
    list_commands: tool({
      title: 'List commands',
      description: "Molten's recent commands (actions by people and agents), newest first.",
      input: z.object({
        limit: z.number().int().min(1).max(200).optional(),
        status: z.enum(STATUS_NAMES).optional(),
      }),
      annotations: { title: 'List commands', ...READ },
      run: (a) => {
        const list = reads.commands({ limit: a.limit ?? 20, status: a.status }).map(commandJson);
        return json(list, { commands: list });
      },
    }),
    get_command: tool({
      title: 'Get a command',
      description: 'One command by id: its status, each step, its result or error (and an approval decision).',
      input: z.object({ id: commandIdParam }),
      annotations: { title: 'Get a command', ...READ },
      run: async (a) => {
        const found = await reads.command(a.id);
        if (!found) return refusalAnswer(notFound(`no command ${a.id}`));
        const command = commandJson(found.record);
        return json(command, { command });
      },
    }),
  };
}
