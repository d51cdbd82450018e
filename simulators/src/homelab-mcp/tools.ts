import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CIDR, COMMON_PORTS, CONTAINER_STATES, HomelabModel, type Container } from './model.js';

export interface SimToolContext {
  model: HomelabModel;
  /** Aborted when the client cancels the call or the session closes. */
  signal: AbortSignal;
}

/** What a tool handler may return: a full MCP result, a text, or structured content (with an optional text). */
export type SimToolOutput = CallToolResult | string | { text?: string; structured: Record<string, unknown> };

export interface SimToolDefinition {
  title?: string;
  description: string;
  /** A zod schema (arguments are validated; listed as its JSON Schema), or a JSON Schema listed as is. */
  inputSchema?: z.ZodType | Record<string, unknown>;
  /** Listed as the tool's outputSchema; the handler's structured content must match it. */
  outputSchema?: z.ZodType;
  annotations?: Tool['annotations'];
  // `any`: the arguments were validated against inputSchema, whose shape each tool knows.
  handler: (args: any, ctx: SimToolContext) => Promise<SimToolOutput> | SimToolOutput;
}

export interface RegisteredTool {
  listing: Tool;
  parse: (args: unknown) => { ok: true; args: unknown } | { ok: false; message: string };
  handler: SimToolDefinition['handler'];
}

function isZod(s: unknown): s is z.ZodType {
  return typeof (s as { safeParse?: unknown } | undefined)?.safeParse === 'function';
}

export function registerTool(name: string, def: SimToolDefinition): RegisteredTool {
  const input = def.inputSchema ?? z.object({}).strict();
  const inputSchema = (isZod(input) ? z.toJSONSchema(input, { io: 'input' }) : input) as Tool['inputSchema'];
  const listing: Tool = {
    name,
    ...(def.title ? { title: def.title } : {}),
    description: def.description,
    inputSchema,
    ...(def.outputSchema ? { outputSchema: z.toJSONSchema(def.outputSchema, { io: 'output' }) as Tool['outputSchema'] } : {}),
    ...(def.annotations ? { annotations: def.annotations } : {}),
  };
  const parse: RegisteredTool['parse'] = (args) => {
    if (!isZod(input)) return { ok: true, args: args ?? {} };
    const r = input.safeParse(args ?? {});
    if (r.success) return { ok: true, args: r.data };
    const detail = r.error.issues.map((i) => `${i.message}${i.path.length ? ` at ${i.path.join('.')}` : ''}`).join('; ');
    // The words the SDK's McpServer uses, so that clients meet what real servers send.
    return { ok: false, message: `MCP error -32602: Input validation error: Invalid arguments for tool ${name}: ${detail}` };
  };
  return { listing, parse, handler: def.handler };
}

/** A handler's output as an MCP tool result. */
export function toResult(out: SimToolOutput): CallToolResult {
  if (typeof out === 'string') return { content: [{ type: 'text', text: out }] };
  if ('content' in out && Array.isArray(out.content)) return out as CallToolResult;
  const o = out as { text?: string; structured: Record<string, unknown> };
  return { content: [{ type: 'text', text: o.text ?? JSON.stringify(o.structured, null, 2) }], structuredContent: o.structured };
}

const containerRef = z.string().min(1).max(128).describe('Container name or ID (an ID prefix of at least 3 characters works)');
const stopTimeout = z.number().int().min(0).max(300).optional().describe('Seconds to wait for a clean stop before killing it (docker stop -t); 0 kills at once');

const portSchema = z.object({ host_ip: z.string(), host_port: z.number().int(), container_port: z.number().int(), protocol: z.enum(['tcp', 'udp']) });
const containerSchema = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  state: z.enum(CONTAINER_STATES),
  status: z.string(),
  health: z.enum(['healthy', 'unhealthy', 'starting']).optional(),
  created: z.string(),
  started_at: z.string().optional(),
  finished_at: z.string().optional(),
  exit_code: z.number().int().optional(),
  ports: z.array(portSchema),
  networks: z.array(z.string()),
  restart_policy: z.string(),
});

const scanSchema = z.object({
  subnet: z.string(),
  addresses_scanned: z.number().int(),
  ports_probed: z.array(z.number().int()),
  hosts_up: z.number().int(),
  hosts: z.array(
    z.object({
      ip: z.string(),
      hostname: z.string(),
      mac: z.string(),
      vendor: z.string(),
      open_ports: z.array(z.object({ port: z.number().int(), service: z.string() })),
      latency_ms: z.number(),
    }),
  ),
});

function formatPorts(c: Container): string {
  return c.ports.map((p) => `${p.host_ip}:${p.host_port}->${p.container_port}/${p.protocol}`).join(', ');
}

