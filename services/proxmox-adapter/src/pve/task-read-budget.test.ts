import { describe, expect, it } from 'vitest';
import { TaskReadBudget } from './task-read-budget.js';

describe('TaskReadBudget', () => {
  it('spreads a node’s reads evenly at its rate, and each node has its own budget', () => {
    const b = new TaskReadBudget(50); // one read every 20 ms per node
    expect(b.reserve('pve1', 1_000)).toBe(0);
    expect(b.reserve('pve1', 1_000)).toBe(20);
    expect(b.reserve('pve1', 1_000)).toBe(40);
    expect(b.reserve('pve2', 1_000)).toBe(0);
    // Once the node's reads have caught up, the next one goes at once.
    expect(b.reserve('pve1', 2_000)).toBe(0);
  });
});
