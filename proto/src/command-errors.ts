import type { CommandError } from './gen/molten/v1/commands.js';

/**
 * Every `CommandError.code` Molten sends (on command records and transitions, and in query
 * replies), with what it means. Stable and machine-readable: the dashboard, the REST API and
 * scripts switch on them. A new code is added here first.
 */
export const COMMAND_ERROR_CODES = {
  auth: 'the upstream rejected Molten\'s credentials (token, API key, pairing)',
  forbidden: 'the upstream refused the caller or the token a privilege (`privilege` names it)',
  invalid: 'the request or its arguments are malformed, or the upstream refused them as such (`fields` names them)',
  not_found: 'the guest, snapshot, tool or agent does not exist upstream',
  locked: 'the guest is locked by a running operation (backup, migration, snapshot)',
  conflict: 'the guest\'s state does not allow the action now (already running, not paused, a template)',
  unsupported: 'the upstream, its driver or this guest type cannot do the action at all',
  rate_limited: 'the upstream asked Molten to slow down (HTTP 429)',
  node_unreachable: 'the cluster answered, but the node that holds the guest is unreachable from it (HTTP 595–599)',
  unreachable: 'Molten could not reach the upstream: nothing was sent, or the call never arrived',
  tls: 'the upstream\'s TLS certificate is not trusted',
  timeout: 'one upstream request got no answer in time (the command itself may go on)',
  connection_lost: 'the connection dropped after the call was sent: whether it took effect is unknown until reconciled',
  upstream: 'the upstream failed in a way it did not classify (its own words are in the message)',
  tool_error: 'the MCP tool ran and reported an error (`isError`)',
  no_adapter: 'no adapter took the command (or answered the query) in time: none runs for that domain and scope, or it came too late',
  deadline: 'the command\'s (or query\'s) deadline passed before it ended',
} as const;

export type CommandErrorCode = keyof typeof COMMAND_ERROR_CODES;

export function isCommandErrorCode(code: string): code is CommandErrorCode {
  return Object.hasOwn(COMMAND_ERROR_CODES, code);
}

/** The optional parts of a CommandError; left out, each is empty. */
export type CommandErrorExtra = Partial<Pick<CommandError, 'upstreamStatus' | 'remedy' | 'privilege' | 'fields'>>;

/** The one way to build a CommandError: every field filled, the optional ones empty unless given. */
export function commandError(code: CommandErrorCode, message: string, extra: CommandErrorExtra = {}): CommandError {
  return {
    code,
    message,
    upstreamStatus: extra.upstreamStatus ?? '',
    remedy: extra.remedy ?? '',
    privilege: extra.privilege ?? '',
    fields: extra.fields ?? {},
  };
}
