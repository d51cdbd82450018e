// Tool calls of the homelab-adapter's MCP servers: the bridge's handler for an McpConnection.
export { McpToolCallHandler as ToolCallHandler, type McpToolCallHandlerOptions as ToolCallHandlerOptions } from '@molten/mcp-bridge';
