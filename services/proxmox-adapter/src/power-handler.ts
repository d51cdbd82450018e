import type { CommandContext, CommandHandler, CommandOutcome } from '@molten/bus';
import type { Guest } from '@molten/contracts';
import { sleep } from '@molten/kit';
import { TARGET_STATUS, type ClusterDriver, type GuestRef, type PowerAction } from './driver.js';
import { UpstreamError } from './upstream-error.js';

export interface PowerHandlerOptions {
  driver: ClusterDriver;
  /** Where a guest is now (last poll or snapshot); undefined when unknown. */
  locate(vmid: number): Promise<GuestRef | undefined>;
  /** Publishes a guest's state read right after its task ended. */
  publishGuest(g: Guest): Promise<void>;
  /** How long after the call a missing task still counts as "maybe not listed yet" (default 30 s). */
  taskListGraceMs?: number;
}

/**
 * Runs power actions (start, stop, shutdown, reboot) on qemu VMs and lxc containers: one POST,
 * its task id recorded, the task followed to its end, the guest re-read and published at once.
 * Never re-sends: a lost answer is reconciled from the node's task list and the guest's state.
 */
export class PowerHandler implements CommandHandler {
  constructor(private readonly o: PowerHandlerOptions) {}

  async execute(ctx: CommandContext): Promise<CommandOutcome> {
    const target = await this.#target(ctx);
    if ('status' in target) return target;
    const { ref, action } = target;
    const cap = this.o.driver.capabilities().find((c) => c.action === `vm-${action}`);
    if (cap && !cap.available) {
      return fail(new UpstreamError({ code: cap.privilege && /lacks/.test(cap.reason) ? 'forbidden' : 'unsupported', message: `${action} is not available: ${cap.reason}`, privilege: cap.privilege }));
    }
    await ctx.beforeUpstreamCall();
    let taskId: string;
    try {
      taskId = await this.o.driver.startPower(ref, action);
    } catch (err) {
      const e = asUpstreamError(err);
      if (e.outcomeUnknown) {
        return {
          status: 'uncertain',
          message: `asked ${this.o.driver.kind === 'proxmox-ve' ? 'Proxmox' : 'ProxmoxMCP-Plus'} to ${action} ${describe(ref)} but got no answer (${e.message}); reconciling from the cluster`,
          error: e.toCommandError(),
        };
      }
      return fail(e);
    }
    await ctx.running(taskId, `${action} of ${describe(ref)} running as ${taskId}`);
    return this.#follow(ctx, ref, action, taskId);
  }

  async resume(ctx: CommandContext): Promise<CommandOutcome> {
    const target = await this.#target(ctx);
    if ('status' in target) return target;
    const { ref, action } = target;
    if (ctx.record.upstreamTaskId) return this.#follow(ctx, ref, action, ctx.record.upstreamTaskId);

    // The call was made (or about to be) but no task id was recorded: find out what happened.
    let taskId: string | undefined;
    try {
      taskId = await this.o.driver.findTask(ref, action, ctx.record.upstreamCallAtMs);
    } catch (err) {
      const e = asUpstreamError(err);
      return { status: 'uncertain', message: `cannot read the task list yet (${e.message}); will look again`, error: e.toCommandError() };
    }
    if (taskId) {
      await ctx.running(taskId, `found the ${action} task ${taskId} on the node`);
      return this.#follow(ctx, ref, action, taskId);
    }
    const guest = await this.o.driver.readGuest(ref).catch(() => undefined);
    if (guest && guest.status === TARGET_STATUS[action] && action !== 'reboot') {
      await this.o.publishGuest(guest).catch(() => {});
      return { status: 'succeeded', message: `${describe(ref)} is ${guest.status} (reconciled from its state; no task was found)`, resultJson: result(guest) };
    }
    const grace = this.o.taskListGraceMs ?? 30_000;
    if (Date.now() - ctx.record.upstreamCallAtMs < grace) {
      return { status: 'uncertain', message: `no ${action} task found yet for ${describe(ref)}; will look again` };
    }
    return fail(
      new UpstreamError({
        code: 'upstream',
        message: `the ${action} request for ${describe(ref)} never reached Proxmox: no task was started and the guest is ${guest?.status ?? 'unknown'}`,
      }),
    );
  }

