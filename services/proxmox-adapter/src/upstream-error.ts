import { commandError, type CommandError, type CommandErrorCode } from '@molten/contracts';
import { scrub } from '@molten/kit';

/** What kind of failure an upstream answer (or its absence) was. Drivers map to these. */
export type UpstreamErrorCode = Exclude<CommandErrorCode, 'tool_error' | 'no_adapter' | 'deadline' | 'connection_lost'>;

/**
 * A failure from an upstream, with the upstream's own message, a category, and what to do.
 * `outcomeUnknown` is set when a mutating request may have reached the upstream but no
 * answer came back: such a call must never be retried, only reconciled.
 */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  readonly code: UpstreamErrorCode;
  readonly status: number | undefined;
  readonly remedy: string;
  readonly privilege: string;
  readonly fields: Record<string, string>;
  readonly outcomeUnknown: boolean;

  constructor(o: {
    code: UpstreamErrorCode;
    message: string;
    status?: number;
    remedy?: string;
    privilege?: string;
    fields?: Record<string, string>;
    outcomeUnknown?: boolean;
    cause?: unknown;
  }) {
    super(scrub(o.message), { cause: o.cause });
    this.code = o.code;
    this.status = o.status;
    this.remedy = o.remedy ?? '';
    this.privilege = o.privilege ?? '';
    this.fields = o.fields ?? {};
    this.outcomeUnknown = o.outcomeUnknown ?? false;
  }

  toCommandError(): CommandError {
    return commandError(this.code, this.message, {
      upstreamStatus: this.status ? String(this.status) : '',
      remedy: this.remedy,
      privilege: this.privilege,
      fields: this.fields,
    });
  }
}
