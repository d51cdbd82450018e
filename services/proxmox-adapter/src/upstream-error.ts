import type { CommandError } from '@molten/contracts';
import { scrub } from '@molten/kit';

/** What kind of failure an upstream answer (or its absence) was. Drivers map to these. */
export type UpstreamErrorCode =
  | 'auth'
  | 'forbidden'
  | 'invalid'
  | 'not_found'
  | 'locked'
  | 'conflict'
  | 'node_unreachable'
  | 'unreachable'
  | 'tls'
  | 'timeout'
  | 'rate_limited'
  | 'unsupported'
  | 'upstream';

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
    return {
      code: this.code,
      message: this.message,
      upstreamStatus: this.status ? String(this.status) : '',
      remedy: this.remedy,
      privilege: this.privilege,
      fields: this.fields,
    };
  }
}
