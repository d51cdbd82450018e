/**
 * How hard the fuzz suites push: a fixed seed and a bounded count in the normal test run (CI),
 * more with `npm run fuzz` (FUZZ_RUNS, FUZZ_SEED; a failure prints its seed and path to replay).
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 1414);
export const fuzzRuns = (normal: number): number => Number(process.env.FUZZ_RUNS ?? normal);
/** Time for one suite: scaled with the count (a long run is allowed its time). */
export const fuzzTimeoutMs = (normal: number, msPerRun: number): number => Math.max(60_000, fuzzRuns(normal) * msPerRun + 30_000);
