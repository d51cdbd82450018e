import { isTerminal, type CommandRecord } from '@molten/contracts';
import type { CommandsView } from '../state/commands-view.js';

export interface WaitOptions {
  /** Every change of the record until it ends (the first call is the record as it is now). */
  onChange?: (r: CommandRecord) => void;
  /** Called every `heartbeatMs` while nothing changes (to keep a caller's patience alive). */
  onHeartbeat?: (r: CommandRecord) => void;
  heartbeatMs?: number;
  /** Stops waiting (the command itself goes on). */
  signal?: AbortSignal;
}

export class WaitAbortedError extends Error {
  override name = 'WaitAbortedError';
}

/**
 * Waits until a command ends (succeeded, failed, timed out, denied, expired…), following the
 * api's view of it: transitions from the events stream and approval decisions both land there.
 * Resolves with the final record. Nothing ends a command but the command's own lifecycle (its
 * deadlines and the approval's expiry are enforced by the api), so the wait is bounded by them.
 */
export function waitForCommand(view: CommandsView, id: string, start: CommandRecord, o: WaitOptions = {}): Promise<CommandRecord> {
  return new Promise<CommandRecord>((resolve, reject) => {
    let last = view.get(id) ?? start;
    if (last.transitions.length < start.transitions.length) last = start;
    o.onChange?.(last);
    if (isTerminal(last.status)) return resolve(last);

    let timer: NodeJS.Timeout | undefined;
    const finish = (fn: () => void) => {
      detach();
      if (timer) clearInterval(timer);
      o.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => finish(() => reject(new WaitAbortedError(`stopped waiting for command ${id}`)));
    const detach = view.onChange((r) => {
      if (r.command?.id !== id || r.transitions.length < last.transitions.length) return;
      if (r.status === last.status && r.transitions.length === last.transitions.length) return;
      last = r;
      o.onChange?.(r);
      if (isTerminal(r.status)) finish(() => resolve(r));
    });
    if (o.onHeartbeat) {
      timer = setInterval(() => o.onHeartbeat!(last), o.heartbeatMs ?? 10_000);
      timer.unref?.();
    }
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
