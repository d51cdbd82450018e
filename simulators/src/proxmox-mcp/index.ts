export { startProxmoxMcpSimulator } from './simulator.js';
export type { ProxmoxMcpCounters, ProxmoxMcpRequest, ProxmoxMcpSimulator, ProxmoxMcpSimulatorOptions } from './simulator.js';
export type { OutputFormat } from './format.js';
export { formatBytes, formatUptime, pyFixed, theme } from './format.js';
export type { JobRecord, JobStatus } from './jobs.js';
export { TOOLS } from './tools.js';
