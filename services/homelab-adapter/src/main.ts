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
  const shutdown = onShutdown(log);
  const adapter = await startHomelabAdapter(config, log);
  shutdown.add('homelab-adapter', () => adapter.stop());
}
