import { describe, expect, expectTypeOf, it } from 'vitest';
import { canTransition, CommandStatus, isTerminal, type Command } from './index.js';
import {
  GUEST_ACTIONS,
  OTHER_ACTIONS,
  POWER_ACTIONS,
  SNAPSHOT_ACTIONS,
  SUSPEND_RESUME_ACTIONS,
  isGuestActionToken,
  powerActionToken,
  snapshotActionToken,
  snapshotNameProblem,
  suspendResumeToken,
  type GuestActionPayload,
} from './guest-actions.js';
import { MESSAGE_TYPES } from './codec.js';
import { COMMAND_ERROR_CODES, commandError, isCommandErrorCode } from './command-errors.js';
import { QUERY_NAMES, QUERY_TYPES, decodeId, encodeId, parseQuerySubject, parseStateSubject, queryQueue, subjects } from './subjects.js';

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

  it('writes a plain id (a vmid, a node name) as itself, and reads it back', () => {
    for (const id of ['101', 'pve1', 'pve1/local-lvm', 'web_2']) {
      expect(encodeId(id)).toBe(id);
      expect(decodeId(id)).toBe(id);
    }
    expect(encodeId('pve1/local.zfs')).toBe('pve1/local=2Ezfs');
    expect(() => encodeId('')).toThrow(/empty id/);
  });

  it('refuses tokens that would break wildcards', () => {
    expect(() => subjects.command('proxmox', 'home.lab', 'vm-stop')).toThrow(/scope "home.lab"/);
    expect(() => subjects.command('proxmox', '*', 'vm-stop')).toThrow();
  });
});

describe('queries', () => {
  it('builds molten.query.<domain>.<scope>.<what>, the replicas\' wildcard and queue group', () => {
    expect(subjects.query('proxmox', 'homelab', 'guest-rrd')).toBe('molten.query.proxmox.homelab.guest-rrd');
    expect(subjects.queriesFor('proxmox', 'homelab')).toBe('molten.query.proxmox.homelab.*');
    expect(subjects.all.queries).toBe('molten.query.>');
    expect(queryQueue('proxmox', 'homelab')).toBe('molten-query-proxmox-homelab');
    expect(parseQuerySubject('molten.query.proxmox.homelab.task-log')).toEqual({ domain: 'proxmox', scope: 'homelab', what: 'task-log' });
    expect(parseQuerySubject('molten.cmd.proxmox.homelab.vm-stop')).toBeUndefined();
    expect(() => subjects.query('proxmox', 'home.lab', 'guest-rrd')).toThrow(/scope "home.lab"/);
  });

  it('names a registered request and reply message for every query', () => {
    expect(QUERY_NAMES).toEqual(['guest-rrd', 'node-rrd', 'guest-config', 'guest-addresses', 'guest-tasks', 'task-log', 'guest-snapshots', 'ha-status', 'session-history']);
    expect(QUERY_NAMES.map((q) => QUERY_TYPES[q].domain)).toEqual([...Array(8).fill('proxmox'), 'moltbot']);
    for (const what of QUERY_NAMES) {
      expect(MESSAGE_TYPES, QUERY_TYPES[what].request).toHaveProperty([QUERY_TYPES[what].request]);
      expect(MESSAGE_TYPES, QUERY_TYPES[what].reply).toHaveProperty([QUERY_TYPES[what].reply]);
    }
  });
});

describe('guest actions', () => {
  it('classes stop, shutdown, reboot, suspend, rollback and delete destructive, and names the privileges', () => {
    expect(Object.entries(GUEST_ACTIONS).filter(([, a]) => a.safety === 'destructive').map(([t]) => t)).toEqual([
      'vm-stop',
      'vm-shutdown',
      'vm-reboot',
      'vm-suspend',
      'snapshot-rollback',
      'snapshot-delete',
    ]);
    expect(GUEST_ACTIONS['snapshot-create'].privileges).toEqual(['VM.Snapshot']);
    expect(isGuestActionToken('vm-resume')).toBe(true);
    expect(isGuestActionToken('vm-stop')).toBe(true);
    expect(isGuestActionToken('vm-reset')).toBe(false);
  });

  it('reads each payload\'s actions from the table, each with its subject token', () => {
    expect(POWER_ACTIONS).toEqual(['start', 'stop', 'shutdown', 'reboot']);
    expect(POWER_ACTIONS.map(powerActionToken)).toEqual(['vm-start', 'vm-stop', 'vm-shutdown', 'vm-reboot']);
    expect(SNAPSHOT_ACTIONS.map(snapshotActionToken)).toEqual(['snapshot-create', 'snapshot-rollback', 'snapshot-delete']);
    expect(SUSPEND_RESUME_ACTIONS.map(suspendResumeToken)).toEqual(['vm-suspend', 'vm-resume']);
    for (const token of [...POWER_ACTIONS.map(powerActionToken), ...SNAPSHOT_ACTIONS.map(snapshotActionToken), ...SUSPEND_RESUME_ACTIONS.map(suspendResumeToken)]) {
      expect(isGuestActionToken(token), token).toBe(true);
    }
    // The table's payload kinds are exactly the Command payloads, with the two that are not guest actions.
    expectTypeOf<GuestActionPayload | (typeof OTHER_ACTIONS)[keyof typeof OTHER_ACTIONS]['payload']>().toEqualTypeOf<NonNullable<Command['payload']>['$case']>();
  });

  it.each([
    ['before-upgrade', undefined, undefined],
    ['a1', 'qemu', undefined],
    ['1st', 'qemu', /start with a letter/],
    ['x', 'qemu', /at least 2/],
    ['has space', 'qemu', /only letters/],
    [`a${'b'.repeat(40)}`, 'qemu', /at most 40/],
    ['current', 'lxc', /reserved/],
    ['Pending', 'qemu', /reserved by Proxmox for VMs/],
    ['pending', 'lxc', undefined],
    ['vzdump', 'lxc', /reserved by Proxmox for containers/],
    ['vzdump', 'qemu', undefined],
  ] as const)('snapshot name %j on %s', (name, type, problem) => {
    const p = snapshotNameProblem(name, type);
    if (problem) expect(p).toMatch(problem);
    else expect(p).toBeUndefined();
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

describe('command errors', () => {
  it('builds a whole CommandError from a listed code, the optional parts empty unless given', () => {
    expect(commandError('locked', 'VM 101 is locked (backup)')).toEqual({ code: 'locked', message: 'VM 101 is locked (backup)', upstreamStatus: '', remedy: '', privilege: '', fields: {} });
    expect(commandError('forbidden', 'no', { privilege: 'VM.PowerMgmt', upstreamStatus: '403' })).toMatchObject({ privilege: 'VM.PowerMgmt', upstreamStatus: '403', remedy: '' });
    expect(isCommandErrorCode('tool_error')).toBe(true);
    expect(isCommandErrorCode('toString')).toBe(false);
    for (const meaning of Object.values(COMMAND_ERROR_CODES)) expect(meaning.length).toBeGreaterThan(20);
  });
});
