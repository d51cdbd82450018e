import { Hono } from 'hono';
import { McpServer, createMcpHandler, type McpHttpHandler, type ServerContext } from '@modelcontextprotocol/server';
import type * as Rest from '@molten/contracts/rest';
import type { Logger } from '@molten/kit';
import type { AppEnv } from '../app-env.js';
import type { Principal, TokenRegistry } from '../auth/tokens.js';
import { errorBody } from '../errors.js';
import type { Commands, Reads, SubmitCaller, Submitted } from '../ports.js';
import type { CommandsView } from '../state/commands-view.js';
import { commandAnswer, errorAnswer, progressMessage, refusalAnswer, type ToolAnswer } from './call-result.js';
import { WaitAbortedError, waitForCommand } from './command-waiter.js';
import { inputSchemaOf } from './input-schemas.js';
import { moltenTools, type MoltenTool } from './molten-tools.js';

export interface McpEndpointDeps {
  reads: Reads;
  commands: Commands;
  /** The api's view of commands: a call that became a command waits there for its end. */
  commandsView: CommandsView;
  tokens: TokenRegistry;
  log: Logger;
  /** The largest request body read (MOLTEN_MAX_TOOL_CALL_BYTES). */
  maxBodyBytes?: number;
  /** How often a waiting call tells the client it still waits (a progress notification). */
  heartbeatMs?: number;
  version?: string;
}

/** A connected server's tool, as Molten offers it: `<serverId>__<tool>`. */
interface ProxiedTool {
  name: string;
  serverId: string;
  tool: Rest.Tool;
  serverName: string;
}

/** What the /mcp route hands the SDK with a request: who asks, and the tool a `tools/call` names. */
interface CallExtra {
  principal: Principal;
  tool?: string;
}

/** The largest request body read by default (MOLTEN_MAX_TOOL_CALL_BYTES's default). */
const MAX_BODY_BYTES = 1024 * 1024;

/** MCP tool names: 1 to 128 of A-Z a-z 0-9 _ - . (MCP spec, Tool.name). */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

const INSTRUCTIONS =
  "Molten is the homelab's control plane. Reads answer at once. Anything that may change the homelab (power actions, and other servers' tools that are not read-only) waits until an operator approves it in Molten's Approvals inbox; the call then returns the result, or says who denied it and why, or that it expired. Send a progress token to hear while it waits.";

/**
 * Molten's own MCP endpoint (POST /mcp, Streamable HTTP, both the 2026-07-28 generation and the
 * 2025 one, stateless): its own tools, and every connected MCP server's tools as
 * `<serverId>__<tool>`. Only the agent token (MOLTEN_AGENT_TOKEN) is let in. Every call that acts
 * is a command on the bus with the agent as its actor; one that may change anything waits for an
 * operator (the Commands port's policy), and the call waits with it, sending progress.
 */
export class McpEndpoint {
  readonly handler: McpHttpHandler;
  readonly #d: McpEndpointDeps;
  readonly #molten: Record<string, MoltenTool>;
  #toolsSignature = '';
  #debounce: NodeJS.Timeout | undefined;

