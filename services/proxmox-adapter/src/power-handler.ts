import type { CommandContext, CommandHandler, CommandOutcome } from '@molten/bus';
import { commandError, type Command, type Guest, type PowerActionName } from '@molten/contracts';
import { sleep } from '@molten/kit';
import { TARGET_STATUS, type ClusterDriver, type GuestRef } from './driver.js';
import { describeOp, guestOpOf, reconcileOp, stateProblem } from './guest-commands.js';
import { hasGuestPage } from './guest-driver.js';
import { UpstreamError } from './upstream-error.js';

/** The longest a task's first status read waits for its task id's record write (see execute). */
const FIRST_READ_AFTER_MS = 2;

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
 * One guest action that is one upstream task: the call that starts it, how to find its task
 * again, and how to tell from the guest's state whether it happened.
 */
interface GuestTask {
  ref: GuestRef;
  /** The command's action token, e.g. "vm-stop", "snapshot-create". */
  action: string;
  /** "stop of VM 101 on pve1", "snapshot 'x' of VM 101 on pve1". */
  what: string;
  start(): Promise<string>;
  find(sinceMs: number): Promise<string | undefined>;
  /** With no task found: did it visibly happen (true), not (false), or can state not tell (undefined)? */
  happened(guest: Guest | undefined): Promise<boolean | undefined>;
  /** Power actions: the state aimed for, which an HA-managed guest reaches after the HA manager acts. */
  target?: 'running' | 'stopped';
  reboot?: boolean;
  extra?: Record<string, unknown>;
}

/**
 * Runs the guest actions that are one Proxmox task each: power actions (start, stop, shutdown,
 * reboot), pause/hibernate/resume and snapshots (create, rollback, delete), on qemu VMs and lxc
 * containers: one POST (DELETE for a snapshot), its task id recorded, the task followed to its
 * end, the guest re-read and published before the acknowledgement. Never re-sends: a lost answer
 * is reconciled from the node's task list and the guest's state.
 */
export class PowerHandler implements CommandHandler {
  constructor(private readonly o: PowerHandlerOptions) {}

  /**
   * A power action is planned from memory (where the guest is: the last poll), so it is accepted
   * by the write that marks its POST. Snapshots and pause/resume read the guest from Proxmox
   * first (their state rules): they are accepted before that read.
   */
  acceptsWithCall(command: Command): boolean {
    return command.payload?.$case === 'power';
  }

  async execute(ctx: CommandContext): Promise<CommandOutcome> {
    const task = await this.#plan(ctx, true);
    if ('status' in task) return task;
    // A capability the driver cannot offer at all is refused here; one marked for a missing
    // privilege is still tried: the token may have been granted it since.
    const cap = this.o.driver.capabilities().find((c) => c.action === task.action);
    if (cap && !cap.available && !/lacks/.test(cap.reason)) {
      return fail(new UpstreamError({ code: 'unsupported', message: `${task.action} is not available: ${cap.reason}`, privilege: cap.privilege }));
    }
    await ctx.beforeUpstreamCall();
    let taskId: string;
    try {
      taskId = await task.start();
      ctx.mark?.('adapter.posted');
    } catch (err) {
      const e = asUpstreamError(err);
      if (e.outcomeUnknown) {
        return {
          status: 'uncertain',
          message: `asked ${this.#upstream()} for the ${task.what} but got no answer (${e.message}); reconciling from the cluster`,
          error: e.toCommandError(),
        };
      }
      return fail(e);
    }
    // The task id is recorded while the task is followed; nothing is published (the guest's
    // state, the outcome) before the record has it. The first status read waits for that write
    // or FIRST_READ_AFTER_MS, whichever comes first: Proxmox answers as it forks the task's
    // worker, and a read in the same millisecond finds even a task with nothing to do running.
    const running = ctx.running(taskId, `${task.what} running as ${taskId}`);
    running.catch(() => {}); // awaited in #follow; a rejection there ends the delivery as before
    await Promise.race([running.catch(() => {}), sleep(FIRST_READ_AFTER_MS)]);
    return this.#follow(ctx, task, taskId, running);
  }

