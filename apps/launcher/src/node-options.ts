/**
 * The V8 heap flags every service is started with, sized for a cluster of up to ~15,000 guests
 * (docs/performance.md, "Memory at 15,000 guests"): a smaller young generation than Node's
 * default (16 MB semi-spaces), which the proxmox-adapter's poll otherwise fills and keeps, and
 * a cap on the old generation, which makes V8 collect (and give pages back) before it grows.
 * The api's live heap at 15,000 guests is ~60 MB; raise the cap with the cluster. The same flags
 * for every service: interleaved against Node's defaults (docs/performance.md, branch w7-heap) they
 * cost 0.3–1.5 ms of CPU per command at 100/s in the api and the adapter (the small young
 * generation; no latency difference the shared machine could separate), and neither a
 * larger young generation for the api (+15–20 MB) nor a smaller one for the adapter (−3–5 MB, at a
 * latency cost before) was worth a per-service setting.
 *
 * The same string is deploy/'s NODE_OPTIONS (Dockerfile, systemd units); tests/src/deploy.test.ts
 * checks that they agree.
 */
export const SERVICE_HEAP_FLAGS = '--max-semi-space-size=4 --max-old-space-size=192';

/**
 * glibc's malloc settings every service is started with: allocations of 1 MiB and more are
 * mapped on their own and unmapped when freed. By default glibc raises that threshold as large
 * blocks are freed (up to 32 MiB), after which such blocks come from its heap, which seldom
 * shrinks: the proxmox-adapter's resident memory at 15,000 guests then stays ~8–27 MB higher
 * (docs/performance.md, branch w9-mem; no CPU per command the benchmark could separate).
 * The api writes its SSE snapshots in blocks of at least that size (SNAPSHOT_BLOCK_BYTES in
 * services/api/src/sse/snapshot-share.ts), so that they too are unmapped when freed (branch w10-fanmem).
 * A variable of the same name in the environment wins. The same value is in deploy/'s
 * Dockerfile and systemd units; tests/src/deploy.test.ts checks that they agree.
 */
export const SERVICE_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '1048576' };

/**
 * NODE_OPTIONS for a service the launcher starts: the heap flags first, then whatever
 * NODE_OPTIONS the launcher was given, so that a flag set there (`NODE_OPTIONS=--max-old-space-size=512
 * npm start`) wins: V8 takes the last of a repeated flag.
 */
export function serviceNodeOptions(given: string | undefined): string {
  return [SERVICE_HEAP_FLAGS, given?.trim()].filter(Boolean).join(' ');
}
