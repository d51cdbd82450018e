// The public face of @molten/mcp-bridge: between MCP servers and the bus. Loads no MCP SDK itself
// (only the SDK-free entry points of @molten/mcp-client), so an adapter that reaches its server
// another way (ProxmoxMCP-Plus's REST bridge) uses it without carrying the SDK.
export {
  ToolCallHandler,
  textOf,
  type CallFailure,
  type ToolCallClient,
  type ToolCallHandlerOptions,
  type ToolCallOptions,
  type ToolCallWords,
} from './tool-call-handler.js';
export { McpToolCallHandler, mcpCallFailure, type McpToolCallHandlerOptions } from './mcp-tool-call-handler.js';
export {
  TOOL_CALL,
  describeServer,
  fromMcpConnection,
  serverStatus,
  toContractAnnotations,
  toContractCapabilities,
  toContractTool,
  toolCallCapability,
  upstreamHealth,
  type DescribedServer,
  type ServerHealthStatus,
  type ServerIdentity,
} from './server-descriptor.js';
