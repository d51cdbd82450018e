import { runAdapterProcess } from '@molten/bus';
import { startHomelabAdapter } from './adapter.js';
import { loadConfig } from './config.js';

await runAdapterProcess('homelab-adapter', (log) => startHomelabAdapter(loadConfig(), log));
