// Rate limiting and Retry-After handling without the MCP SDK: for clients of MCP servers' other
// faces (ProxmoxMCP-Plus's REST bridge), which should not load the SDK just for this.
export { RequestGate, parseRetryAfter, type RequestGateOptions } from './request-gate.js';
