import { MalformedMessageError, decodeCommandRecord, decodeStateValue, lastEventSeq, readSnapshot, type Bus, type BusEvent } from '@molten/bus';
import {
  BUCKETS,
  type CommandRecord,
  type CommandProgress,
  type CommandTransition,
} from '@molten/contracts';
import type { Logger } from '@molten/kit';
import { CommandsView } from '../state/commands-view.js';
import { StateView, type StateChange } from '../state/state-view.js';

/** What one event from the stream changed in the projection. */
export type Applied =
  | { kind: 'state'; change: StateChange | undefined }
  | { kind: 'command'; record: CommandRecord }
  /** A transition of a command this api has not seen (submitted elsewhere): read its record. */
  | { kind: 'unknown-command'; commandId: string }
  | { kind: 'progress'; progress: CommandProgress }
  | { kind: 'other' };

/** Records kept from the snapshot at start (the newest; older ones are read on demand). */
const HYDRATED_COMMANDS = 2_000;

/**
 * The api's copy of what the bus knows: the last-known state of every resource and the recent
 * commands, built from the KV snapshot at start and kept current by the events stream.
 */
export class Projection {
  readonly state = new StateView();
  readonly commands = new CommandsView();

  /** Reads the snapshot; returns the events-stream sequence it corresponds to (follow from there). */
  async hydrate(bus: Bus, log: Logger): Promise<number> {
    // The sequence first: an event after it that the snapshot already holds is applied twice,
    // which is harmless; one before it that the snapshot misses would be lost.
    const seq = await lastEventSeq(bus);
    const [state, commands] = await Promise.all([readSnapshot(bus.js, BUCKETS.state), readSnapshot(bus.js, BUCKETS.commands, 'cmd.>')]);
    for (const e of state) {
      // Each entry decoded as its key's kind and validated: what does not fit is logged and skipped.
      let read: ReturnType<typeof decodeStateValue>;
      try {
        read = decodeStateValue(e.key, e.value);
      } catch (err) {
        log.warn({ key: e.key, reason: err instanceof MalformedMessageError ? err.reason : String(err) }, 'skipping an unreadable state entry');
        continue;
      }
      this.state.apply(read.address, read.value, false, e.created.getTime());
    }
    const records = commands
      .map((e) => {
        try {
          return decodeCommandRecord(e.key, e.value);
        } catch (err) {
          log.warn({ key: e.key, reason: err instanceof MalformedMessageError ? err.reason : String(err) }, 'skipping an unreadable command record');
          return undefined;
        }
      })
      .filter((r): r is CommandRecord => !!r?.command)
      .sort((a, b) => (a.command!.id < b.command!.id ? -1 : 1))
      .slice(-HYDRATED_COMMANDS);
    for (const r of records) this.commands.put(r);
    log.info({ resources: this.state.count(), commands: records.length, seq }, 'state hydrated from the snapshot');
    return seq;
  }

  apply(e: BusEvent, now = Date.now()): Applied {
    if (e.address) return { kind: 'state', change: this.state.apply(e.address, e.value, e.removed, now) };
    if (e.type === 'molten.v1.CommandTransition') {
      const t = e.value as CommandTransition;
      const record = this.commands.apply(t);
      return record ? { kind: 'command', record } : { kind: 'unknown-command', commandId: t.commandId };
    }
    if (e.type === 'molten.v1.CommandProgress') {
      const p = e.value as CommandProgress;
      this.commands.addProgress(p);
      return { kind: 'progress', progress: p };
    }
    return { kind: 'other' };
  }
}
