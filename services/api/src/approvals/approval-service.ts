import { BUCKETS, CommandStatus, commandStatusName, type ApprovalRecord, type Command, type CommandRecord, type CommandTransition } from '@molten/contracts';
import type * as Rest from '@molten/contracts/rest';
import { MalformedMessageError, decodeCommandRecord, newCommandId, publishCommand, readSnapshot, type Bus, type CommandStore, type SubmitInput } from '@molten/bus';
import type { Logger } from '@molten/kit';
import { commandJson } from '../state/json.js';
import { argumentsDigest, canonicalJson } from './digest.js';
import { mayCarryApproval } from './record-scan.js';

/** Why a decision was refused: no such approval (404), or it was decided already (409). */
export class ApprovalError extends Error {
  override name = 'ApprovalError';
  constructor(
    readonly kind: 'not_found' | 'decided',
    message: string,
    /** The approval's status now, for a late decision. */
    readonly current?: Rest.ApprovalStatus,
  ) {
    super(message);
  }
}

export interface ApprovalRequest {
  /** The command as it would be submitted; it is stored, not published. */
  input: SubmitInput;
  safety: Rest.SafetyClass;
  summary: string;
  /** The call's arguments, as the agent gave them: the decision is bound to their digest. */
  arguments: unknown;
  client?: string;
}

export interface ApprovalServiceOptions {
  bus: Bus;
  store: CommandStore;
  /**
   * Follows every command transition the api hears (the events stream); returns how to stop.
   * Approvals asked for or decided on another replica reach this one that way.
   */
  transitions: (listener: (t: CommandTransition) => void) => () => void;
  log: Logger;
  /** How long a call waits for a decision (MOLTEN_APPROVAL_TTL_MS). */
  ttlMs: number;
  /** Every change of an approval (the SSE `approval` event). */
  onChange?: (approval: Rest.Approval, record: CommandRecord) => void;
  /** A new approval was put up here (once per approval, on the replica that stored it). */
  onRequest?: (approval: Rest.Approval) => void;
  now?: () => number;
}

/** Decided approvals kept for the list and the snapshot; pending ones are always kept. */
const KEEP_DECIDED = 200;

/**
 * Approvals: an agent's call that waits for an operator is its command record in
 * awaiting_approval (in the commands KV bucket, so it outlives an api restart). approve publishes
 * the command (with fresh deadlines) and the normal lifecycle goes on; deny and expiry end it
 * unpublished. Each decision is a compare-and-set on the record, so only one wins.
 */
export class ApprovalService {
  readonly #o: ApprovalServiceOptions;
  readonly #known = new Map<string, CommandRecord>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #now: () => number;
  #unfollow: (() => void) | undefined;
  /** Records being read for #transitioned(), each with whether another read was asked for meanwhile. */
  readonly #reading = new Map<string, boolean>();

