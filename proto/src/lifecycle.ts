import { CommandStatus } from './gen/molten/v1/commands.js';
import { ServerStatus } from './gen/molten/v1/upstreams.js';

/** The lifecycle's names as the REST API, SSE and the dashboard spell them. */
export const COMMAND_STATUS_NAMES = {
  [CommandStatus.COMMAND_STATUS_UNSPECIFIED]: 'unspecified',
  [CommandStatus.COMMAND_STATUS_REQUESTED]: 'requested',
  [CommandStatus.COMMAND_STATUS_ACCEPTED]: 'accepted',
  [CommandStatus.COMMAND_STATUS_RUNNING]: 'running',
  [CommandStatus.COMMAND_STATUS_SUCCEEDED]: 'succeeded',
  [CommandStatus.COMMAND_STATUS_FAILED]: 'failed',
  [CommandStatus.COMMAND_STATUS_TIMED_OUT]: 'timed_out',
  [CommandStatus.COMMAND_STATUS_UNCERTAIN]: 'uncertain',
  [CommandStatus.COMMAND_STATUS_AWAITING_APPROVAL]: 'awaiting_approval',
  [CommandStatus.COMMAND_STATUS_DENIED]: 'denied',
  [CommandStatus.COMMAND_STATUS_EXPIRED]: 'expired',
  [CommandStatus.UNRECOGNIZED]: 'unspecified',
} as const satisfies Record<CommandStatus, string>;

export type CommandStatusName = (typeof COMMAND_STATUS_NAMES)[CommandStatus];

export function commandStatusName(status: CommandStatus): CommandStatusName {
  return COMMAND_STATUS_NAMES[status] ?? 'unspecified';
}

export function commandStatusFromName(name: string): CommandStatus | undefined {
  for (const [value, n] of Object.entries(COMMAND_STATUS_NAMES)) {
    if (n === name && Number(value) !== CommandStatus.COMMAND_STATUS_UNSPECIFIED) return Number(value) as CommandStatus;
  }
  return undefined;
}

const TERMINAL = new Set<CommandStatus>([
  CommandStatus.COMMAND_STATUS_SUCCEEDED,
  CommandStatus.COMMAND_STATUS_FAILED,
  CommandStatus.COMMAND_STATUS_TIMED_OUT,
  CommandStatus.COMMAND_STATUS_DENIED,
  CommandStatus.COMMAND_STATUS_EXPIRED,
]);

/**
 * Terminal states never change again. uncertain is not terminal: the adapter keeps reconciling
 * from real state and resolves it when it can.
 */
export function isTerminal(status: CommandStatus): boolean {
  return TERMINAL.has(status);
}

/** Allowed moves. A move not listed here is a bug or a race lost, and is refused. */
const NEXT: Record<CommandStatus, readonly CommandStatus[]> = {
  [CommandStatus.COMMAND_STATUS_UNSPECIFIED]: [CommandStatus.COMMAND_STATUS_REQUESTED],
  [CommandStatus.COMMAND_STATUS_REQUESTED]: [
    CommandStatus.COMMAND_STATUS_AWAITING_APPROVAL,
    CommandStatus.COMMAND_STATUS_ACCEPTED,
    CommandStatus.COMMAND_STATUS_FAILED,
    CommandStatus.COMMAND_STATUS_TIMED_OUT,
  ],
  [CommandStatus.COMMAND_STATUS_ACCEPTED]: [
    CommandStatus.COMMAND_STATUS_RUNNING,
    CommandStatus.COMMAND_STATUS_SUCCEEDED,
    CommandStatus.COMMAND_STATUS_FAILED,
    CommandStatus.COMMAND_STATUS_TIMED_OUT,
    CommandStatus.COMMAND_STATUS_UNCERTAIN,
  ],
  [CommandStatus.COMMAND_STATUS_RUNNING]: [
    CommandStatus.COMMAND_STATUS_SUCCEEDED,
    CommandStatus.COMMAND_STATUS_FAILED,
    CommandStatus.COMMAND_STATUS_TIMED_OUT,
    CommandStatus.COMMAND_STATUS_UNCERTAIN,
  ],
  [CommandStatus.COMMAND_STATUS_UNCERTAIN]: [
    CommandStatus.COMMAND_STATUS_RUNNING,
    CommandStatus.COMMAND_STATUS_SUCCEEDED,
    CommandStatus.COMMAND_STATUS_FAILED,
    CommandStatus.COMMAND_STATUS_TIMED_OUT,
  ],
  // Waiting for a person: only a decision (or the approval's expiry) moves it on. Approved goes
  // to accepted (the command is published then); denied and expired were never published.
  [CommandStatus.COMMAND_STATUS_AWAITING_APPROVAL]: [
    CommandStatus.COMMAND_STATUS_ACCEPTED,
    CommandStatus.COMMAND_STATUS_DENIED,
    CommandStatus.COMMAND_STATUS_EXPIRED,
  ],
  [CommandStatus.COMMAND_STATUS_SUCCEEDED]: [],
  [CommandStatus.COMMAND_STATUS_FAILED]: [],
  [CommandStatus.COMMAND_STATUS_TIMED_OUT]: [],
  [CommandStatus.COMMAND_STATUS_DENIED]: [],
  [CommandStatus.COMMAND_STATUS_EXPIRED]: [],
  [CommandStatus.UNRECOGNIZED]: [],
};

export function canTransition(from: CommandStatus, to: CommandStatus): boolean {
  return NEXT[from]?.includes(to) ?? false;
}

export const SERVER_STATUS_NAMES = {
  [ServerStatus.SERVER_STATUS_UNSPECIFIED]: 'unknown',
  [ServerStatus.SERVER_STATUS_CONNECTING]: 'connecting',
  [ServerStatus.SERVER_STATUS_CONNECTED]: 'connected',
  [ServerStatus.SERVER_STATUS_DEGRADED]: 'degraded',
  [ServerStatus.SERVER_STATUS_AUTH_FAILED]: 'auth_failed',
  [ServerStatus.SERVER_STATUS_DOWN]: 'down',
  [ServerStatus.UNRECOGNIZED]: 'unknown',
} as const satisfies Record<ServerStatus, string>;

export type ServerStatusName = (typeof SERVER_STATUS_NAMES)[ServerStatus];

export function serverStatusName(status: ServerStatus): ServerStatusName {
  return SERVER_STATUS_NAMES[status] ?? 'unknown';
}
