import { expect, test } from 'vitest';
import { visibleRange } from './virtual';

test('renders the rows in view and a margin, not the whole list', () => {
  expect(visibleRange({ scrollTop: 0, viewport: 400, rowHeight: 40, count: 5000, overscan: 5 })).toEqual({ start: 0, end: 16 });
  expect(visibleRange({ scrollTop: 4000, viewport: 400, rowHeight: 40, count: 5000, overscan: 5 })).toEqual({ start: 95, end: 116 });
});

test('clamps at the end and on empty lists', () => {
  expect(visibleRange({ scrollTop: 1e9, viewport: 400, rowHeight: 40, count: 50, overscan: 5 }).end).toBe(50);
  expect(visibleRange({ scrollTop: 0, viewport: 400, rowHeight: 40, count: 0 })).toEqual({ start: 0, end: 0 });
});
