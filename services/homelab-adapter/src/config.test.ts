import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@molten/kit';
import { DEMO_HOMELAB_MCP_URL, loadConfig } from './config.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-homelab-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: unknown) => {
  const p = path.join(dir, name);
  writeFileSync(p, JSON.stringify(content));
  return p;
};

describe('homelab-adapter config', () => {
  it('turns HOMELAB_MCP_URL and the config file into servers, with per-server limits', () => {
    const c = loadConfig({
      HOMELAB_MCP_URL: 'http://nas.lan:6971/mcp',
      HOMELAB_MCP_TOKEN: 'homelab-token-123',
      MCP_RATE_LIMIT_RPM: '120',
      MOLTEN_CONFIG: file('a.json', {
        mcpServers: {
          docker: { url: 'https://docker.lan/mcp', headers: { Authorization: 'Bearer abcdef123456' }, transport: 'sse' },
          files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'], env: { DEBUG: '1' } },
        },
        mcpServerOptions: { docker: { rateLimitRpm: 30, maxConcurrency: 2 }, homelab: { pingMs: 10_000 } },
      }),
    });
    expect(c.demo).toBe(false);
    expect(c.servers.map((s) => [s.name, s.id])).toEqual([['homelab', 'mcp-homelab'], ['docker', 'mcp-docker'], ['files', 'mcp-files']]);
    expect(c.servers[0]).toMatchObject({ endpoint: { url: 'http://nas.lan:6971/mcp', bearerToken: 'homelab-token-123', transport: 'auto' }, rateLimitRpm: 120, maxConcurrency: 8, pingMs: 10_000 });
    expect(c.servers[1]).toMatchObject({ endpoint: { transport: 'sse' }, rateLimitRpm: 30, maxConcurrency: 2, pingMs: 5_000 });
    expect(c.servers[2]!.endpoint).toEqual({ command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'], env: { DEBUG: '1' }, cwd: undefined });
  });

  it('falls back to demo mode (the simulator on :6971) when nothing is configured', () => {
    const c = loadConfig({});
    expect(c.demo).toBe(true);
    expect(c.servers).toHaveLength(1);
    expect(c.servers[0]).toMatchObject({ name: 'homelab', demo: true, endpoint: { url: DEMO_HOMELAB_MCP_URL } });
    expect(c.servers[0]!.hints.unreachable).toContain('simulator');
  });

  it('says what to set when demo mode is off and nothing is configured', () => {
    expect(() => loadConfig({ MOLTEN_DEMO: '0' })).toThrow(/set HOMELAB_MCP_URL/);
  });

  it('refuses a second "homelab", options for unknown servers and bad values, naming them', () => {
    expect(() => loadConfig({ HOMELAB_MCP_URL: 'http://a/mcp', MOLTEN_CONFIG: file('b.json', { mcpServers: { homelab: { url: 'http://b/mcp' } } }) })).toThrow(/"homelab" is defined in/);
    expect(() => loadConfig({ HOMELAB_MCP_URL: 'http://a/mcp', MOLTEN_CONFIG: file('c.json', { mcpServerOptions: { nas: { pingMs: 1000 } } }) })).toThrow(/mcpServerOptions.nas names no configured server/);
    expect(() => loadConfig({ HOMELAB_MCP_URL: 'http://a/mcp', MOLTEN_CONFIG: file('d.json', { mcpServerOptions: { homelab: { rpm: 5 } } }) })).toThrow(ConfigError);
    expect(() => loadConfig({ HOMELAB_MCP_URL: 'ftp://a' })).toThrow(/HOMELAB_MCP_URL: must be a URL starting with http:\/\/ or https:\/\//);
    expect(() => loadConfig({ HOMELAB_MCP_URL: 'http://a/mcp', MCP_PING_MS: '5' })).toThrow(/MCP_PING_MS/);
  });
});
