import { ConfigError, createLogger, onShutdown, type Logger } from '@molten/kit';
import { ADAPTER_STOP_MS } from './adapter-runtime.js';

/**
 * What an adapter's main.ts runs: its logger, the adapter started from its configuration, and
 * the ordered stop on SIGTERM or SIGINT. A configuration problem ends the process with exit code
 * 2 and says what to fix; any other failure to start, with exit code 1.
 */
export async function runAdapterProcess(service: string, start: (log: Logger) => Promise<{ stop(): Promise<void> }>): Promise<void> {
  const log = createLogger(service);
  let adapter: { stop(): Promise<void> };
  try {
    adapter = await start(log);
  } catch (err) {
    if (err instanceof ConfigError) {
      log.fatal(err.message);
      process.exit(2);
    }
    log.fatal({ err }, `${service} failed to start`);
    process.exit(1);
  }
  onShutdown(log, { timeoutMs: ADAPTER_STOP_MS }).add(service, () => adapter.stop());
}
