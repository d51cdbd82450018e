import { describe, expect, test } from 'vitest';
import { ago, bytes, bytesPair, count, duration, elapsed, percent } from './format';

describe('format', () => {
  test('bytes in binary units', () => {
    expect(bytes(0)).toBe('0 B');
    expect(bytes(512)).toBe('512 B');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(bytes(4 * 1024 ** 3)).toBe('4 GiB');
    expect(bytes(7.81 * 1024 ** 3)).toBe('7.81 GiB');
    expect(bytes(123.4 * 1024 ** 4)).toBe('123 TiB');
    expect(bytes(-1)).toBe('–');
  });
  test('a used/total pair in one unit', () => {
    expect(bytesPair(1.2 * 1024 ** 3, 4 * 1024 ** 3)).toBe('1.2 / 4 GiB');
    expect(bytesPair(512 * 1024 ** 2, 2 * 1024 ** 3)).toBe('0.5 / 2 GiB');
  });
  test('percent', () => {
    expect(percent(0)).toBe('0%');
    expect(percent(0.034)).toBe('3.4%');
    expect(percent(0.5)).toBe('50%');
    expect(percent(0.0004)).toBe('<0.1%');
  });
  test('durations read as the two largest units', () => {
    expect(duration(45)).toBe('45 s');
    expect(duration(12 * 60 + 5)).toBe('12 min');
    expect(duration(4 * 3600 + 12 * 60)).toBe('4 h 12 min');
    expect(duration(3 * 86_400 + 4 * 3600 + 59)).toBe('3 d 4 h');
    expect(duration(2 * 86_400)).toBe('2 d');
  });
  test('elapsed', () => {
    expect(elapsed(812)).toBe('812 ms');
    expect(elapsed(4200)).toBe('4.2 s');
    expect(elapsed(123_000)).toBe('2 min 3 s');
  });
  test('ages tick in seconds, then minutes', () => {
    const now = 1_000_000_000;
    expect(ago(now - 500, now)).toBe('just now');
    expect(ago(now - 12_000, now)).toBe('12 s ago');
    expect(ago(new Date(now - 180_000).toISOString(), now)).toBe('3 min ago');
    expect(ago(null, now)).toBe('never');
  });
  test('counts with separators', () => {
    expect(count(5000)).toBe('5,000');
  });
});