  async resume(ctx: CommandContext): Promise<CommandOutcome> {
    const task = await this.#plan(ctx, false);
    if ('status' in task) return task;
    if (ctx.record.upstreamTaskId) return this.#follow(ctx, task, ctx.record.upstreamTaskId);

    // The call was made (or about to be) but no task id was recorded: find out what happened.
    let taskId: string | undefined;
    try {
      taskId = await task.find(ctx.record.upstreamCallAtMs);
    } catch (err) {
      const e = asUpstreamError(err);
      return { status: 'uncertain', message: `cannot read the task list yet (${e.message}); will look again`, error: e.toCommandError() };
    }
    if (taskId) {
      await ctx.running(taskId, `found the task ${taskId} of the ${task.what} on the node`);
      return this.#follow(ctx, task, taskId);
    }
    const guest = await this.o.driver.readGuest(task.ref).catch(() => undefined);
    const happened = await task.happened(guest).catch(() => undefined);
    if (happened) {
      if (guest) await this.o.publishGuest(guest).catch(() => {});
      return { status: 'succeeded', message: `${task.what}: done (reconciled from the guest's state; no task was found)`, resultJson: result(guest, task) };
    }
    const grace = this.o.taskListGraceMs ?? 30_000;
    if (Date.now() - ctx.record.upstreamCallAtMs < grace) {
      return { status: 'uncertain', message: `no task found yet for the ${task.what}; will look again` };
    }
    return fail(
      new UpstreamError({
        code: 'upstream',
        message: `the ${task.what} never reached Proxmox: no task was started and the guest is ${guest?.status ?? 'unknown'}`,
      }),
    );
  }

