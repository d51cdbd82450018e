import type { ClusterStatus, Guest, Node, Storage } from '@molten/contracts';

/**
 * Whether a new reading differs enough from the last published one to publish it. Identity,
 * status, lock, tags and sizes always count; load counts when it moves by a visible amount;
 * counters that grow on every poll (uptime, network and disk totals) never count alone —
 * consumers extrapolate uptime, and the next real change carries the counters along.
 */
export const CPU_STEP = 0.005; // half a percent of the guest's CPUs
/**
 * Counters that grow on every poll and never count alone (uptime too, but a restart — uptime
 * going back — counts). The poll's reader relies on this list to skip rows where only they moved.
 */
export const COUNTERS = ['netin', 'netout', 'diskread', 'diskwrite'] as const;
export const MEM_STEP = 0.005; // half a percent of its memory

/** Same items in the same order (no joined strings: the diff runs for thousands of guests a poll). */
function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function moved(a: number, b: number, max: number, step: number): boolean {
  if (a === b) return false;
  if (max <= 0) return true;
  return Math.abs(a - b) / max >= step;
}

export function guestChanged(prev: Guest | undefined, next: Guest): boolean {
  if (!prev) return true;
  return (
    prev.name !== next.name ||
    prev.node !== next.node ||
    prev.type !== next.type ||
    prev.status !== next.status ||
    prev.qmpstatus !== next.qmpstatus ||
    prev.lock !== next.lock ||
    prev.template !== next.template ||
    prev.hastate !== next.hastate ||
    prev.pool !== next.pool ||
    prev.maxcpu !== next.maxcpu ||
    prev.maxmem !== next.maxmem ||
    prev.maxdisk !== next.maxdisk ||
    !sameList(prev.tags, next.tags) ||
    !sameList(prev.imprecise, next.imprecise) ||
    Math.abs(prev.cpu - next.cpu) >= CPU_STEP ||
    moved(prev.mem, next.mem, next.maxmem, MEM_STEP) ||
    moved(prev.disk, next.disk, next.maxdisk, MEM_STEP) ||
    // A restart shows as uptime going backwards.
    next.uptime < prev.uptime
  );
}

export function nodeChanged(prev: Node | undefined, next: Node): boolean {
  if (!prev) return true;
  return (
    prev.status !== next.status ||
    prev.maxcpu !== next.maxcpu ||
    prev.maxmem !== next.maxmem ||
    prev.maxdisk !== next.maxdisk ||
    prev.level !== next.level ||
    prev.ip !== next.ip ||
    prev.pveversion !== next.pveversion ||
    prev.cpuModel !== next.cpuModel ||
    Math.abs(prev.cpu - next.cpu) >= CPU_STEP ||
    moved(prev.mem, next.mem, next.maxmem, MEM_STEP) ||
    moved(prev.disk, next.disk, next.maxdisk, MEM_STEP) ||
    next.uptime < prev.uptime
  );
}

export function storageChanged(prev: Storage | undefined, next: Storage): boolean {
  if (!prev) return true;
  return (
    prev.status !== next.status ||
    prev.type !== next.type ||
    prev.shared !== next.shared ||
    prev.total !== next.total ||
    !sameList(prev.content, next.content) ||
    moved(prev.used, next.used, next.total, MEM_STEP)
  );
}

export function clusterChanged(prev: ClusterStatus | undefined, next: ClusterStatus): boolean {
  return !prev || JSON.stringify(prev) !== JSON.stringify(next);
}
