import { CommandStatus, commandStatusName, isTerminal, type CommandProgress, type CommandRecord, type CommandTransition } from '@molten/contracts';

/** The guest a command acts on (power, suspend/resume, snapshot), if any. */
export function guestVmid(r: CommandRecord): number | undefined {
  const p = r.command!.payload;
  return p?.$case === 'power' || p?.$case === 'snapshot' || p?.$case === 'suspendResume' ? p.value.vmid : undefined;
}

/** How far along the lifecycle a status is: a transition never moves a command back. */
function stage(status: CommandStatus): number {
  if (isTerminal(status)) return 3;
  if (status === CommandStatus.COMMAND_STATUS_RUNNING || status === CommandStatus.COMMAND_STATUS_UNCERTAIN) return 2;
  if (status === CommandStatus.COMMAND_STATUS_ACCEPTED) return 1;
  return 0;
}

/**
 * Recent commands, newest first, kept current from the command transitions on the events
 * stream. Records the api has not seen (submitted elsewhere) are read from the store on demand.
 */
export class CommandsView {
  readonly #records = new Map<string, CommandRecord>();
  readonly #limit: number;
  readonly #progress = new Map<string, CommandProgress[]>();
  /** Ids of commands not finished yet: checked on every action request, so kept apart. */
  readonly #open = new Set<string>();
  readonly #listeners = new Set<(r: CommandRecord) => void>();

  constructor(limit = 2_000) {
    this.#limit = limit;
  }

  /** Calls `listener` with every record that changes here (put or a transition); returns the detach. */
  onChange(listener: (r: CommandRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(r: CommandRecord): void {
    for (const l of this.#listeners) l(r);
  }

  get size(): number {
    return this.#records.size;
  }

  put(record: CommandRecord): void {
    const id = record.command!.id;
    const existing = this.#records.get(id);
    // Never let an older copy (from the snapshot) overwrite a newer one (from events).
    if (existing && existing.transitions.length > record.transitions.length) return;
    this.#records.set(id, record);
    this.#track(record);
    this.#trim();
    this.#emit(record);
  }

  #track(r: CommandRecord): void {
    if (isTerminal(r.status)) this.#open.delete(r.command!.id);
    else this.#open.add(r.command!.id);
  }

  get(id: string): CommandRecord | undefined {
    return this.#records.get(id);
  }

  /** Applies a transition; returns the updated record, or undefined when the command is unknown. */
  apply(t: CommandTransition): CommandRecord | undefined {
    const r = this.#records.get(t.commandId);
    if (!r) return undefined;
    if (r.transitions.some((x) => x.status === t.status && x.atMs === t.atMs)) return r;
    if (stage(t.status) < stage(r.status)) {
      // A late copy of an earlier step (sent again after the stream missed it, while later
      // steps had landed): it joins the history in its place and moves nothing back.
      const transitions = [...r.transitions, t].sort((a, b) => a.atMs - b.atMs);
      const next: CommandRecord = { ...r, transitions };
      this.#records.set(t.commandId, next);
      this.#emit(next);
      return next;
    }
    const next: CommandRecord = {
      ...r,
      status: t.status,
      transitions: [...r.transitions, t],
      upstreamTaskId: t.upstreamTaskId || r.upstreamTaskId,
      resultJson: t.resultJson || r.resultJson,
      error: t.error ?? (isTerminal(t.status) || t.status === CommandStatus.COMMAND_STATUS_UNCERTAIN ? r.error : undefined),
      updatedAtMs: t.atMs,
    };
    this.#records.set(t.commandId, next);
    this.#track(next);
    this.#emit(next);
    return next;
  }

  addProgress(p: CommandProgress): void {
    const list = this.#progress.get(p.commandId) ?? [];
    list.push(p);
    if (list.length > 500) list.splice(0, list.length - 500);
    this.#progress.set(p.commandId, list);
  }

  progress(id: string): CommandProgress[] {
    return this.#progress.get(id) ?? [];
  }

  /** Newest first (ids are ULIDs, so they sort by creation time). */
  recent(o: { limit?: number; status?: string; domain?: string; scope?: string; vmid?: number } = {}): CommandRecord[] {
    const out: CommandRecord[] = [];
    const ids = [...this.#records.keys()].sort().reverse();
    for (const id of ids) {
      const r = this.#records.get(id)!;
      if (o.status && commandStatusName(r.status) !== o.status) continue;
      if (o.domain && r.command!.domain !== o.domain) continue;
      if (o.scope && r.command!.scope !== o.scope) continue;
      if (o.vmid !== undefined && guestVmid(r) !== o.vmid) continue;
      out.push(r);
      if (out.length >= (o.limit ?? 50)) break;
    }
    return out;
  }

  /** Commands not finished yet (for deadline sweeps and conflict checks). */
  open(): CommandRecord[] {
    return [...this.#open].map((id) => this.#records.get(id)!).filter(Boolean);
  }

  #trim(): void {
    if (this.#records.size <= this.#limit) return;
    const ids = [...this.#records.keys()].sort();
    for (const id of ids.slice(0, this.#records.size - this.#limit)) {
      if (!isTerminal(this.#records.get(id)!.status)) continue;
      this.#records.delete(id);
      this.#progress.delete(id);
      this.#open.delete(id);
    }
  }
}