/** `docker ps -a` as text. */
function table(containers: Container[]): string {
  if (containers.length === 0) return 'No containers match.';
  const rows = [['CONTAINER ID', 'NAME', 'IMAGE', 'STATUS', 'PORTS'], ...containers.map((c) => [c.id, c.name, c.image, c.status, formatPorts(c)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('   ').trimEnd()).join('\n');
}

/** The simulated homelab server's own tools: Docker control and a network scan. */
export function homelabTools(): Record<string, SimToolDefinition> {
  return {
    list_containers: {
      title: 'List containers',
      description: 'Lists the Docker containers on the homelab host (like `docker ps -a`), optionally only those in one state or whose name contains a text.',
      inputSchema: z
        .object({
          state: z.enum(CONTAINER_STATES).optional().describe('Only containers in this state'),
          name: z.string().min(1).max(128).optional().describe('Only containers whose name contains this text'),
        })
        .strict(),
      outputSchema: z.object({ host: z.string(), count: z.number().int(), containers: z.array(containerSchema) }),
      annotations: { readOnlyHint: true, openWorldHint: false },
      handler: (args: { state?: (typeof CONTAINER_STATES)[number]; name?: string }, { model }) => {
        const containers = model.list(args);
        return { text: table(containers), structured: { host: model.dockerHost.hostname, count: containers.length, containers } };
      },
    },
    start_container: {
      title: 'Start a container',
      description: 'Starts a stopped container (docker start). Starting a running container changes nothing.',
      inputSchema: z.object({ container: containerRef }).strict(),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      handler: (args: { container: string }, { model }) => {
        const { container, changed } = model.start(args.container);
        return { text: changed ? `Started ${container.name} (${container.id})` : `${container.name} is already running`, structured: { changed, container } };
      },
    },
    stop_container: {
      title: 'Stop a container',
      description: 'Stops a running container (docker stop): SIGTERM, then SIGKILL after the timeout. Stopping a stopped container changes nothing.',
      inputSchema: z.object({ container: containerRef, timeout: stopTimeout }).strict(),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      handler: (args: { container: string; timeout?: number }, { model }) => {
        const { container, changed } = model.stop(args.container, args.timeout);
        return { text: changed ? `Stopped ${container.name} (${container.id})` : `${container.name} is not running`, structured: { changed, container } };
      },
    },
    restart_container: {
      title: 'Restart a container',
      description: 'Restarts a container (docker restart): stops it if it runs, then starts it.',
      inputSchema: z.object({ container: containerRef, timeout: stopTimeout }).strict(),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
      handler: (args: { container: string; timeout?: number }, { model }) => {
        const container = model.restart(args.container, args.timeout);
        return { text: `Restarted ${container.name} (${container.id})`, structured: { changed: true, container } };
      },
    },
    container_logs: {
      title: 'Container logs',
      description: 'Returns the last lines of a container\'s log (docker logs --tail N).',
      inputSchema: z
        .object({
          container: containerRef,
          tail: z.number().int().min(1).max(1000).default(50).describe('How many of the last lines to return'),
          timestamps: z.boolean().default(false).describe('Prefix each line with its RFC 3339 timestamp'),
        })
        .strict(),
      annotations: { readOnlyHint: true, openWorldHint: false },
      handler: (args: { container: string; tail: number; timestamps: boolean }, { model }) => {
        const { container, lines } = model.logs(args.container, args.tail, args.timestamps);
        return { text: lines.length ? lines.join('\n') : `(no log lines for ${container})`, structured: { container, lines } };
      },
    },
    network_scan: {
      title: 'Scan the network',
      description: 'Scans a subnet of the home network for hosts (ARP) and open TCP ports, like `nmap -sS`: hostname, MAC address and its vendor, open ports.',
      inputSchema: z
        .object({
          subnet: z.string().regex(CIDR, 'must be a subnet in CIDR notation, e.g. 192.168.1.0/24').default('192.168.1.0/24').describe('The subnet to scan, in CIDR notation'),
          ports: z.array(z.number().int().min(1).max(65535)).min(1).max(100).optional().describe(`TCP ports to probe (default: ${COMMON_PORTS.length} common ones)`),
        })
        .strict(),
      outputSchema: scanSchema,
      annotations: { readOnlyHint: true, openWorldHint: true },
      handler: (args: { subnet: string; ports?: number[] }, { model }) => {
        const scan = model.scan(args.subnet, args.ports);
        const lines = scan.hosts.map(
          (h) => `${h.ip.padEnd(15)} ${h.hostname.padEnd(18)} ${h.mac}  ${h.vendor.padEnd(26)} ${h.open_ports.map((p) => `${p.port}/${p.service}`).join(' ') || '-'}`,
        );
        const text = `Scanned ${scan.addresses_scanned} addresses of ${scan.subnet}: ${scan.hosts_up} hosts up\n${lines.join('\n')}`;
        return { text, structured: scan as unknown as Record<string, unknown> };
      },
    },
  };
}
