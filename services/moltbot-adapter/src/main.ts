import { connectBus } from '@molten/bus';
import { ConfigError, createLogger, onShutdown } from '@molten/kit';
import { startMoltbotAdapter } from './adapter.js';
import { loadConfig } from './config.js';

const log = createLogger('moltbot-adapter');
let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  log.fatal(err.message);
  process.exit(2);
}

const shutdown = onShutdown(log);
const bus = await connectBus({ servers: config.natsUrl, name: `moltbot-adapter-${config.instance}`, log });
// Steps run in reverse: the adapter stops first, the bus drains last.
shutdown.add('bus', () => bus.close());
const adapter = await startMoltbotAdapter(bus, config, log);
shutdown.add('adapter', () => adapter.stop());
