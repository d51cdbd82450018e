import { pino, type Logger } from 'pino';
import { scrub, scrubValue } from './secrets.js';

export type { Logger } from 'pino';

/** Keys whose values are secrets wherever they appear in a log object. */
const REDACT = [
  'token',
  'password',
  'secret',
  'apiKey',
  'authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.apiKey',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.Authorization',
];

/**
 * Structured JSON logs (one object per line) for a service. Every string is scrubbed of
 * registered secrets; errors are logged with their message and code, never with a stack of
 * request options that may carry credentials.
 */
export function createLogger(service: string, opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      name: service,
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service },
      redact: { paths: REDACT, censor: '***' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => scrubValue(object as Record<string, unknown>),
      },
      serializers: {
        err: (err: unknown) => {
          if (!(err instanceof Error)) return scrubValue(err);
          const e = err as Error & { code?: unknown; status?: unknown; cause?: unknown };
          return {
            type: e.name,
            message: scrub(e.message),
            code: e.code,
            status: e.status,
            cause: e.cause instanceof Error ? scrub(e.cause.message) : undefined,
          };
        },
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrub(a) : a)) as Parameters<typeof method>;
          method.apply(this, scrubbed);
        },
      },
    },
    opts.destination,
  );
}
