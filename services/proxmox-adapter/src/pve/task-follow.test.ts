import { describe, expect, it } from 'vitest';
import { taskFollowDelay } from './pve-driver.js';

describe('following a Proxmox task', () => {
  it('reads a task that has not ended again after 2 ms and 10 ms, then every 25 ms for 5 s', () => {
    expect(taskFollowDelay(1, 1, 0)).toBe(2);
    expect(taskFollowDelay(2, 5, 2)).toBe(10);
    expect(taskFollowDelay(3, 20, 10)).toBe(25);
    expect(taskFollowDelay(150, 4_990, 25)).toBe(25);
  });

  it('backs off a long task from 25 ms by ×1.3 up to 1 s', () => {
    expect(taskFollowDelay(200, 5_001, 25)).toBeCloseTo(32.5);
    expect(taskFollowDelay(201, 5_040, 32.5)).toBeCloseTo(42.25);
    expect(taskFollowDelay(2, 6_000, 10)).toBeCloseTo(32.5);
    expect(taskFollowDelay(400, 60_000, 900)).toBe(1_000);
  });
});
