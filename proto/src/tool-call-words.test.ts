import { describe, expect, it } from 'vitest';
import { argumentLines, toolTarget } from './tool-call-words.js';

describe('a tool call in words', () => {
  it('names the target by the most telling argument', () => {
    expect(toolTarget({ container: 'plex', timeout: 10 })).toBe('container plex');
    expect(toolTarget({ vmid: 200, node: 'pve2' })).toBe('vmid 200');
    expect(toolTarget({ name: 'web', id: 'abc' })).toBe('name web');
    expect(toolTarget({ timeout: 10 })).toBeUndefined();
    expect(toolTarget([1, 2])).toBeUndefined();
    expect(toolTarget({ path: 'x'.repeat(100) })).toBe(`path ${'x'.repeat(39)}…`);
  });

  it('lists the arguments shortly, at most eight and a count of the rest', () => {
    expect(argumentLines({ container: 'plex', force: true, opts: { a: 1 } })).toEqual(['container: plex', 'force: true', 'opts: {"a":1}']);
    const many = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i]));
    expect(argumentLines(many)).toHaveLength(9);
    expect(argumentLines(many).at(-1)).toBe('and 2 more');
    expect(argumentLines(undefined)).toEqual([]);
  });
});
