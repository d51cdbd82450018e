import { setFlagsFromString } from 'node:v8';
import fc from 'fast-check';
import { runInNewContext } from 'node:vm';

/**
 * How hard the fuzz suites push: a fixed seed and a bounded count in the normal test run (CI),
 * more with `npm run fuzz` (FUZZ_RUNS, FUZZ_SEED; a failure prints its seed and path to replay).
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 1414);
export const fuzzRuns = (normal: number): number => Number(process.env.FUZZ_RUNS ?? normal);
/** Time for one suite: scaled with the count (a long run is allowed its time). */
export const fuzzTimeoutMs = (normal: number, msPerRun: number): number => Math.max(60_000, fuzzRuns(normal) * msPerRun + 30_000);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The heap still in use after full collections (what the process keeps, not its garbage). */
export async function retainedHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    // Let closing sockets and timers finish before collecting.
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** What hostile input may leave behind in the api's heap, whatever its amount. */
export const RETAINED_BOUND_MB = 16;

/**
 * Checks the property over `runs` inputs: a first quarter warms the api up (caches, compiled
 * code), and what the rest leaves behind after a full collection — what hostile traffic would
 * pile up — is answered in MB.
 */
export async function assertWithHeap<T>(property: fc.IAsyncPropertyWithHooks<T>, runs: number): Promise<number> {
  const warm = Math.max(1, Math.floor(runs / 4));
  await fc.assert(property, { seed: FUZZ_SEED, numRuns: warm, endOnFailure: true });
  const before = await retainedHeap();
  await fc.assert(property, { seed: FUZZ_SEED + 1, numRuns: Math.max(1, runs - warm), endOnFailure: true });
  return ((await retainedHeap()) - before) / 1024 / 1024;
}
