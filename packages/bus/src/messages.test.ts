import { describe, expect, it } from 'vitest';
import { headers } from '@nats-io/nats-core';
import { encodeMessage, subjects, type Command, type Guest } from '@molten/contracts';
import { MalformedMessageError, busHeaders, decodeBus, decodeBySubject, decodeCommandRecord, decodeStateValue, encodeBus } from './messages.js';

const command: Command = {
  id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
  correlationId: 'c',
  actor: { kind: 'user', name: 'op', role: 'operator' },
  domain: 'proxmox',
  scope: 'homelab',
  action: 'vm-stop',
  createdAtMs: 1,
  acceptByMs: 2,
  deadlineMs: 3,
  idempotencyKey: '', reason: '',
  payload: { $case: 'power', value: { vmid: 101, action: 'stop', node: 'pve1', type: 'qemu' } },
};

describe('bus messages', () => {
  it('round-trips a command with its type header', () => {
    const { data, headers: h } = encodeBus('molten.v1.Command', command);
    expect(h.get('molten-type')).toBe('molten.v1.Command');
    expect(h.get('content-type')).toBe('application/x-protobuf');
    const d = decodeBus({ subject: 's', data, headers: h }, ['molten.v1.Command']);
    expect(d.value).toEqual(command);
    expect(d.removed).toBe(false);
  });

  it.each([
    ['no type header', () => ({ subject: 's', data: new Uint8Array([1]) }), /no molten-type header/],
    ['an unknown type', () => withType('molten.v1.Nope', new Uint8Array()), /unknown message type "molten.v1.Nope"/],
    ['another type than expected', () => withType('molten.v1.Guest', new Uint8Array()), /expected molten.v1.Command, got molten.v1.Guest/],
    ['bytes that are not protobuf', () => withType('molten.v1.Command', new Uint8Array([0xff, 0xff, 0xff])), /not a valid molten.v1.Command/],
    ['a command without payload', () => withType('molten.v1.Command', encodeMessage('molten.v1.Command', { ...command, payload: undefined })), /has no payload/],
    ['a vmid outside Proxmox range', () => withType('molten.v1.Command', encodeMessage('molten.v1.Command', { ...command, payload: { $case: 'power', value: { vmid: 7, action: 'stop', node: '', type: '' } } })), /vmid/],
    ['an id that is not a ULID', () => withType('molten.v1.Command', encodeMessage('molten.v1.Command', { ...command, id: 'x' })), /ULID/],
  ])('rejects %s with a reason', (_name, make, reason) => {
    const msg = make();
    expect(() => decodeBus(msg, ['molten.v1.Command'])).toThrow(MalformedMessageError);
    expect(() => decodeBus(msg, ['molten.v1.Command'])).toThrow(reason);
  });
});

function withType(type: string, data: Uint8Array) {
  const h = headers();
  h.set('molten-type', type);
  return { subject: 'molten.cmd.proxmox.homelab.vm-stop', data, headers: h };
}

const guest: Guest = {
  cluster: 'homelab', vmid: 101, name: 'web', node: 'pve1', type: 'qemu', status: 'running', qmpstatus: 'running',
  cpu: 0, maxcpu: 1, mem: 0, maxmem: 1, disk: 0, maxdisk: 1, uptime: 0, tags: [], template: false,
  netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [],
};
const at = (kind: string, id: string) => ({ domain: 'proxmox', scope: 'homelab', kind, id });

describe('a message must fit its subject', () => {
  it('takes a Guest on its own guest subject, and a removal', () => {
    const { data, headers: h } = encodeBus('molten.v1.Guest', guest);
    expect(decodeBySubject({ subject: subjects.state(at('qemu', '101')), data, headers: h }).value).toEqual(guest);
    const del = busHeaders('molten.v1.Guest', { 'molten-op': 'DEL' });
    expect(decodeBySubject({ subject: subjects.state(at('qemu', '101')), data: new Uint8Array(), headers: del }).removed).toBe(true);
  });

  it.each([
    ['a Guest on a server subject', subjects.state(at('server', 'pve')), 'molten.v1.Guest', /expected molten.v1.UpstreamServer, got molten.v1.Guest/],
    ['a Guest on another guest\'s subject', subjects.state(at('qemu', '102')), 'molten.v1.Guest', /its id "101" is not the one/],
    ['a Guest on a kind that does not exist', 'molten.state.proxmox.homelab.widget.x', 'molten.v1.Guest', /no known kind/],
    ['a Guest on a command status subject', subjects.commandStatus('01JABCDEFGHJKMNPQRSTVWXYZ0'), 'molten.v1.Guest', /expected molten.v1.CommandTransition/],
  ] as const)('refuses %s', (_what, subject, type, why) => {
    const data = encodeMessage('molten.v1.Guest', guest);
    expect(() => decodeBySubject({ subject, data, headers: busHeaders(type) })).toThrow(why);
    expect(() => decodeBySubject({ subject, data, headers: busHeaders(type) })).toThrow(MalformedMessageError);
  });

  it('refuses a removal (molten-op: DEL) anywhere but on a state subject: it would skip validation', () => {
    const del = busHeaders('molten.v1.CommandTransition', { 'molten-op': 'DEL' });
    expect(() => decodeBySubject({ subject: subjects.commandStatus('01JABCDEFGHJKMNPQRSTVWXYZ0'), data: new Uint8Array(), headers: del })).toThrow(/DEL on a subject that holds no state/);
  });

  it('reads a KV state value as its key\'s kind and refuses one of another kind or another id', () => {
    const data = encodeMessage('molten.v1.Guest', guest);
    expect(decodeStateValue(subjects.stateKey(at('qemu', '101')), data).value).toMatchObject({ vmid: 101 });
    expect(() => decodeStateValue(subjects.stateKey(at('server', 'pve')), data)).toThrow(MalformedMessageError);
    expect(() => decodeStateValue(subjects.stateKey(at('storage', 'pve1/local')), data)).toThrow(MalformedMessageError);
    expect(() => decodeStateValue(subjects.stateKey(at('qemu', '102')), data)).toThrow(/not the one/);
    expect(() => decodeStateValue('proxmox.homelab.qemu.101', new Uint8Array([0xff, 0xff, 0xff]))).toThrow(MalformedMessageError);
  });

  it('refuses times no Date can hold (readers turn them into ISO text)', () => {
    const at = 9e15; // an int64 protobuf carries, past the year 275760
    const progress = encodeBus('molten.v1.CommandProgress', { commandId: '01JABCDEFGHJKMNPQRSTVWXYZ0', seq: 1, atMs: at, stream: 'stdout', text: 'x' });
    expect(() => decodeBySubject({ subject: subjects.commandProgress('01JABCDEFGHJKMNPQRSTVWXYZ0'), ...progress })).toThrow(/not a time/);
    const transition = encodeBus('molten.v1.CommandTransition', { commandId: '01JABCDEFGHJKMNPQRSTVWXYZ0', status: 3, atMs: at, message: '', by: 'x', upstreamTaskId: '', resultJson: '' });
    expect(() => decodeBySubject({ subject: subjects.commandStatus('01JABCDEFGHJKMNPQRSTVWXYZ0'), ...transition })).toThrow(/not a time/);
  });

  it('refuses a garbage command record', () => {
    expect(() => decodeCommandRecord('cmd.x', new Uint8Array([0x0a, 0x03, 0x01, 0x02, 0x03, 0x10, 0x63]))).toThrow(MalformedMessageError);
    expect(() => decodeCommandRecord('cmd.x', new Uint8Array([0xff]))).toThrow(MalformedMessageError);
  });
});
