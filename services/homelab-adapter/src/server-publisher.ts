import type { AdapterScope } from '@molten/bus';
import type { UpstreamHealth, UpstreamServer } from '@molten/contracts';
import type { McpConnection } from '@molten/mcp-client';
import type { McpServerSpec } from './config.js';
// The MCP-to-Molten mapping and the tool-call handler: the only imports of them in this adapter.
import { DOMAIN, describeServer, upstreamHealth, type ServerIdentity } from './server-descriptor.js';
import { ToolCallHandler } from './tool-call-handler.js';

export { DOMAIN };

export interface ServerPublisherOptions {
  spec: McpServerSpec;
  conn: McpConnection;
  /** This replica's name: the reporter of what it publishes. */
  instance: string;
  /** Republish this often even when nothing changed (latency, last seen). */
  refreshMs: number;
  /** Called on every change of the connection's status or tools (the runtime's changed()). */
  changed(): void;
}

/**
 * One MCP server as a scope of the bus runtime (scope = the server's name): its state (kind
 * "server") published by the holder of the lease `mcp.<name>.publish` at once on every change of
 * status or tools and every refreshMs, its health in every heartbeat, and its tool calls taken
 * from the scope's shared command consumer. Every replica keeps its own connection (for tool
 * calls and its heartbeat), but only the leader's view reaches the state bucket.
 */
export class ServerPublisher implements AdapterScope {
  readonly scope: string;
  readonly lease = 'publish';
  readonly handler: ToolCallHandler;
  readonly descriptorRefreshMs: number;
  readonly #conn: McpConnection;
  readonly #who: ServerIdentity;
  #leader = false;

  constructor(o: ServerPublisherOptions) {
    this.scope = o.spec.name;
    this.descriptorRefreshMs = o.refreshMs;
    this.#conn = o.conn;
    this.#who = { name: o.spec.name, id: o.spec.id, demo: o.spec.demo, reporter: o.instance };
    this.handler = new ToolCallHandler({ conn: o.conn, name: o.spec.name, serverId: o.spec.id });
    o.conn.on('status', () => o.changed());
    o.conn.on('tools', () => o.changed());
  }

  /** Whether this replica publishes the server's state (holds its lease). */
  get leader(): boolean {
    return this.#leader;
  }

  onLeader(leader: boolean): void {
    this.#leader = leader;
  }

  health(leader: boolean): UpstreamHealth {
    return upstreamHealth(this.#conn, this.#who, leader);
  }

  /** A replica that started while the server was down keeps its last published tools listed (stale). */
  descriptors(last: (id: string) => UpstreamServer | undefined): UpstreamServer[] {
    return [describeServer(this.#conn, this.#who, last(this.#who.id))];
  }
}
