import { describe, expect, test } from 'vitest';
import type { Capability } from '$lib/api/types';
import { guest } from '$lib/test/fixtures';
import { guestActions } from './action-rules';

const actions = (m: ReturnType<typeof guestActions>) => m?.options.map((o) => o.action);
const op = { role: 'operator' as const };

describe('which actions a guest offers', () => {
  test('a viewer gets nothing at all (no buttons, not disabled ones)', () => {
    expect(guestActions(guest(), { role: 'viewer' })).toBeNull();
    expect(guestActions(guest(), { role: null })).toBeNull();
  });

  test('stopped: start only', () => {
    expect(actions(guestActions(guest({ status: 'stopped', qmpstatus: 'stopped' }), op))).toEqual(['start']);
  });

  test('running: shut down, reboot, and a hard stop that says so', () => {
    const m = guestActions(guest(), op)!;
    expect(actions(m)).toEqual(['shutdown', 'reboot', 'stop']);
    const stop = m.options.find((o) => o.action === 'stop')!;
    expect(stop.hard).toBe(true);
    expect(stop.label).toBe('Hard stop');
    expect(stop.description).toMatch(/plug/);
    expect(m.options.filter((o) => o.hard)).toHaveLength(1);
  });

  test('a running container gets the same as a VM', () => {
    expect(actions(guestActions(guest({ type: 'lxc', qmpstatus: undefined }), op))).toEqual(['shutdown', 'reboot', 'stop']);
  });

  test('paused VM: Resume, or the hard stop, with a note why no clean shutdown', () => {
    const m = guestActions(guest({ qmpstatus: 'paused' }), op)!;
    expect(actions(m)).toEqual(['resume', 'stop']);
    expect(m.note).toMatch(/paused: Resume continues it/);
  });

  test('a hibernated VM (stopped, lock suspended) offers Resume alone', () => {
    const m = guestActions(guest({ status: 'stopped', qmpstatus: 'stopped', lock: 'suspended' }), op)!;
    expect(actions(m)).toEqual(['resume']);
    expect(m.note).toMatch(/hibernated/);
  });

  test('the guest page adds Pause for a running VM, never for a container', () => {
    expect(actions(guestActions(guest(), op, { pause: true }))).toEqual(['shutdown', 'reboot', 'suspend', 'stop']);
    expect(actions(guestActions(guest({ type: 'lxc', qmpstatus: undefined }), op, { pause: true }))).toEqual(['shutdown', 'reboot', 'stop']);
  });

  test('locked: nothing, and the reason names the lock', () => {
    const m = guestActions(guest({ lock: 'backup' }), op)!;
    expect(m.options).toEqual([]);
    expect(m.blocked).toMatch(/Locked \(backup\)/);
    expect(guestActions(guest({ lock: 'migrate', status: 'stopped' }), op)!.options).toEqual([]);
  });

  test('template: nothing, with the reason', () => {
    const m = guestActions(guest({ template: true, status: 'stopped' }), op)!;
    expect(m.options).toEqual([]);
    expect(m.blocked).toMatch(/template/);
  });

  test('unknown state: nothing rather than a guess', () => {
    expect(guestActions(guest({ status: 'unknown' }), op)!.blocked).toMatch(/unknown/);
  });

  test('an unavailable capability is shown disabled with its reason', () => {
    const caps: Capability[] = [
      { action: 'vm-start', available: true },
      { action: 'vm-shutdown', available: true },
      { action: 'vm-stop', available: true },
      { action: 'vm-reboot', available: false, reason: 'ProxmoxMCP-Plus has no graceful reboot tool' },
    ];
    const m = guestActions(guest(), { ...op, capabilities: caps })!;
    const reboot = m.options.find((o) => o.action === 'reboot')!;
    expect(reboot.available).toBe(false);
    expect(reboot.reason).toMatch(/no graceful reboot tool/);
    expect(m.options.filter((o) => o.available).map((o) => o.action)).toEqual(['shutdown', 'stop']);
  });

  test('a missing privilege is named', () => {
    const m = guestActions(guest({ status: 'stopped' }), { ...op, capabilities: [{ action: 'vm-start', available: false, reason: 'the API token lacks VM.PowerMgmt', privilege: 'VM.PowerMgmt' }] })!;
    expect(m.options[0]!.reason).toMatch(/VM\.PowerMgmt/);
    expect(m.options[0]!.reason).not.toMatch(/needs VM\.PowerMgmt/);
  });

  test('an action in flight disables the others', () => {
    const m = guestActions(guest(), { ...op, pending: 'shutdown' })!;
    expect(m.options.every((o) => !o.available && /Shut down is already in progress/.test(o.reason!))).toBe(true);
  });

  test('an upstream that is down disables actions with its reason', () => {
    const m = guestActions(guest(), { ...op, upstreamProblem: 'Proxmox VE is auth failed: 401' })!;
    expect(m.options.every((o) => !o.available && o.reason === 'Proxmox VE is auth failed: 401')).toBe(true);
  });
});
