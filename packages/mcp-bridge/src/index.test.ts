import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The bridge is loaded by the proxmox-adapter whether it reaches ProxmoxMCP-Plus over native
 * MCP or over its REST bridge; in the second case it must not load the MCP SDK (some 20 MB a
 * process would otherwise carry). A fresh Node process imports it with a resolve hook that
 * reports every module of @modelcontextprotocol it is asked for.
 */
describe('@molten/mcp-bridge', () => {
  it('loads no module of the MCP SDK', async () => {
    const hook = `data:text/javascript,${encodeURIComponent(
      "export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes('@modelcontextprotocol')) process.stderr.write('SDK ' + r.url + '\\n'); return r; }",
    )}`;
    const script = `
      import { register } from 'node:module';
      register(${JSON.stringify(hook)});
      const bridge = await import('@molten/mcp-bridge');
      console.log(Object.keys(bridge).sort().join(','));
    `;
    const cwd = fileURLToPath(new URL('../../..', import.meta.url));
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd, timeout: 30_000 });
    expect(stderr).not.toContain('SDK ');
    // It did load: the public face is there.
    expect(stdout).toContain('McpToolCallHandler');
    expect(stdout).toContain('describeServer');
  });
});
