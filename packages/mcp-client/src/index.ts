export { McpConnection, type CallToolOptions, type McpConnectionEvents, type McpConnectionOptions, type McpHealth, type McpStatus } from './connection.js';
export { describeEndpoint, isStdio, type McpEndpoint, type McpTransportKind, type RemoteEndpoint, type StdioEndpoint } from './endpoint.js';
export { McpCallError, type CallFailureKind } from './errors.js';
export { parseRetryAfter } from './guarded-fetch.js';
export { RequestGate, GateTimeoutError, type RequestGateOptions } from './request-gate.js';
export { isSafeToRepeat, type McpTool } from './tool-catalog.js';
export { validateToolArguments, type ArgumentCheck, type ArgumentError } from './tool-arguments.js';
export type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
