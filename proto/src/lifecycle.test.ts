import { describe, expect, it } from 'vitest';
import { CommandStatus } from './gen/molten/v1/commands.js';
import { canTransition, commandStatusFromName, commandStatusName, isTerminal } from './lifecycle.js';

const S = CommandStatus;
const ALL = Object.values(S).filter((v): v is CommandStatus => typeof v === 'number');

describe('approval lifecycle', () => {
  it('names the approval states as REST spells them, both ways', () => {
    expect(commandStatusName(S.COMMAND_STATUS_AWAITING_APPROVAL)).toBe('awaiting_approval');
    expect(commandStatusName(S.COMMAND_STATUS_DENIED)).toBe('denied');
    expect(commandStatusName(S.COMMAND_STATUS_EXPIRED)).toBe('expired');
    expect(commandStatusFromName('awaiting_approval')).toBe(S.COMMAND_STATUS_AWAITING_APPROVAL);
    expect(commandStatusFromName('denied')).toBe(S.COMMAND_STATUS_DENIED);
    expect(commandStatusFromName('expired')).toBe(S.COMMAND_STATUS_EXPIRED);
  });

  it('goes requested → awaiting_approval → accepted | denied | expired, and nowhere else', () => {
    expect(canTransition(S.COMMAND_STATUS_REQUESTED, S.COMMAND_STATUS_AWAITING_APPROVAL)).toBe(true);
    const out = ALL.filter((to) => canTransition(S.COMMAND_STATUS_AWAITING_APPROVAL, to)).sort();
    expect(out).toEqual([S.COMMAND_STATUS_ACCEPTED, S.COMMAND_STATUS_DENIED, S.COMMAND_STATUS_EXPIRED].sort());
    // Only a waiting command is denied or expires: a published one has its own fates.
    for (const from of ALL.filter((s) => s !== S.COMMAND_STATUS_AWAITING_APPROVAL)) {
      expect(canTransition(from, S.COMMAND_STATUS_DENIED)).toBe(false);
      expect(canTransition(from, S.COMMAND_STATUS_EXPIRED)).toBe(false);
    }
    expect(canTransition(S.COMMAND_STATUS_ACCEPTED, S.COMMAND_STATUS_AWAITING_APPROVAL)).toBe(false);
    expect(isTerminal(S.COMMAND_STATUS_AWAITING_APPROVAL)).toBe(false);
  });

  it('keeps denied and expired terminal', () => {
    for (const t of [S.COMMAND_STATUS_DENIED, S.COMMAND_STATUS_EXPIRED]) {
      expect(isTerminal(t)).toBe(true);
      for (const to of ALL) expect(canTransition(t, to)).toBe(false);
    }
  });
});
