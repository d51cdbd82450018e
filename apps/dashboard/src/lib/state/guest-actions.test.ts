import { describe, expect, test, vi } from 'vitest';
import { ApiError } from '$lib/api/client';
import type { Command } from '$lib/api/types';
import type { GuestActionName } from '$lib/infra/action-rules';
import { command, commandAt, guest } from '$lib/test/fixtures';
import { GuestActions } from './guest-actions.svelte';
import type { Toast } from './toasts.svelte';

function setup(o: { submit?: (vmid: number, action: GuestActionName, key: string) => Promise<Command>; seen?: Map<string, Command> } = {}) {
  let now = 1_000_000;
  const toasts: Omit<Toast, 'id'>[] = [];
  const keys: string[] = [];
  const seen = o.seen ?? new Map<string, Command>();
  const actions = new GuestActions({
    submit: async (_cluster, vmid, action, key) => {
      keys.push(key);
      return o.submit ? o.submit(vmid, action, key) : command({ id: `CMD${vmid}`, target: { kind: 'guest', cluster: 'homelab', vmid, node: 'pve1', type: 'qemu', action } });
    },
    command: (id) => seen.get(id),
    toast: (t) => toasts.push(t),
    now: () => now,
    newKey: () => `key-${keys.length + 1}`,
    settleMs: 5000,
  });
  return { actions, toasts, keys, advance: (ms: number) => (now += ms), now: () => now };
}

