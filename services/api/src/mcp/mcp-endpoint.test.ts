import { McpServer } from '@modelcontextprotocol/server';
import { describe, expect, it, vi } from 'vitest';
import { CommandStatus, type CommandRecord } from '@molten/contracts';
import type * as Rest from '@molten/contracts/rest';
import { testLogger } from '@molten/testkit';
import type { TokenRegistry } from '../auth/tokens.js';
import type { Commands, Reads, ToolCallRequest } from '../ports.js';
import { CommandsView } from '../state/commands-view.js';
import { McpEndpoint } from './mcp-endpoint.js';

/**
 * The /mcp route in-process, on fakes of the ports: what it answers for the request shapes it
 * reads itself (a JSON body of a declared length) and for those it leaves to the SDK.
 */
const tools: Rest.Tool[] = [
  { name: 'list_containers', description: 'Lists containers.', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } },
  { name: 'restart_container', description: 'Restarts one.', inputSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
];
const server = { id: 'mcp-homelab', name: 'homelab', capabilities: [{ action: 'tool-call', available: true }], tools } as unknown as Rest.Server;

function endpoint(maxBodyBytes = 4096) {
  const called: ToolCallRequest[] = [];
  let n = 0;
  const record = (req: ToolCallRequest): CommandRecord => {
    const id = `01TEST${String(++n).padStart(20, '0')}`;
    return {
      command: { id, correlationId: id, domain: 'mcp', scope: 'homelab', action: 'tool-call', createdAtMs: 0, acceptByMs: 0, deadlineMs: 0, idempotencyKey: '', reason: '', payload: { $case: 'toolCall', value: { serverId: req.serverId, tool: req.tool, argumentsJson: '{}' } } },
      status: CommandStatus.COMMAND_STATUS_SUCCEEDED,
      transitions: [],
      upstreamTaskId: '',
      upstreamCallAtMs: 0,
      resultJson: JSON.stringify({ content: [{ type: 'text', text: `${req.tool} ran` }], isError: false }),
      updatedAtMs: 0,
    };
  };
  const reads = { servers: () => [server] } as unknown as Reads;
  const commands = {
    toolCall: async (_caller: unknown, req: ToolCallRequest) => {
      called.push(req);
      return { record: record(req), duplicate: false };
    },
  } as unknown as Commands;
  const tokens = { verify: () => ({ name: 'agent', role: 'agent', key: 'k' }) } as unknown as TokenRegistry;
  const e = new McpEndpoint({ reads, commands, commandsView: new CommandsView(), tokens, log: testLogger('mcp-endpoint'), maxBodyBytes });
  const app = e.routes();
  const post = async (body: string, headers: Record<string, string> = {}) => {
    const res = await app.request('/', {
      method: 'POST',
      headers: { authorization: 'Bearer x', 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', 'content-length': String(Buffer.byteLength(body)), ...headers },
      body,
    });
    const text = await res.text();
    const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '{}');
    return { status: res.status, answer: JSON.parse(json) as { result?: { content?: { text: string }[]; tools?: { name: string }[]; isError?: boolean }; error?: { code: number; message: string } } };
  };
  const rpc = (method: string, params: unknown) => JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
  return { e, post, rpc, called };
}

describe("Molten's MCP endpoint", () => {
  it('calls the tool a tools/call names, building a server with that tool alone, and still lists every tool', async () => {
    const { e, post, rpc, called } = endpoint();
    const registered = vi.spyOn(McpServer.prototype, 'registerTool');
    try {
      const call = await post(rpc('tools/call', { name: 'mcp-homelab__list_containers', arguments: {} }));
      expect(registered.mock.calls.map((c) => c[0])).toEqual(['mcp-homelab__list_containers']);
      expect(call.status).toBe(200);
      expect(call.answer.result?.content?.[0]?.text).toBe('list_containers ran');
      expect(called).toEqual([expect.objectContaining({ serverId: 'mcp-homelab', tool: 'list_containers' })]);
      // Its input schema is still checked (the SDK's validation of the registered tool).
      const bad = await post(rpc('tools/call', { name: 'mcp-homelab__restart_container', arguments: {} }));
      expect(bad.answer.result?.isError ?? bad.answer.error).toBeTruthy();
      expect(called).toHaveLength(1);
      // Molten's own tools are found the same way.
      const own = await post(rpc('tools/call', { name: 'get_command', arguments: { id: 'nope' } }));
      expect(own.status).toBe(200);
      registered.mockClear();
      const list = await post(rpc('tools/list', {}));
      const names = list.answer.result?.tools?.map((t) => t.name) ?? [];
      expect(names).toEqual(expect.arrayContaining(['mcp-homelab__list_containers', 'mcp-homelab__restart_container', 'list_guests', 'get_command']));
      expect(registered.mock.calls.length).toBe(names.length);
    } finally {
      registered.mockRestore();
      await e.close();
    }
  });

  it('answers an unknown tool, a body that is not JSON and one over the limit as the MCP SDK does', async () => {
    const { e, post, rpc, called } = endpoint(256);
    try {
      const unknown = await post(rpc('tools/call', { name: 'mcp-homelab__nope', arguments: {} }));
      expect(JSON.stringify(unknown.answer)).toMatch(/nope/);
      expect(unknown.answer.result?.isError ?? unknown.answer.error).toBeTruthy();
      const broken = await post('{"jsonrpc": "2.0", "id": 1, "method": "tools/ca');
      expect(broken.answer.error?.code).toBe(-32700);
      const big = await post(rpc('tools/call', { name: 'mcp-homelab__list_containers', arguments: { pad: 'x'.repeat(400) } }));
      expect(big.status).toBe(413);
      // No declared length: the SDK reads (and limits) the body itself.
      const streamed = await post(rpc('tools/call', { name: 'mcp-homelab__list_containers', arguments: { pad: 'x'.repeat(400) } }), { 'content-length': '' });
      expect(streamed.status).toBe(413);
      expect(called).toEqual([]);
    } finally {
      await e.close();
    }
  });
});