  async #follow(ctx: CommandContext, ref: GuestRef, action: PowerAction, taskId: string): Promise<CommandOutcome> {
    const outcome = await this.o.driver.followTask(taskId, { deadlineMs: ctx.command.deadlineMs, signal: ctx.signal });
    if (ctx.signal.aborted) return { status: 'uncertain', message: 'handed over to another replica', upstreamTaskId: taskId };
    if (outcome.result === 'ok') {
      const guest = outcome.handedOver
        ? await this.#awaitState(ctx, ref, action)
        : await this.o.driver.readGuest(ref).catch((err) => {
            ctx.log.warn({ err }, 'guest not re-read after its task');
            return undefined;
          });
      if (outcome.handedOver && guest?.status !== TARGET_STATUS[action]) {
        if (guest) await this.o.publishGuest(guest).catch(() => {});
        return {
          status: 'timed_out',
          message: `Proxmox HA took the ${action} of ${describe(ref)} (task ${taskId}) but the guest was still ${guest?.status ?? 'unknown'} at the deadline; check ha-manager status`,
          error: { code: 'deadline', message: 'the HA manager did not bring the guest to its new state in time', upstreamStatus: '', remedy: 'ha-manager status', privilege: '', fields: {} },
          upstreamTaskId: taskId,
        };
      }
      if (guest) await this.o.publishGuest(guest);
      const warn = outcome.exitstatus !== 'OK' ? ` (${outcome.exitstatus})` : '';
      return { status: 'succeeded', message: `${action} of ${describe(ref)} done${warn}`, resultJson: result(guest, taskId, outcome.exitstatus), upstreamTaskId: taskId };
    }
    if (outcome.result === 'failed') {
      // The task ended in error: the state may still have changed (a partial start), so re-read.
      const guest = await this.o.driver.readGuest(ref).catch(() => undefined);
      if (guest) await this.o.publishGuest(guest).catch(() => {});
      return { ...fail(this.o.driver.taskError(outcome.exitstatus)), upstreamTaskId: taskId };
    }
    if (outcome.result === 'deadline') {
      return {
        status: 'timed_out',
        message: `${action} of ${describe(ref)} was still running at the command's deadline (task ${taskId}); it may still finish`,
        error: { code: 'deadline', message: outcome.exitstatus, upstreamStatus: '', remedy: '', privilege: '', fields: {} },
        upstreamTaskId: taskId,
      };
    }
    return {
      status: 'uncertain',
      message: `lost contact while following ${taskId} (${outcome.exitstatus}); reconciling`,
      upstreamTaskId: taskId,
      error: { code: 'connection_lost', message: outcome.exitstatus, upstreamStatus: '', remedy: '', privilege: '', fields: {} },
    };
  }

  /** Waits for an HA-managed guest to reach the action's state (the HA manager acts later). */
  async #awaitState(ctx: CommandContext, ref: GuestRef, action: PowerAction): Promise<Guest | undefined> {
    let guest: Guest | undefined;
    for (let delay = 250; !ctx.signal.aborted; delay = Math.min(delay * 1.5, 2_000)) {
      guest = await this.o.driver.readGuest(ref).catch(() => guest);
      if (guest?.status === TARGET_STATUS[action] && action !== 'reboot') return guest;
      if (action === 'reboot' || Date.now() + delay > ctx.command.deadlineMs) return guest;
      await sleep(delay, ctx.signal);
    }
    return guest;
  }

  async #target(ctx: CommandContext): Promise<{ ref: GuestRef; action: PowerAction } | CommandOutcome> {
    const p = ctx.command.payload;
    if (p?.$case !== 'power') {
      return fail(new UpstreamError({ code: 'invalid', message: `the proxmox adapter does not handle ${p?.$case ?? 'empty'} commands` }));
    }
    const { vmid } = p.value;
    const action = p.value.action as PowerAction;
    const located = await this.o.locate(vmid);
    const type = p.value.type;
    const hinted: GuestRef | undefined = p.value.node && (type === 'qemu' || type === 'lxc') ? { vmid, node: p.value.node, type } : undefined;
    const ref = located ?? hinted;
    if (!ref) return fail(new UpstreamError({ code: 'not_found', message: `guest ${vmid} is not in cluster ${ctx.command.scope}` }));
    return { ref, action };
  }
}

function describe(ref: GuestRef): string {
  return `${ref.type === 'lxc' ? 'CT' : 'VM'} ${ref.vmid} on ${ref.node}`;
}

function result(guest: Guest | undefined, upid?: string, exitstatus?: string): string {
  return JSON.stringify({
    vmid: guest?.vmid,
    node: guest?.node,
    status: guest?.status,
    qmpstatus: guest?.qmpstatus,
    lock: guest?.lock,
    upid,
    exitstatus,
  });
}

function fail(e: UpstreamError): CommandOutcome {
  return { status: 'failed', message: e.message, error: e.toCommandError() };
}

function asUpstreamError(err: unknown): UpstreamError {
  return err instanceof UpstreamError ? err : new UpstreamError({ code: 'upstream', message: String((err as Error)?.message ?? err) });
}
