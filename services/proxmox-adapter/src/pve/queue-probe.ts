// DIAGNOSTIC probe (reverted in the next commit; cherry-pick to measure again). QUEUE_PROBE=<file>: queue wait and answer wait per request kind, event-loop delay.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { appendFileSync } from 'node:fs';
const file = process.env.QUEUE_PROBE;
const h = monitorEventLoopDelay({ resolution: 5 });
if (file) h.enable();
type S = { n: number; q: number[]; a: number[] };
const by = new Map<string, S>();
let inflight = 0, maxInflight = 0;
export function kindOf(method: string, path: string): string {
  if (path.includes('/cluster/resources')) return 'resources';
  if (method !== 'GET') return 'POST';
  if (path.includes('/tasks/')) return 'taskStatus';
  if (path.includes('/status/current')) return 'current';
  return 'other';
}
export function probeStart() { inflight++; if (inflight > maxInflight) maxInflight = inflight; }
export function probeEnd(kind: string, queueMs: number, answerMs: number) {
  inflight--;
  if (!file) return;
  let s = by.get(kind); if (!s) by.set(kind, (s = { n: 0, q: [], a: [] }));
  s.n++; s.q.push(queueMs); s.a.push(answerMs);
}
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!.toFixed(1) : '-'; };
export function probeReport(extra: () => string) {
  if (!file) return;
  setInterval(() => {
    const parts = [...by].map(([k, s]) => `${k} n=${s.n} queue p50/p99 ${pct(s.q, 50)}/${pct(s.q, 99)} answer p50/p99 ${pct(s.a, 50)}/${pct(s.a, 99)}`);
    appendFileSync(file, `${new Date().toISOString()} ${process.pid} eld p50 ${(h.percentile(50) / 1e6).toFixed(1)} p99 ${(h.percentile(99) / 1e6).toFixed(1)} max ${(h.max / 1e6).toFixed(1)} maxInflight ${maxInflight} ${extra()} | ${parts.join(' | ')}\n`);
    by.clear(); h.reset(); maxInflight = inflight;
  }, 2000).unref();
}