describe('optimistic guest actions', () => {
  test('a row turns optimistic at once, before the api answers', async () => {
    let answer!: (c: Command) => void;
    const { actions } = setup({ submit: () => new Promise((r) => (answer = r)) });
    const running = actions.run('homelab', guest({ vmid: 101 }), 'stop');
    expect(actions.label('homelab', 101)).toBe('stopping…');
    expect(actions.get('homelab', 101)?.phase).toBe('sending');
    answer(command({ id: 'A' }));
    await running;
    expect(actions.get('homelab', 101)).toMatchObject({ phase: 'requested', commandId: 'A' });
  });

  test('each intent carries its own idempotency key', async () => {
    const { actions, keys } = setup();
    await actions.run('homelab', guest({ vmid: 101 }), 'stop');
    await actions.run('homelab', guest({ vmid: 102 }), 'stop');
    expect(keys).toEqual(['key-1', 'key-2']);
  });

  test('follows the lifecycle, then waits for the real state before letting go', async () => {
    const { actions, toasts } = setup();
    await actions.run('homelab', guest({ vmid: 101 }), 'stop');
    const c = command({ id: 'CMD101' });
    actions.onCommand(commandAt(c, 'accepted'));
    expect(actions.get('homelab', 101)?.phase).toBe('accepted');
    actions.onCommand(commandAt(c, 'accepted', 'running'));
    expect(actions.get('homelab', 101)?.phase).toBe('running');
    actions.onCommand(commandAt(c, 'accepted', 'running', 'succeeded'));
    // Succeeded, but the guest still reads running: keep "stopping…" rather than flash back.
    expect(actions.label('homelab', 101)).toBe('stopping…');
    actions.onGuest('homelab', guest({ vmid: 101, status: 'running' }));
    expect(actions.label('homelab', 101)).toBe('stopping…');
    actions.onGuest('homelab', guest({ vmid: 101, status: 'stopped', qmpstatus: 'stopped' }));
    expect(actions.get('homelab', 101)).toBeUndefined();
    expect(toasts.map((t) => t.tone)).toEqual(['success']);
  });

  test('after success, a state that never comes does not keep the label forever', async () => {
    const { actions, advance } = setup();
    await actions.run('homelab', guest({ vmid: 101 }), 'shutdown');
    actions.onCommand(commandAt(command({ id: 'CMD101' }), 'accepted', 'running', 'succeeded'));
    actions.sweep();
    expect(actions.get('homelab', 101)).toBeDefined();
    advance(6000);
    actions.sweep();
    expect(actions.get('homelab', 101)).toBeUndefined();
  });

  test.each(['failed', 'timed_out', 'uncertain'] as const)('%s rolls back and toasts the reason with a link to the command', async (status) => {
    const { actions, toasts } = setup();
    await actions.run('homelab', guest({ vmid: 101, name: 'web-01' }), 'stop');
    actions.onCommand({
      ...commandAt(command({ id: 'CMD101' }), 'accepted', status),
      error: { code: 'forbidden', message: 'Permission check failed (/vms/101, VM.PowerMgmt)', privilege: 'VM.PowerMgmt', remedy: 'Grant VM.PowerMgmt to the token.' },
    });
    expect(actions.get('homelab', 101)).toBeUndefined();
    expect(actions.label('homelab', 101)).toBeUndefined();
    expect(toasts).toHaveLength(1);
    expect(toasts[0]).toMatchObject({ tone: 'error', href: '/commands/CMD101', remedy: 'Grant VM.PowerMgmt to the token.' });
    expect(toasts[0]!.title).toMatch(/Hard stop of web-01/);
    expect(toasts[0]!.message).toMatch(/Permission check failed.*Missing privilege: VM\.PowerMgmt/);
  });

  test('an error answer to the POST rolls back with its message', async () => {
    const { actions, toasts } = setup({
      submit: () => Promise.reject(new ApiError(503, 'upstream_unavailable', 'Proxmox VE (homelab) is down: connect ECONNREFUSED', { remedy: 'Check PVE_URL.' })),
    });
    await actions.run('homelab', guest({ vmid: 101, name: 'web-01' }), 'start');
    expect(actions.get('homelab', 101)).toBeUndefined();
    expect(toasts[0]).toMatchObject({ tone: 'error', message: 'Proxmox VE (homelab) is down: connect ECONNREFUSED', remedy: 'Check PVE_URL.' });
  });

  test('a 409 links to the command already in flight', async () => {
    const { actions, toasts } = setup({ submit: () => Promise.reject(new ApiError(409, 'conflict', 'guest 101 already has a command in progress', { commandId: 'OTHER' })) });
    await actions.run('homelab', guest({ vmid: 101 }), 'stop');
    expect(toasts[0]).toMatchObject({ href: '/commands/OTHER' });
  });

  test('a lifecycle that overtook the POST answer is not lost', async () => {
    const seen = new Map<string, Command>();
    const base = command({ id: 'FAST' });
    seen.set('FAST', { ...commandAt(base, 'accepted', 'failed'), error: { code: 'locked', message: 'VM is locked (backup)' } });
    const { actions, toasts } = setup({ submit: async () => base, seen });
    await actions.run('homelab', guest({ vmid: 101 }), 'stop');
    expect(actions.get('homelab', 101)).toBeUndefined();
    expect(toasts[0]!.message).toMatch(/VM is locked \(backup\)/);
  });

  test('several actions run at once, each on its own row', async () => {
    const { actions } = setup();
    await Promise.all([actions.run('homelab', guest({ vmid: 101 }), 'stop'), actions.run('homelab', guest({ vmid: 102, status: 'stopped' }), 'start')]);
    expect(actions.label('homelab', 101)).toBe('stopping…');
    expect(actions.label('homelab', 102)).toBe('starting…');
    actions.onCommand(commandAt(command({ id: 'CMD102' }), 'accepted', 'failed'));
    expect(actions.label('homelab', 101)).toBe('stopping…');
    expect(actions.label('homelab', 102)).toBeUndefined();
  });

  test('a second click on the same guest does not send a second command', async () => {
    const submit = vi.fn(async () => command({ id: 'ONE' }));
    const { actions } = setup({ submit });
    await actions.run('homelab', guest({ vmid: 101 }), 'stop');
    await actions.run('homelab', guest({ vmid: 101 }), 'stop');
    expect(submit).toHaveBeenCalledTimes(1);
  });

  test('commands of other guests or other tabs are ignored', async () => {
    const { actions } = setup();
    await actions.run('homelab', guest({ vmid: 101 }), 'stop');
    actions.onCommand(commandAt(command({ id: 'SOMEONE-ELSE' }), 'failed'));
    expect(actions.label('homelab', 101)).toBe('stopping…');
  });
});
