import { redactCommandLine, scrub } from '@molten/kit';

/** A remote MCP server, in the shape MCP clients' config files use (plus a bearer token). */
export interface RemoteEndpoint {
  url: string;
  headers?: Record<string, string>;
  /** Sent as `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** "auto" (default): Streamable HTTP, falling back to the older SSE transport on a 4xx. */
  transport?: 'auto' | 'streamable-http' | 'sse';
}

/** A local MCP server started as a child process that speaks MCP on stdin/stdout. */
export interface StdioEndpoint {
  command: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export type McpEndpoint = RemoteEndpoint | StdioEndpoint;

/** The transport a connection actually uses. */
export type McpTransportKind = 'streamable-http' | 'sse' | 'stdio';

export function isStdio(e: McpEndpoint): e is StdioEndpoint {
  return 'command' in e;
}

/** Where the server is, fit for logs, state and the dashboard: no credentials, no query values. */
export function describeEndpoint(e: McpEndpoint): string {
  if (isStdio(e)) return `stdio:${redactCommandLine(e.command, e.args, e.env)}`;
  try {
    const u = new URL(e.url);
    u.username = '';
    u.password = '';
    for (const key of [...u.searchParams.keys()]) u.searchParams.set(key, '***');
    u.hash = '';
    return scrub(u.toString().replace(/%2A%2A%2A/g, '***'));
  } catch {
    return '(invalid URL)';
  }
}

/** The headers every HTTP request carries: the configured ones and the bearer token. */
export function requestHeaders(e: RemoteEndpoint): Record<string, string> {
  const headers: Record<string, string> = { ...(e.headers ?? {}) };
  if (e.bearerToken) headers.Authorization = `Bearer ${e.bearerToken}`;
  return headers;
}

export function hasCredentials(e: McpEndpoint): boolean {
  if (isStdio(e)) return false;
  if (e.bearerToken) return true;
  return Object.keys(e.headers ?? {}).some((h) => /^(authorization|x-api-key|api-key|cookie)$/i.test(h));
}
