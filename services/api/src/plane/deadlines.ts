import type { CommandStore } from '@molten/bus';
import { CommandStatus, commandError, type CommandRecord } from '@molten/contracts';
import type { Logger } from '@molten/kit';
import type { AdapterRegistry } from '../state/adapters.js';
import type { CommandsView } from '../state/commands-view.js';
import { adapterName } from '../state/json.js';

/** An open command with no news for this long gets its record re-read. */
const RECHECK_AFTER_MS = 5_000;
/** Past its deadline by this much, with no adapter of its kind alive, a started command is given up. */
const ABANDONED_AFTER_MS = 60_000;

export interface DeadlinesOptions {
  store: CommandStore;
  commands: CommandsView;
  adapters: AdapterRegistry;
  log: Logger;
  /** A record read back from the store that the events stream had not brought (shown at once). */
  onRefreshed(record: CommandRecord): void;
}

/**
 * Command deadlines: a command still `requested` past its accept-by time ends `timed_out`
 * naming the adapter that is missing; a started one whose adapter is gone ends `timed_out` a
 * minute past its deadline; and a quiet open command's record is re-read now and then, so an
 * event lost in a NATS outage never leaves it looking stuck.
 */
export class CommandDeadlines {
  /** When each open command's record was last re-read. */
  readonly #rechecked = new Map<string, number>();

  constructor(private readonly o: DeadlinesOptions) {}

  async sweep(now = Date.now()): Promise<void> {
    const { store, commands, adapters, log } = this.o;
    const open = commands.open();
    for (const r of open) {
      const c = r.command!;
      try {
        if (r.status === CommandStatus.COMMAND_STATUS_REQUESTED && now > c.acceptByMs) {
          const adapter = adapterName(c.domain);
          const waited = Math.round((c.acceptByMs - c.createdAtMs) / 1000);
          const updated = await store.transition(c.id, CommandStatus.COMMAND_STATUS_TIMED_OUT, {
            message: `no ${adapter} took the command for "${c.scope}" within ${waited} s`,
            error: commandError('no_adapter', `no ${adapter} is serving ${c.domain} "${c.scope}"`, {
              remedy: `Start services/${adapter} for "${c.scope}" (npm start runs every adapter) and check that it is connected to the same NATS server as the api.`,
            }),
          });
          if (!updated) {
            const s = await store.get(c.id);
            if (s) commands.put(s.record);
          }
        } else if (now - r.updatedAtMs > RECHECK_AFTER_MS && now - (this.#rechecked.get(c.id) ?? 0) > RECHECK_AFTER_MS) {
          this.#rechecked.set(c.id, now);
          const stored = await store.get(c.id);
          if (stored && stored.record.transitions.length > r.transitions.length) {
            commands.put(stored.record);
            this.o.onRefreshed(stored.record);
          }
        }
        if (r.status !== CommandStatus.COMMAND_STATUS_REQUESTED && now > c.deadlineMs + ABANDONED_AFTER_MS && !adapters.hasAdapter(c.domain, undefined, now)) {
          await store.transition(c.id, CommandStatus.COMMAND_STATUS_TIMED_OUT, {
            message: `the ${adapterName(c.domain)} that ran the command is gone and the deadline has passed`,
            error: commandError('deadline', 'no adapter finished the command before its deadline'),
          });
        }
      } catch (err) {
        log.warn({ err, commandId: c.id }, 'deadline sweep failed');
      }
    }
    const openIds = new Set(open.map((r) => r.command!.id));
    for (const id of this.#rechecked.keys()) if (!openIds.has(id)) this.#rechecked.delete(id);
  }
}
