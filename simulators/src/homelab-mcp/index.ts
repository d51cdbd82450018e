export { startHomelabMcpSimulator } from './simulator.js';
export type { HomelabMcpSimulator, HomelabMcpSimulatorOptions, SimCounters, SimRequest } from './simulator.js';
export { HomelabModel, ToolError, COMMON_PORTS, CONTAINER_STATES, type Container, type ContainerState, type NetworkHost, type ScanResult } from './model.js';
export type { SimToolContext, SimToolDefinition, SimToolOutput } from './tools.js';
