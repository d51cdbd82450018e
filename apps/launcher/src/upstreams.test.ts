import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@molten/kit';
import { configuredUpstreams, notConfigured, type Upstream } from './upstreams.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-upstreams-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('configured upstreams', () => {
  it('lists each configured URL without its credentials, and every MCP server of MOLTEN_CONFIG without its secrets', () => {
    const config = path.join(dir, 'molten.json');
    writeFileSync(
      config,
      JSON.stringify({
        mcpServers: {
          nas: { url: 'https://nas.lan/mcp?key=s3cr3t-query-key', headers: { Authorization: 'Bearer header-secret-123' } },
          local: { command: '/usr/local/bin/homelab-mcp', args: ['--token', 'arg-secret-456'], env: { TOKEN: 'env-secret-789' } },
        },
      }),
    );
    const got = configuredUpstreams({
      PVE_URL: 'https://root:pw-secret@pve1.lan:8006',
      PVE_TOKEN: 'molten@pve!molten=0000-token-secret',
      HOMELAB_MCP_URL: 'http://10.0.0.5:6971/mcp',
      MOLTEN_CONFIG: config,
    });
    expect(got).toEqual([
      { label: 'Proxmox VE', where: 'https://pve1.lan:8006', origin: 'configured', note: 'configured (PVE_URL)' },
      { label: 'Homelab MCP', where: 'http://10.0.0.5:6971/mcp', origin: 'configured', note: 'configured (HOMELAB_MCP_URL)' },
      { label: 'MCP server nas', where: 'https://nas.lan/mcp', origin: 'configured', note: 'configured (MOLTEN_CONFIG)' },
      { label: 'MCP server local', where: 'stdio: homelab-mcp', origin: 'configured', note: 'configured (MOLTEN_CONFIG)' },
    ]);
    expect(JSON.stringify(got)).not.toMatch(/secret/);
  });

  it('stops at a MOLTEN_CONFIG file that is not valid, saying why', () => {
    const config = path.join(dir, 'broken.json');
    writeFileSync(config, '{"mcpServers": {"nas": {"url": 42}}}');
    expect(() => configuredUpstreams({ MOLTEN_CONFIG: config })).toThrow(ConfigError);
    expect(() => configuredUpstreams({ MOLTEN_CONFIG: path.join(dir, 'missing.json') })).toThrow(/MOLTEN_CONFIG: cannot read/);
  });

  it('names the kinds nothing provides, with the setting that would', () => {
    const gateway: Upstream = { label: 'Agent gateway', where: 'ws://127.0.0.1:18789', origin: 'simulated', note: '' };
    expect(notConfigured({ PVE_URL: 'https://pve:8006' }, [gateway])).toEqual(['ProxmoxMCP-Plus (PROXMOX_MCP_URL)', 'Homelab MCP (HOMELAB_MCP_URL)']);
    // MCP servers in the config file stand in for HOMELAB_MCP_URL.
    expect(notConfigured({ PVE_URL: 'https://pve:8006', MOLTEN_CONFIG: 'x.json', MOLTBOT_URL: 'ws://gw:18789' }, [])).toEqual(['ProxmoxMCP-Plus (PROXMOX_MCP_URL)']);
  });
});
