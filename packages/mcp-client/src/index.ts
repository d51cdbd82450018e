// The public face of @molten/mcp-client. Lighter entry points for code that must not load the
// MCP SDK: ./tool-arguments (ajv only), ./request-gate, ./tool-call.
export { McpConnection, type CallToolOptions, type McpConnectionEvents, type McpConnectionOptions, type McpHealth, type McpStatus } from './connection.js';
export { describeEndpoint, isStdio, type McpEndpoint, type McpTransportKind, type RemoteEndpoint, type StdioEndpoint } from './endpoint.js';
export { McpCallError, isSafeToRepeat, type CallFailureKind } from './tool-call.js';
export { parseRetryAfter } from './guarded-fetch.js';
export { RequestGate, GateTimeoutError, type RequestGateOptions } from './request-gate.js';
export type { Negotiated, ProtocolEra } from './session.js';
export type { McpTool } from './tool-catalog.js';
export { validateToolArguments, type ArgumentCheck, type ArgumentError } from './tool-arguments.js';
export type { CallToolResult, ServerCapabilities, ToolAnnotations } from '@modelcontextprotocol/client';
