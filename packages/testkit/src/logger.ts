import { createLogger, type Logger } from '@molten/kit';

/** A logger for tests: silent unless TEST_LOG is set (then at that level). */
export function testLogger(name = 'test'): Logger {
  return createLogger(name, { level: process.env.TEST_LOG || 'silent' });
}
