import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Tool } from '@modelcontextprotocol/client';
import { freePort, waitForPort } from './ports.js';

/** @modelcontextprotocol/server-everything's entry point, as installed in the workspace. */
export const EVERYTHING_BIN = fileURLToPath(new URL('../../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));

/**
 * The MCP reference server on a free port, in a child process (it binds every interface, which
 * is fine for tests). Streamable HTTP serves /mcp; SSE serves /sse (+ /message).
 */
export async function startEverything(mode: 'streamableHttp' | 'sse'): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [EVERYTHING_BIN, mode], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d) => (output = (output + d).slice(-4_000)));
  proc.stderr!.on('data', (d) => (output = (output + d).slice(-4_000)));
  try {
    await waitForPort(port, '127.0.0.1', 15_000);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`server-everything (${mode}) did not start: ${(err as Error).message}\n${output}`);
  }
  return {
    url: `http://127.0.0.1:${port}${mode === 'sse' ? '/sse' : '/mcp'}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 3_000).unref();
      }),
  };
}

/**
 * Every tool a plain SDK client lists (all pages): what a connection must report. The v2 client
 * negotiates the generation (`auto`); SSE is the 2025 generation only.
 */
export async function listToolsDirectly(url: string, opts: { sse?: boolean; token?: string } = {}): Promise<Tool[]> {
  // Loaded here, not at the top: most tests import the testkit without needing an MCP client.
  const { Client, SSEClientTransport, StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client');
  const client = new Client({ name: 'reference', version: '1' }, { versionNegotiation: { mode: opts.sse ? 'legacy' : 'auto' } });
  const requestInit = opts.token ? { headers: { Authorization: `Bearer ${opts.token}` } } : undefined;
  await client.connect(opts.sse ? new SSEClientTransport(new URL(url), { requestInit }) : new StreamableHTTPClientTransport(new URL(url), { requestInit }));
  try {
    return (await client.listTools()).tools;
  } finally {
    await client.close();
  }
}
