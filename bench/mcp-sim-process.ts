/**
 * The homelab MCP simulator in its own process (see child-handle.ts): a tool call's answer is
 * then never held up by the benchmark's own work (its SSE client, its timestamps), and the
 * homelab-adapter reaches it as it would reach a real MCP server.
 */
import { startHomelabMcpSimulator } from '@molten/simulators/homelab-mcp';
import { serveParent } from './child-handle.js';

const mcp = await startHomelabMcpSimulator({ port: 0 });
serveParent(async (op, args) => {
  switch (op) {
    case 'url':
      return mcp.url;
    case 'toolCalls':
      return mcp.counters.toolCalls[args[0] as string] ?? 0;
    case 'close':
      await mcp.close();
      setImmediate(() => process.exit(0));
      return undefined;
    default:
      throw new Error(`unknown op ${op}`);
  }
});
