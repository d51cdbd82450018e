import { describe, expect, it } from 'vitest';
import { canTransition, CommandStatus, isTerminal } from './index.js';
import { decodeId, encodeId, parseStateSubject, subjects } from './subjects.js';

describe('subjects', () => {
  it('builds the documented state subject and KV key', () => {
    const a = { domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '101' };
    expect(subjects.state(a)).toBe('molten.state.proxmox.homelab.qemu.101');
    expect(subjects.stateKey(a)).toBe('proxmox.homelab.qemu.101');
    expect(subjects.command('proxmox', 'homelab', 'vm-stop')).toBe('molten.cmd.proxmox.homelab.vm-stop');
  });

  it.each(['pve1/local', 'pve1/zfs.pool', 'a b', 'ünïcode', 'x>y*z', 'a=b'])('keeps id %j one token and reversible', (id) => {
    const token = encodeId(id);
    expect(token).toMatch(/^[A-Za-z0-9_\-/=]+$/);
    expect(decodeId(token)).toBe(id);
    const parsed = parseStateSubject(subjects.state({ domain: 'proxmox', scope: 's', kind: 'storage', id }));
    expect(parsed).toEqual({ domain: 'proxmox', scope: 's', kind: 'storage', id });
  });

  it('refuses tokens that would break wildcards', () => {
    expect(() => subjects.command('proxmox', 'home.lab', 'vm-stop')).toThrow(/scope "home.lab"/);
    expect(() => subjects.command('proxmox', '*', 'vm-stop')).toThrow();
  });
});

describe('lifecycle', () => {
  it('allows the documented path and nothing out of a terminal state', () => {
    const S = CommandStatus;
    expect(canTransition(S.COMMAND_STATUS_REQUESTED, S.COMMAND_STATUS_ACCEPTED)).toBe(true);
    expect(canTransition(S.COMMAND_STATUS_ACCEPTED, S.COMMAND_STATUS_RUNNING)).toBe(true);
    expect(canTransition(S.COMMAND_STATUS_RUNNING, S.COMMAND_STATUS_SUCCEEDED)).toBe(true);
    expect(canTransition(S.COMMAND_STATUS_UNCERTAIN, S.COMMAND_STATUS_SUCCEEDED)).toBe(true);
    expect(canTransition(S.COMMAND_STATUS_REQUESTED, S.COMMAND_STATUS_RUNNING)).toBe(false);
    for (const t of [S.COMMAND_STATUS_SUCCEEDED, S.COMMAND_STATUS_FAILED, S.COMMAND_STATUS_TIMED_OUT]) {
      expect(isTerminal(t)).toBe(true);
      for (const to of Object.values(S).filter((v): v is CommandStatus => typeof v === 'number')) expect(canTransition(t, to)).toBe(false);
    }
    expect(isTerminal(S.COMMAND_STATUS_UNCERTAIN)).toBe(false);
  });
});
