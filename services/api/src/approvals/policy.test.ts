import { describe, expect, it } from 'vitest';
import { decide, type PolicyTable } from './policy.js';

const policy: PolicyTable = {
  molten: { stop: 'deny', start: 'allow', reboot: 'ask' },
  homelab: { wipe: 'deny', restart_container: 'allow', list_containers: 'ask' },
};

describe('decide', () => {
  it('refuses a denied tool to everyone, operators too', () => {
    for (const role of ['operator', 'agent', 'viewer'] as const) {
      expect(decide(policy, { serverId: 'molten', tool: 'stop', safety: 'destructive', role })).toBe('deny');
      expect(decide(policy, { serverId: 'homelab', tool: 'wipe', safety: 'destructive', role })).toBe('deny');
    }
  });

  it('lets an operator run anything not denied, unasked', () => {
    expect(decide(policy, { serverId: 'molten', tool: 'reboot', safety: 'destructive', role: 'operator' })).toBe('run');
    expect(decide(undefined, { serverId: 'molten', tool: 'stop', safety: 'destructive', role: 'operator' })).toBe('run');
  });

  it('makes an agent wait for change and destructive calls without a rule, and run reads', () => {
    expect(decide(undefined, { serverId: 'molten', tool: 'stop', safety: 'destructive', role: 'agent' })).toBe('ask');
    expect(decide(policy, { serverId: 'molten', tool: 'resume', safety: 'change', role: 'agent' })).toBe('ask');
    expect(decide(policy, { serverId: 'homelab', tool: 'get_logs', safety: 'read', role: 'agent' })).toBe('run');
  });

  it('follows allow and ask for agents, whatever the safety', () => {
    expect(decide(policy, { serverId: 'molten', tool: 'start', safety: 'change', role: 'agent' })).toBe('run');
    expect(decide(policy, { serverId: 'homelab', tool: 'restart_container', safety: 'destructive', role: 'agent' })).toBe('run');
    expect(decide(policy, { serverId: 'homelab', tool: 'list_containers', safety: 'read', role: 'agent' })).toBe('ask');
  });

  it('does not find rules on inherited names', () => {
    expect(decide(policy, { serverId: '__proto__', tool: 'toString', safety: 'read', role: 'agent' })).toBe('run');
    expect(decide(policy, { serverId: 'molten', tool: 'constructor', safety: 'destructive', role: 'agent' })).toBe('ask');
  });
});

describe('MOLTEN_CONFIG policy', () => {
  it('accepts allow/ask/deny per server and tool, and names a bad rule', async () => {
    const { configFileSchema } = await import('@molten/kit');
    expect(configFileSchema.parse({ policy: { molten: { stop: 'ask' } } }).policy).toEqual({ molten: { stop: 'ask' } });
    const bad = configFileSchema.safeParse({ policy: { molten: { stop: 'maybe' } } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['policy', 'molten', 'stop']);
  });
});
