import { describe, expect, it } from 'vitest';
import type { Guest } from '@molten/contracts';
import { guestChanged } from './state-diff.js';

const base: Guest = {
  cluster: 'c', vmid: 100, name: 'a', node: 'n', type: 'qemu', status: 'running', qmpstatus: 'running', cpu: 0.1, maxcpu: 2,
  mem: 1_000_000_000, maxmem: 2_000_000_000, disk: 0, maxdisk: 10, uptime: 1000, tags: [], template: false, netin: 1, netout: 1,
  diskread: 1, diskwrite: 1, imprecise: [],
};

describe('guest diff', () => {
  it('publishes a new guest and any change of status, lock, tags or qmpstatus', () => {
    expect(guestChanged(undefined, base)).toBe(true);
    expect(guestChanged(base, { ...base, status: 'stopped' })).toBe(true);
    expect(guestChanged(base, { ...base, qmpstatus: 'paused' })).toBe(true);
    expect(guestChanged(base, { ...base, lock: 'backup' })).toBe(true);
    expect(guestChanged(base, { ...base, tags: ['x'] })).toBe(true);
  });

  it('ignores counters that grow on every poll, and load jitter too small to see', () => {
    expect(guestChanged(base, { ...base, uptime: 1002, netin: 99, diskwrite: 77 })).toBe(false);
    expect(guestChanged(base, { ...base, cpu: 0.102 })).toBe(false);
    expect(guestChanged(base, { ...base, mem: 1_000_500_000 })).toBe(false);
  });

  it('publishes a visible load change and a restart (uptime going back)', () => {
    expect(guestChanged(base, { ...base, cpu: 0.2 })).toBe(true);
    expect(guestChanged(base, { ...base, mem: 1_200_000_000 })).toBe(true);
    expect(guestChanged(base, { ...base, uptime: 5 })).toBe(true);
  });
});
