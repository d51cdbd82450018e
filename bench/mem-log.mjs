/**
 * A preload for a service under bench/profile-memory.ts (PROFILE_MEM_LOG=1 passes
 * `NODE_OPTIONS=--import <this file>` and MEM_LOG=<file> to the api): every 250 ms it writes the
 * process's memory split to MEM_LOG as one JSON object — RSS, V8's heap (used/committed, per
 * space), external and array buffers — and how many scavenges and full collections ran so far.
 * Measurement only; no service loads it.
 */
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';

const file = process.env.MEM_LOG;
if (file) {
  const gcs = { minor: 0, major: 0, incremental: 0, weak: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = e.detail?.kind ?? e.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gcs.minor++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcs.major++;
      else if (kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) gcs.incremental++;
      else gcs.weak++;
    }
  }).observe({ entryTypes: ['gc'] });
  const write = () => {
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name.replace(/_space$/, ''), [s.space_size, s.space_used_size]]));
    writeFileSync(file, JSON.stringify({ at: Date.now(), rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, spaces, gcs }));
  };
  setInterval(write, 250).unref();
  // SIGWINCH (never sent to a service otherwise): a full collection now, when run with --expose-gc.
  process.on('SIGWINCH', () => globalThis.gc?.());
}
