import { runAdapterProcess } from '@molten/bus';
import { startProxmoxAdapter } from './adapter.js';
import { loadConfig } from './config.js';

await runAdapterProcess('proxmox-adapter', (log) => startProxmoxAdapter(loadConfig(), log));
