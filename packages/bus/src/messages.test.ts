import { describe, expect, it } from 'vitest';
import { headers } from '@nats-io/nats-core';
import { encodeMessage, type Command } from '@molten/contracts';
import { MalformedMessageError, decodeBus, encodeBus } from './messages.js';

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
