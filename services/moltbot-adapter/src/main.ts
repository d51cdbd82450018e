import { runAdapterProcess } from '@molten/bus';
import { startMoltbotAdapter } from './adapter.js';
import { loadConfig } from './config.js';

await runAdapterProcess('moltbot-adapter', (log) => startMoltbotAdapter(loadConfig(), log));
