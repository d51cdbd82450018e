import { describe, expect, it } from 'vitest';
import { guestActionSafety, toolSafety } from './tool-safety.js';

describe('toolSafety', () => {
  it.each([
    [undefined, 'destructive'],
    [null, 'destructive'],
    [{}, 'destructive'],
    [{ idempotentHint: true }, 'destructive'],
    [{ readOnlyHint: false }, 'destructive'],
    [{ destructiveHint: true }, 'destructive'],
    [{ destructiveHint: false }, 'change'],
    [{ readOnlyHint: false, destructiveHint: false }, 'change'],
    [{ readOnlyHint: true }, 'read'],
    // readOnlyHint wins: destructiveHint only means something when the tool may change things.
    [{ readOnlyHint: true, destructiveHint: true }, 'read'],
  ] as const)('%j → %s', (annotations, want) => {
    expect(toolSafety(annotations)).toBe(want);
  });

  it('takes the guest actions’ safety from their table', () => {
    expect(guestActionSafety('vm-start')).toBe('change');
    expect(guestActionSafety('vm-stop')).toBe('destructive');
    expect(guestActionSafety('snapshot-delete')).toBe('destructive');
  });
});