  constructor(o: ApprovalServiceOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /**
   * Follows the command transitions, then reads the approvals the store holds and re-arms the
   * pending ones' expiry (an overdue one expires now): an approval asked for or decided on
   * another api replica shows here too, and nothing falls between the read and the first
   * transition followed.
   */
  async start(): Promise<void> {
    this.#unfollow ??= this.#o.transitions((t) => this.#transitioned(t));
    // Every record in one pass (the bucket holds a week of commands), decoding only those that
    // may carry an approval.
    for (const e of await readSnapshot(this.#o.bus.js, BUCKETS.commands, 'cmd.>')) {
      if (!mayCarryApproval(e.value)) continue;
      let record: CommandRecord;
      try {
        record = decodeCommandRecord(e.key, e.value);
      } catch (err) {
        if (!(err instanceof MalformedMessageError)) throw err;
        this.#o.log.warn({ key: e.key, reason: err.reason }, 'skipping an unreadable command record');
        continue;
      }
      if (!record.approval || !record.command) continue;
      this.#remember(record);
      if (record.status === CommandStatus.COMMAND_STATUS_AWAITING_APPROVAL) this.#arm(record);
    }
  }

  /**
   * A command moved (a transition on the events stream, from any replica or adapter). Only two
   * kinds can change an approval: a command that starts waiting, and a decision on one known to
   * be waiting; their record is read and observed. Every other command's transitions (nearly all
   * of them) cost nothing here: no read, no decode.
   */
  #transitioned(t: CommandTransition): void {
    const known = this.#known.get(t.commandId);
    const waiting = known?.status === CommandStatus.COMMAND_STATUS_AWAITING_APPROVAL;
    if (t.status !== CommandStatus.COMMAND_STATUS_AWAITING_APPROVAL && !waiting) return;
    this.#reread(t.commandId);
  }

  /** Reads a record and observes it; a read asked for while one is under way is made once more after it. */
  #reread(id: string): void {
    if (this.#reading.has(id)) {
      this.#reading.set(id, true);
      return;
    }
    this.#reading.set(id, false);
    void this.#o.store
      .get(id)
      .then((stored) => stored && this.observe(stored.record))
      .catch((err: unknown) => this.#o.log.warn({ commandId: id, err }, 'approvals: could not read a command record; its next transition reads it again'))
      .finally(() => {
        const again = this.#reading.get(id);
        this.#reading.delete(id);
        if (again) this.#reread(id);
      });
  }

  stop(): void {
    this.#unfollow?.();
    this.#unfollow = undefined;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  /** Stores the command as awaiting_approval; nothing is published until an operator approves. */
  async request(req: ApprovalRequest): Promise<CommandRecord> {
    const now = this.#now();
    const id = newCommandId();
    const { input } = req;
    const command: Command = {
      id,
      correlationId: input.correlationId || id,
      actor: input.actor,
      domain: input.domain,
      scope: input.scope,
      action: input.action,
      createdAtMs: now,
      // Set afresh when approved; until then only the approval's expiry counts.
      acceptByMs: now + input.acceptTimeoutMs,
      deadlineMs: now + input.timeoutMs,
      idempotencyKey: input.idempotencyKey ?? '',
      reason: input.reason ?? '',
      payload: input.payload,
    };
    await this.#o.store.create(command, now);
    const approval: ApprovalRecord = {
      safety: req.safety,
      client: req.client ?? '',
      summary: req.summary,
      argumentsJson: canonicalJson(req.arguments ?? null),
      argumentsDigest: argumentsDigest(req.arguments ?? null),
      expiresAtMs: now + this.#o.ttlMs,
      decidedBy: '',
      decidedAtMs: 0,
      reason: '',
    };
    const record = await this.#o.store.transition(id, CommandStatus.COMMAND_STATUS_AWAITING_APPROVAL, { approval, message: `awaiting approval: ${req.summary}` }, now);
    if (!record) throw new Error(`command ${id} could not be put up for approval`);
    this.#changed(record);
    this.#arm(record);
    this.#o.onRequest?.(approvalJson(record));
    return record;
  }

  /** Publishes the command; the adapter runs it. */
  async approve(id: string, by: string, reason?: string): Promise<Rest.Approval> {
    const { record, approval } = await this.#pending(id);
    if (argumentsDigest(JSON.parse(approval.argumentsJson)) !== approval.argumentsDigest) {
      throw new Error(`approval ${id}: the stored arguments do not match their digest`);
    }
    const now = this.#now();
    const c = record.command!;
    const command: Command = {
      ...c,
      acceptByMs: now + (c.acceptByMs - c.createdAtMs),
      deadlineMs: now + (c.deadlineMs - c.createdAtMs),
    };
    const decided = await this.#decide(id, CommandStatus.COMMAND_STATUS_ACCEPTED, { ...approval, decidedBy: by, decidedAtMs: now, reason: reason ?? '' }, `approved by ${by}${reason ? `: ${reason}` : ''}`, command);
    await publishCommand(this.#o.bus, command);
    this.#o.log.info({ commandId: id, by, argumentsDigest: approval.argumentsDigest }, 'approval granted; command queued');
    return approvalJson(decided);
  }

  async deny(id: string, by: string, reason?: string): Promise<Rest.Approval> {
    const { approval } = await this.#pending(id);
    const now = this.#now();
    const decided = await this.#decide(id, CommandStatus.COMMAND_STATUS_DENIED, { ...approval, decidedBy: by, decidedAtMs: now, reason: reason ?? '' }, `denied by ${by}${reason ? `: ${reason}` : ''}`);
    this.#o.log.info({ commandId: id, by }, 'approval denied');
    return approvalJson(decided);
  }

  /** Pending and recently decided approvals, newest first; `status` narrows them. */
  list(status?: Rest.ApprovalStatus): Rest.Approval[] {
    const out = [...this.#known.values()].map(approvalJson).filter((a) => !status || a.status === status);
    return out.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  async get(id: string): Promise<Rest.Approval | undefined> {
    const known = this.#known.get(id);
    if (known) return approvalJson(known);
    const stored = await this.#o.store.get(id).catch(() => undefined);
    return stored?.record.approval ? approvalJson(stored.record) : undefined;
  }

  /** Follows a record's change made elsewhere (another api replica, the adapter after approval). */
  observe(record: CommandRecord): void {
    if (!record.approval || !record.command) return;
    const mine = this.#known.get(record.command.id);
    if (mine && mine.updatedAtMs > record.updatedAtMs) return;
    const was = mine && approvalJson(mine).status;
    this.#remember(record);
    if (record.status !== CommandStatus.COMMAND_STATUS_AWAITING_APPROVAL) this.#disarm(record.command.id);
    if (was !== approvalJson(record).status) this.#o.onChange?.(approvalJson(record), record);
  }

  async #pending(id: string): Promise<{ record: CommandRecord; approval: ApprovalRecord }> {
    const stored = await this.#o.store.get(id).catch(() => undefined);
    const record = stored?.record;
    if (!record?.approval) throw new ApprovalError('not_found', `no approval ${id}`);
    if (record.status !== CommandStatus.COMMAND_STATUS_AWAITING_APPROVAL) {
      const current = approvalJson(record).status;
      throw new ApprovalError('decided', `approval ${id} is ${current} already`, current);
    }
    return { record, approval: record.approval };
  }

  async #decide(id: string, to: CommandStatus, approval: ApprovalRecord, message: string, command?: Command): Promise<CommandRecord> {
    const record = await this.#o.store.transition(id, to, { approval, message, ...(command ? { command } : {}) }, approval.decidedAtMs || this.#now());
    if (!record) {
      // Someone else decided first (an operator, another replica, the expiry).
      const now = await this.#o.store.get(id).catch(() => undefined);
      const current = now ? approvalJson(now.record).status : 'expired';
      if (now) this.#remember(now.record);
      throw new ApprovalError('decided', `approval ${id} is ${current} already`, current);
    }
    this.#disarm(id);
    this.#changed(record);
    return record;
  }

  async #expire(id: string): Promise<void> {
    const known = this.#known.get(id);
    const approval = known?.approval;
    if (!approval) return;
    const record = await this.#o.store
      .transition(id, CommandStatus.COMMAND_STATUS_EXPIRED, { approval, message: `no decision within ${Math.round(this.#o.ttlMs / 1000)} s: expired` }, this.#now())
      .catch((err) => {
        this.#o.log.warn({ err, commandId: id }, 'approval expiry not recorded; retrying');
        this.#arm(known, 1000);
        return undefined;
      });
    if (record) {
      this.#timers.delete(id);
      this.#changed(record);
    } else {
      const now = await this.#o.store.get(id).catch(() => undefined);
      if (now) this.observe(now.record);
    }
  }

  #arm(record: CommandRecord, inMs?: number): void {
    const id = record.command!.id;
    this.#disarm(id);
    const wait = inMs ?? Math.max(0, (record.approval?.expiresAtMs ?? 0) - this.#now());
    // setTimeout holds at most ~24.8 days; a longer TTL re-arms when this one fires.
    const t = setTimeout(() => void this.#expire(id), Math.min(wait, 2 ** 31 - 1));
    t.unref?.();
    this.#timers.set(id, t);
  }

  #disarm(id: string): void {
    const t = this.#timers.get(id);
    if (t) clearTimeout(t);
    this.#timers.delete(id);
  }

  #changed(record: CommandRecord): void {
    this.#remember(record);
    this.#o.onChange?.(approvalJson(record), record);
  }

  #remember(record: CommandRecord): void {
    this.#known.set(record.command!.id, record);
    let decided = [...this.#known.values()].filter((r) => r.status !== CommandStatus.COMMAND_STATUS_AWAITING_APPROVAL);
    if (decided.length <= KEEP_DECIDED) return;
    decided = decided.sort((a, b) => a.updatedAtMs - b.updatedAtMs);
    for (const r of decided.slice(0, decided.length - KEEP_DECIDED)) this.#known.delete(r.command!.id);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** An approval's status from its command's: anything past awaiting_approval but denied/expired was approved. */
export function approvalStatus(status: CommandStatus): Rest.ApprovalStatus {
  const name = commandStatusName(status);
  if (name === 'awaiting_approval' || name === 'requested') return 'pending';
  if (name === 'denied' || name === 'expired') return name;
  return 'approved';
}

/** A command record that waits (or waited) for approval, as REST and SSE show it. */
export function approvalJson(r: CommandRecord): Rest.Approval {
  const a = r.approval!;
  const c = r.command!;
  let args: unknown = null;
  try {
    args = JSON.parse(a.argumentsJson);
  } catch {
    args = a.argumentsJson;
  }
  return {
    id: c.id,
    status: approvalStatus(r.status),
    safety: a.safety === 'change' ? 'change' : 'destructive',
    requestedBy: { actor: c.actor?.name ?? 'unknown', ...(a.client ? { client: a.client } : {}), ...(c.reason ? { reason: c.reason } : {}) },
    summary: a.summary,
    target: commandJson(r).target!,
    arguments: args,
    argumentsDigest: a.argumentsDigest,
    requestedAt: iso(c.createdAtMs),
    expiresAt: iso(a.expiresAtMs),
    ...(a.decidedBy ? { decidedBy: a.decidedBy } : {}),
    ...(a.decidedAtMs ? { decidedAt: iso(a.decidedAtMs) } : {}),
    ...(a.reason ? { reason: a.reason } : {}),
  };
}
