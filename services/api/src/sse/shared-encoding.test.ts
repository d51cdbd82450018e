import { afterEach, describe, expect, it, vi } from 'vitest';
import { BIG_TEXT_HELD_MS, encodeShared } from './shared-encoding.js';

describe('encodeShared', () => {
  afterEach(() => vi.useRealTimers());

  it('gives every stream the same bytes of a text written to them in turn', () => {
    const small = encodeShared('event: guest\ndata: {}\n\n');
    expect(encodeShared('event: guest\ndata: {}\n\n')).toBe(small);
    expect(new TextDecoder().decode(small)).toBe('event: guest\ndata: {}\n\n');
  });

  it("shares a big text's bytes between the small frames written meanwhile, then lets them go", () => {
    vi.useFakeTimers();
    const big = `data: ${'x'.repeat(100_000)}\n\n`;
    const bytes = encodeShared(big);
    encodeShared('id: 1\n\n');
    vi.advanceTimersByTime(BIG_TEXT_HELD_MS - 1);
    expect(encodeShared(big)).toBe(bytes);
    vi.advanceTimersByTime(1);
    // Let go: the same text again is encoded anew (the old bytes are no longer held here).
    const again = encodeShared(big);
    expect(again).not.toBe(bytes);
    expect(again).toEqual(bytes);
  });
});