  /**
   * Follows the task to its end, re-reads the guest and publishes its state. `recorded` is the
   * task id's record write when it runs beside the following (a fresh call): it lands before
   * anything is published. The guest's new state goes out beside the outcome's record write,
   * which waits for it before the acknowledgement (`published`).
   */
  async #follow(ctx: CommandContext, task: GuestTask, taskId: string, recorded: Promise<void> = Promise.resolve()): Promise<CommandOutcome> {
    const { ref } = task;
    const outcome = await this.o.driver.followTask(taskId, { deadlineMs: ctx.command.deadlineMs, signal: ctx.signal });
    ctx.mark?.('adapter.task-end-seen');
    if (ctx.signal.aborted) {
      await recorded.catch(() => {});
      return { status: 'uncertain', message: 'handed over to another replica', upstreamTaskId: taskId };
    }
    if (outcome.result === 'ok') {
      const handedOver = outcome.handedOver && task.target !== undefined;
      const guest = handedOver
        ? await this.#awaitState(ctx, task)
        : await this.o.driver.readGuest(ref).catch((err) => {
            ctx.log.warn({ err }, 'guest not re-read after its task');
            return undefined;
          });
      ctx.mark?.('adapter.guest-reread');
      await recorded;
      if (handedOver && guest?.status !== task.target) {
        if (guest) await this.o.publishGuest(guest).catch(() => {});
        return {
          status: 'timed_out',
          message: `Proxmox HA took the ${task.what} (task ${taskId}) but the guest was still ${guest?.status ?? 'unknown'} at the deadline; check ha-manager status`,
          error: commandError('deadline', 'the HA manager did not bring the guest to its new state in time', { remedy: 'ha-manager status' }),
          upstreamTaskId: taskId,
        };
      }
      // The task's outcome is known: a state write the bus cannot take right now (a NATS leader
      // election) must not send the command round again; the next poll publishes the state. It
      // runs beside the outcome's record write, and the acknowledgement waits for it.
      const published = guest
        ? this.o.publishGuest(guest).then(
            () => ctx.mark?.('adapter.state-published'),
            (err: unknown) => ctx.log.warn({ err }, "the guest's new state was not published; the next poll publishes it"),
          )
        : undefined;
      const warn = outcome.exitstatus !== 'OK' ? ` (${outcome.exitstatus})` : '';
      return { status: 'succeeded', message: `${task.what}: done${warn}`, resultJson: result(guest, task, taskId, outcome.exitstatus), upstreamTaskId: taskId, published };
    }
    if (outcome.result === 'failed') {
      // The task ended in error: the state may still have changed (a partial start, a rollback
      // that stopped the guest), so re-read.
      const guest = await this.o.driver.readGuest(ref).catch(() => undefined);
      await recorded;
      if (guest) await this.o.publishGuest(guest).catch(() => {});
      return { ...fail(this.o.driver.taskError(outcome.exitstatus)), upstreamTaskId: taskId };
    }
    await recorded;
    if (outcome.result === 'deadline') {
      return {
        status: 'timed_out',
        message: `the ${task.what} was still running at the command's deadline (task ${taskId}); it may still finish`,
        error: commandError('deadline', outcome.exitstatus),
        upstreamTaskId: taskId,
      };
    }
    return {
      status: 'uncertain',
      message: `lost contact while following ${taskId} (${outcome.exitstatus}); reconciling`,
      upstreamTaskId: taskId,
      error: commandError('connection_lost', outcome.exitstatus),
    };
  }

  /** Waits for an HA-managed guest to reach the action's state (the HA manager acts later). */
  async #awaitState(ctx: CommandContext, task: GuestTask): Promise<Guest | undefined> {
    let guest: Guest | undefined;
    for (let delay = 250; !ctx.signal.aborted; delay = Math.min(delay * 1.5, 2_000)) {
      guest = await this.o.driver.readGuest(task.ref).catch(() => guest);
      if (guest?.status === task.target && !task.reboot) return guest;
      if (task.reboot || Date.now() + delay > ctx.command.deadlineMs) return guest;
      await sleep(delay, ctx.signal);
    }
    return guest;
  }

  /** The command as a task to run; a failed outcome when it cannot be run. */
  async #plan(ctx: CommandContext, fresh: boolean): Promise<GuestTask | CommandOutcome> {
    const p = ctx.command.payload;
    if (p?.$case === 'power') {
      const action = p.value.action as PowerActionName;
      const ref = await this.#locate(p.value.vmid, p.value.node, p.value.type);
      if (!ref) return notFound(ctx, p.value.vmid);
      const d = this.o.driver;
      return {
        ref,
        action: `vm-${action}`,
        what: `${action} of ${describe(ref)}`,
        start: () => d.startPower(ref, action),
        find: (since) => d.findTask(ref, action, since),
        happened: async (g) => (action === 'reboot' ? undefined : g?.status === TARGET_STATUS[action]),
        target: TARGET_STATUS[action],
        reboot: action === 'reboot',
      };
    }
    if (p?.$case === 'snapshot' || p?.$case === 'suspendResume') {
      const d = this.o.driver;
      if (!hasGuestPage(d)) {
        return fail(new UpstreamError({ code: 'unsupported', message: `the ${d.kind} driver cannot run ${ctx.command.action}`, remedy: 'Give Molten a Proxmox VE API token (PVE_URL and PVE_TOKEN) for this cluster.' }));
      }
      const planned = guestOpOf(ctx.command);
      if (planned instanceof UpstreamError) return fail(planned);
      const ref = await this.#locate(planned.vmid, planned.node, planned.type);
      if (!ref) return notFound(ctx, planned.vmid);
      const { op } = planned;
      if (fresh) {
        // The state rules, against the guest as it is now (not the last poll).
        const guest = await d.readGuest(ref).catch(() => undefined);
        const problem = stateProblem(ref, op, guest);
        if (problem) return fail(problem);
      }
      return {
        ref,
        action: planned.token,
        what: describeOp(ref, op),
        start: () => d.startGuestOp(ref, op),
        find: (since) => d.findGuestOpTask(ref, op, since),
        happened: (g) => reconcileOp(d, ref, op, g),
        extra: 'name' in op ? { snapshot: op.name } : undefined,
      };
    }
    return fail(new UpstreamError({ code: 'invalid', message: `the proxmox adapter does not handle ${p?.$case ?? 'empty'} commands` }));
  }

  async #locate(vmid: number, node: string, type: string): Promise<GuestRef | undefined> {
    const located = await this.o.locate(vmid);
    const hinted: GuestRef | undefined = node && (type === 'qemu' || type === 'lxc') ? { vmid, node, type } : undefined;
    return located ?? hinted;
  }

  #upstream(): string {
    return this.o.driver.kind === 'proxmox-ve' ? 'Proxmox' : 'ProxmoxMCP-Plus';
  }
}

function describe(ref: GuestRef): string {
  return `${ref.type === 'lxc' ? 'CT' : 'VM'} ${ref.vmid} on ${ref.node}`;
}

function notFound(ctx: CommandContext, vmid: number): CommandOutcome {
  return fail(new UpstreamError({ code: 'not_found', message: `guest ${vmid} is not in cluster ${ctx.command.scope}` }));
}

function result(guest: Guest | undefined, task: GuestTask, upid?: string, exitstatus?: string): string {
  return JSON.stringify({
    vmid: guest?.vmid ?? task.ref.vmid,
    node: guest?.node ?? task.ref.node,
    status: guest?.status,
    qmpstatus: guest?.qmpstatus,
    lock: guest?.lock,
    ...task.extra,
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
