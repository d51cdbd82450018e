import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommandRecord, CommandStatus, type Command } from '@molten/contracts';
import { mayCarryApproval } from './record-scan.js';

const command: Command = {
  id: '01JAPPROVALSCAN00000000000',
  correlationId: '01JAPPROVALSCAN00000000000',
  actor: { kind: 'agent', name: 'claude', role: 'agent' },
  domain: 'proxmox',
  scope: 'homelab',
  action: 'vm-stop',
  createdAtMs: 1_760_000_000_000,
  acceptByMs: 1_760_000_015_000,
  deadlineMs: 1_760_000_300_000,
  idempotencyKey: '',
  reason: 'maintenance',
  payload: { $case: 'power', value: { vmid: 101, action: 'stop', node: 'pve1', type: 'qemu' } },
};

const record = (o: Partial<CommandRecord> = {}): CommandRecord => ({
  command,
  status: CommandStatus.COMMAND_STATUS_SUCCEEDED,
  transitions: [1, 2, 3, 4].map((status) => ({
    commandId: command.id,
    status,
    atMs: 1_760_000_000_000 + status,
    message: `step ${status} ${'x'.repeat(status * 40)}`,
    by: 'pve-adapter-1',
    upstreamTaskId: 'UPID:pve1:0000C1D2:0001F3A4:67000000:qmstop:101:molten@pve!molten:',
    resultJson: status === 4 ? JSON.stringify({ vmid: 101, status: 'stopped' }) : '',
  })),
  upstreamTaskId: 'UPID:pve1:0000C1D2:0001F3A4:67000000:qmstop:101:molten@pve!molten:',
  upstreamCallAtMs: 1_760_000_000_002,
  resultJson: JSON.stringify({ vmid: 101, status: 'stopped' }),
  error: { code: 'none', message: '', remedy: '', upstreamStatus: '', privilege: '', fields: {} },
  updatedAtMs: 1_760_000_000_004,
  ...o,
});

const approval = { safety: 'destructive', client: 'claude-code', summary: 'hard stop VM 101', argumentsJson: '{"vmid":101}', argumentsDigest: 'ab'.repeat(32), expiresAtMs: 1, decidedBy: '', decidedAtMs: 0, reason: '' };

/** What the approvals did before the scan: decode, and look. */
function decodedHasApproval(bytes: Uint8Array): boolean | 'throws' {
  try {
    return !!CommandRecord.decode(bytes).approval;
  } catch {
    return 'throws';
  }
}

describe('mayCarryApproval', () => {
  it('tells records without an approval from those with one, as the decode does', () => {
    for (const r of [record(), record({ status: CommandStatus.COMMAND_STATUS_REQUESTED, transitions: [], error: undefined }), CommandRecord.fromPartial({})]) {
      expect(mayCarryApproval(CommandRecord.encode(r).finish())).toBe(false);
    }
    for (const r of [record({ approval }), record({ approval: { ...approval, argumentsJson: 'y'.repeat(70_000) } }), CommandRecord.fromPartial({ approval: {} })]) {
      expect(mayCarryApproval(CommandRecord.encode(r).finish())).toBe(true);
    }
  });

  it('leaves a record it cannot read to the decode (truncated, or a wire type it does not skip)', () => {
    const bytes = CommandRecord.encode(record()).finish();
    expect(mayCarryApproval(bytes.subarray(0, bytes.length - 3))).toBe(true);
    expect(mayCarryApproval(Uint8Array.of(0x0b, 0x0c))).toBe(true); // a group
    expect(mayCarryApproval(Uint8Array.of(0x0f))).toBe(true); // wire type 7
  });

  it('never hides an approval the decode would find, whatever the bytes', () => {
    const withApproval = CommandRecord.encode(record({ approval })).finish();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          // Real records, cut, spliced and with bytes flipped.
          fc.tuple(fc.nat(withApproval.length), fc.nat(withApproval.length), fc.uint8Array({ maxLength: 20 })).map(([a, b, junk]) => {
            const out = Uint8Array.from(withApproval);
            out.set(junk.subarray(0, Math.max(0, out.length - a)), a);
            return out.subarray(0, Math.max(a, b));
          }),
        ),
        (bytes) => {
          if (decodedHasApproval(bytes) === true) expect(mayCarryApproval(bytes)).toBe(true);
        },
      ),
      { numRuns: 3_000 },
    );
  });
});