  constructor(d: McpEndpointDeps) {
    this.#d = d;
    this.#molten = moltenTools(d.reads, d.commands);
    this.handler = createMcpHandler((ctx) => this.#server(principalOf(ctx.authInfo?.extra), ctx.authInfo?.extra?.tool as string | undefined), {
      legacy: 'stateless',
      maxRequestBodySize: d.maxBodyBytes ?? MAX_BODY_BYTES,
      onerror: (err) => d.log.debug({ err: err.message }, 'mcp request refused'),
    });
    this.#toolsSignature = this.#signature();
  }

  /** The /mcp route: bearer auth with the agent token, then the MCP handler. */
  routes() {
    return new Hono<AppEnv>().all('/', async (c) => {
      const header = c.req.header('authorization');
      const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
      const principal = m ? this.#d.tokens.verify(m[1]!) : undefined;
      if (!principal) {
        c.header('WWW-Authenticate', 'Bearer realm="molten"');
        return c.json(errorBody('unauthorized', 'send "Authorization: Bearer <agent token>": the MCP endpoint takes the agent token (MOLTEN_AGENT_TOKEN)'), 401);
      }
      if (principal.role !== 'agent') {
        return c.json(errorBody('forbidden', `the MCP endpoint is for agents: use the agent token (MOLTEN_AGENT_TOKEN); this token has the ${principal.role} role`), 403);
      }
      const authInfo = (extra: CallExtra) => ({ token: '', clientId: principal.name, scopes: [principal.role], extra: extra as unknown as Record<string, unknown> });
      const call = await this.#readToolCall(c.req.raw);
      if (!call) return this.handler.fetch(c.req.raw, { authInfo: authInfo({ principal }) });
      return this.handler.fetch(call.request, { authInfo: authInfo({ principal, tool: call.tool }), ...(call.body !== undefined ? { parsedBody: call.body } : {}) });
    });
  }

  /**
   * A POST's JSON body read here (when its declared length is within the limit), so the SDK
   * neither clones the request nor reads it again (its `parsedBody`), and a `tools/call`'s tool
   * is known before the per-request server is built: only that tool is registered on it. Anything
   * else (no declared length, another content type) goes to the SDK as it came; a body that is
   * not JSON goes to it as text, for its own parse error.
   */
  async #readToolCall(request: Request): Promise<{ request: Request; body?: unknown; tool?: string } | undefined> {
    if (request.method !== 'POST' || !/^application\/json\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) return undefined;
    const declared = request.headers.get('content-length');
    if (declared === null || !/^\d+$/.test(declared) || Number(declared) > (this.#d.maxBodyBytes ?? MAX_BODY_BYTES)) return undefined;
    const text = await request.text();
    let body: unknown;
    try {
      body = text.length === 0 ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (body === undefined) return { request: new Request(request.url, { method: 'POST', headers: request.headers, body: text, signal: request.signal }) };
    const m = body as { method?: unknown; params?: { name?: unknown } } | null;
    const tool = m && typeof m === 'object' && !Array.isArray(m) && m.method === 'tools/call' && typeof m.params?.name === 'string' ? m.params.name : undefined;
    return { request, body, ...(tool !== undefined ? { tool } : {}) };
  }

  /** Tells listening clients when the connected servers' tools changed (debounced; a no-op when they did not). */
  serversChanged(): void {
    if (this.#debounce) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      const now = this.#signature();
      if (now === this.#toolsSignature) return;
      this.#toolsSignature = now;
      this.#d.log.debug({}, 'mcp endpoint: tools changed');
      this.handler.notify.toolsChanged();
    }, 100);
    this.#debounce.unref?.();
  }

  async close(): Promise<void> {
    if (this.#debounce) clearTimeout(this.#debounce);
    await this.handler.close();
  }

  #proxied(): ProxiedTool[] {
    const out: ProxiedTool[] = [];
    for (const s of this.#d.reads.servers({ tools: true })) {
      if (!s.capabilities.some((c) => c.action === 'tool-call')) continue;
      for (const tool of s.tools ?? []) {
        const name = `${s.id}__${tool.name}`;
        if (TOOL_NAME.test(name) && !(name in this.#molten)) out.push({ name, serverId: s.id, tool, serverName: s.name || s.id });
      }
    }
    return out;
  }

  #signature(): string {
    return JSON.stringify(this.#proxied().map((p) => [p.name, p.tool.inputSchema, p.tool.annotations ?? null, p.tool.description]));
  }

  /**
   * One server instance per request (stateless): Molten's tools and the connected servers' tools
   * as they are now; for a `tools/call`, only the tool it calls (all of them when it names none
   * that exists, for the SDK's own answer).
   */
  #server(principal: Principal | undefined, only?: string): McpServer {
    const server = new McpServer({ name: 'molten', title: 'Molten', version: this.#d.version ?? '0.1.0' }, { capabilities: { tools: { listChanged: true } }, instructions: INSTRUCTIONS });
    let molten = Object.entries(this.#molten);
    let proxied = this.#proxied();
    if (only !== undefined) {
      const m = molten.filter(([name]) => name === only);
      const p = m.length > 0 ? [] : proxied.filter((x) => x.name === only);
      if (m.length + p.length > 0) [molten, proxied] = [m, p];
    }
    for (const [name, t] of molten) {
      server.registerTool(name, { title: t.title, description: t.description, inputSchema: t.input, annotations: t.annotations }, async (args: unknown, ctx: ServerContext) => {
        const caller = this.#caller(principal, ctx);
        if (!caller) return errorAnswer('not signed in');
        try {
          const out = await t.run(args as never, caller);
          return isSubmitted(out) ? await this.#follow(out, ctx) : out;
        } catch (err) {
          return refusalAnswer(err);
        }
      });
    }
    for (const p of proxied) {
      const annotations = p.tool.annotations ? { ...p.tool.annotations, ...(p.tool.title ? { title: p.tool.title } : {}) } : undefined;
      server.registerTool(
        p.name,
        {
          title: `${p.tool.title ?? p.tool.name} (${p.serverName})`,
          description: `[${p.serverName}] ${p.tool.description}`,
          inputSchema: inputSchemaOf(p.tool.inputSchema),
          ...(annotations ? { annotations } : {}),
        },
        async (args: unknown, ctx: ServerContext) => {
          const caller = this.#caller(principal, ctx);
          if (!caller) return errorAnswer('not signed in');
          try {
            const submitted = await this.#d.commands.toolCall(caller, { serverId: p.serverId, tool: p.tool.name, arguments: (args ?? {}) as Record<string, unknown> });
            return await this.#follow(submitted, ctx);
          } catch (err) {
            return refusalAnswer(err);
          }
        },
      );
    }
    return server;
  }

  #caller(principal: Principal | undefined, ctx: ServerContext): SubmitCaller | undefined {
    if (!principal) return undefined;
    const info = (ctx.mcpReq.envelope as Record<string, { name?: unknown } | undefined> | undefined)?.['io.modelcontextprotocol/clientInfo'];
    const client = typeof info?.name === 'string' ? info.name.slice(0, 100) : undefined;
    return { principal, via: 'mcp', ...(client ? { client } : {}), requestId: String(ctx.mcpReq.id) };
  }

  /** Waits for a submitted command to end, telling the client each step (when it sent a progress token). */
  async #follow(submitted: Submitted, ctx: ServerContext): Promise<ToolAnswer> {
    const id = submitted.record.command!.id;
    const token = ctx.mcpReq._meta?.progressToken;
    let step = 0;
    const tell = (message: string) => {
      if (token === undefined) return;
      step += 1;
      void ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: step, message } }).catch(() => undefined);
    };
    try {
      const end = await waitForCommand(this.#d.commandsView, id, submitted.record, {
        onChange: (r) => tell(progressMessage(r)),
        onHeartbeat: (r) => tell(progressMessage(r)),
        heartbeatMs: this.#d.heartbeatMs ?? 10_000,
        signal: ctx.mcpReq.signal,
      });
      return commandAnswer(end);
    } catch (err) {
      if (err instanceof WaitAbortedError) return errorAnswer(`the call was cancelled; command ${id} goes on (get_command shows it)`);
      throw err;
    }
  }
}

const isSubmitted = (x: ToolAnswer | Submitted): x is Submitted => 'record' in x && 'duplicate' in x && !('content' in x);

function principalOf(extra: Record<string, unknown> | undefined): Principal | undefined {
  const p = extra?.principal as Principal | undefined;
  return p && typeof p.name === 'string' && typeof p.role === 'string' ? p : undefined;
}
