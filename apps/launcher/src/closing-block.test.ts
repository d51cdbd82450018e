import { describe, expect, it } from 'vitest';
import { closingBlock, type RunningStack } from './closing-block.js';

const base: RunningStack = {
  url: 'http://127.0.0.1:3003',
  grpc: '127.0.0.1:50051',
  token: { value: 'molten_abc', file: '.molten/operator-token', generated: false },
  nats: { url: 'nats://127.0.0.1:4222', localStore: '.molten/nats' },
  demo: false,
  upstreams: [],
  notConfigured: [],
  services: ['api'],
  consoleNames: [],
};

describe('the closing block', () => {
  it('lists each configured upstream with its address and each simulated one marked as such', () => {
    const text = closingBlock({
      ...base,
      demo: true,
      upstreams: [
        { label: 'Proxmox VE', where: 'https://pve1.lan:8006', origin: 'configured', note: 'configured (PVE_URL)' },
        { label: 'Homelab MCP', where: 'http://10.0.0.5:6971/mcp', origin: 'configured', note: 'configured (HOMELAB_MCP_URL)' },
        { label: 'Agent gateway', where: 'ws://127.0.0.1:18789', origin: 'simulated', note: 'Moltbot/OpenClaw, protocol 3' },
      ],
      notConfigured: ['ProxmoxMCP-Plus (PROXMOX_MCP_URL)'],
      services: ['api', 'proxmox-adapter', 'homelab-adapter', 'moltbot-adapter'],
      consoleNames: ['gateway'],
    });
    const lines = text.split('\n');
    expect(lines).toContain('  Proxmox VE       https://pve1.lan:8006      configured (PVE_URL)');
    expect(lines).toContain('  Homelab MCP      http://10.0.0.5:6971/mcp   configured (HOMELAB_MCP_URL)');
    expect(lines).toContain('  Agent gateway    ws://127.0.0.1:18789       simulated: Moltbot/OpenClaw, protocol 3');
    expect(lines).toContain('  Not configured   ProxmoxMCP-Plus (PROXMOX_MCP_URL)');
    expect(lines).toContain('  Services         api, proxmox-adapter, homelab-adapter, moltbot-adapter');
    expect(text).toContain('type "stop gateway" and Enter');
    expect(text).toMatch(/demo mode: what is marked "simulated" is not a real upstream/);
  });

  it('shows the token once, saying where it is kept and whether it was just generated; a configured one is never printed', () => {
    expect(closingBlock(base).match(/molten_abc/g)).toHaveLength(1);
    expect(closingBlock(base)).toContain('molten_abc   (operator; kept in .molten/operator-token;');
    expect(closingBlock({ ...base, token: { ...(base.token as object), generated: true } as RunningStack['token'] })).toContain('(operator; generated now, kept in');
    const configured = closingBlock({ ...base, token: 'configured' });
    expect(configured).toContain('Token            (your MOLTEN_TOKEN)');
  });

  it("names Molten's MCP endpoint only when an agent token is set", () => {
    expect(closingBlock(base)).not.toContain('/mcp');
    expect(closingBlock({ ...base, agentEndpoint: true }).split('\n')).toContain('  MCP for agents   http://127.0.0.1:3003/mcp   (your MOLTEN_AGENT_TOKEN; docs/mcp-endpoint.md)');
  });

  it('without demo mode or a console, says neither', () => {
    const text = closingBlock(base);
    expect(text).not.toMatch(/demo|simulated|stop /);
    expect(text.trimEnd().endsWith('Ctrl-C stops everything.')).toBe(true);
  });

  it("names the local bus's passwords file, never a password; a configured NATS_URL is shown without its credentials", () => {
    const local = closingBlock({ ...base, nats: { url: 'nats://127.0.0.1:4222', localStore: '.molten/nats', passwordsFile: '.molten/nats.env' } }).split('\n');
    expect(local).toContain('  NATS             nats://127.0.0.1:4222   (local, data in .molten/nats)');
    expect(local).toContain('  NATS users       one per service; passwords in .molten/nats.env (tools that only read: user "reader", MOLTEN_NATS_READER_PASSWORD)');

    const external = closingBlock({ ...base, nats: { url: 'nats://api:s3cret-pass@nats1.lan:4222, tls://s3cret-token@nats2.lan:4222,nats3.lan:4222' } });
    expect(external.split('\n')).toContain('  NATS             nats://nats1.lan:4222,tls://nats2.lan:4222,nats3.lan:4222');
    expect(external).not.toMatch(/s3cret|NATS users/);
  });
});
