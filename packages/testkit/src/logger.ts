import { createLogger, type Logger } from '@molten/kit';

/** A logger for tests: silent unless TEST_LOG is set (then at that level). */
export function testLogger(name = 'test'): Logger {
  return createLogger(name, { level: process.env.TEST_LOG || 'silent' });
}

/** A logger that keeps what it writes (parsed), for tests that assert something was logged. */
export function capturingLogger(name = 'test', level = 'info'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(name, { level, destination: { write: (line: string) => void lines.push(JSON.parse(line)) } as never });
  return { log, lines };
}
