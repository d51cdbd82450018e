import { ConfigError, createLogger, isMain, onShutdown } from '@molten/kit';
import { startHomelabAdapter } from './adapter.js';
import { loadConfig } from './config.js';

if (isMain(import.meta.url)) {
  const log = createLogger('homelab-adapter');
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.fatal(err.message);
    process.exit(2);
  }
  // Commands in flight get 8 s (+2 s to hand the rest back), then publishing stops and the bus
  // drains: more than onShutdown's default 10 s per step, within the 30 s deploy/ allows.
  const shutdown = onShutdown(log, { timeoutMs: 25_000 });
  const adapter = await startHomelabAdapter(config, log);
  shutdown.add('homelab-adapter', () => adapter.stop());
}
