import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

/**
 * The physical pages the processes map, read from /proc/<pid>/pagemap (root only: without
 * CAP_SYS_ADMIN the kernel reports page frame 0 for every page). For each process, every page
 * of every mapping with resident pages (smaps' Rss > 0) whose pagemap entry says "present"
 * (bit 63) is counted by its page frame number (bits 0–54): anonymous pages, file pages (the
 * node binary's text, shared libraries) and shared memory alike, the pages RSS counts. Swapped
 * pages (none here: no swap) are not resident and not counted. A frame mapped by both processes,
 * or twice by one, counts once: `union` is what the two keep in RAM together, where the RSS sum
 * counts the shared frames (mostly the node binary's pages) twice, and the PSS sum divides them
 * with every other process mapping them (the bench's own node processes too, so it is lower than
 * what the services need on a host of their own). The zero page (untouched anonymous memory that
 * was only read) is one frame that RSS does not count; it adds at most one page here.
 */
function pageFrames(pid: number): { frames: Set<number>; rssKb: number; pssKb: number } {
  const frames = new Set<number>();
  let rssKb = 0;
  let pssKb = 0;
  const ranges: [number, number][] = [];
  let range: [number, number] | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (m) {
      range = [parseInt(m[1]!, 16), parseInt(m[2]!, 16)];
      continue;
    }
    const r = /^(Rss|Pss):\s+(\d+) kB/.exec(line);
    if (!r || !range) continue;
    if (r[1] === 'Pss') pssKb += Number(r[2]);
    else if (Number(r[2]) > 0) {
      rssKb += Number(r[2]);
      ranges.push(range);
    }
  }
  const fd = openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    const buf = Buffer.alloc(8 * 4096);
    for (const [start, end] of ranges) {
      for (let page = start / 4096; page < end / 4096; page += 4096) {
        const count = Math.min(4096, end / 4096 - page);
        const read = readSync(fd, buf, 0, count * 8, page * 8);
        for (let i = 0; i + 8 <= read; i += 8) {
          const high = buf.readUInt32LE(i + 4);
          if (!(high & 0x80000000)) continue;
          frames.add((high & 0x7fffff) * 2 ** 32 + buf.readUInt32LE(i));
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return { frames, rssKb, pssKb };
}

/** api + proxmox-adapter measured three ways: the RSS sum, the PSS sum, and the union of their page frames. */
export function together(pids: number[]): { rssKb: number; pssKb: number; unionKb: number; bothKb: number; framesKb: number[] } {
  const each = pids.map(pageFrames);
  const union = new Set<number>();
  for (const e of each) for (const f of e.frames) union.add(f);
  const framesKb = each.map((e) => e.frames.size * 4);
  return {
    rssKb: each.reduce((s, e) => s + e.rssKb, 0),
    pssKb: each.reduce((s, e) => s + e.pssKb, 0),
    unionKb: union.size * 4,
    bothKb: framesKb.reduce((s, x) => s + x, 0) - union.size * 4,
    framesKb,
  };
}

/** Whether page frames can be read here (root: see pageFrames). */
export const canReadPageFrames = (): boolean => process.getuid?.() === 0;
