import { STAGE_TRACE_SUBJECT, type Bus } from '@molten/bus';
import { ms, summary } from './stats.js';

/** The stages of one command, in the order they happen (the services mark theirs; see packages/bus/src/stage-trace.ts). */
export const STAGES = [
  ['client.sent', 'client sends POST'],
  ['api.recorded', 'api: validate + KV create'],
  ['api.published', 'api: publish to work queue'],
  ['adapter.received', 'adapter receives'],
  ['adapter.accepted', 'adapter: accept CAS (+ KV read if redelivered)'],
  ['adapter.call-marked', 'adapter: mark-call CAS'],
  ['adapter.posted', 'adapter: POST to Proxmox'],
  ['adapter.running-recorded', 'adapter: running CAS'],
  ['adapter.task-end-seen', 'adapter: task end seen'],
  ['adapter.guest-reread', 'adapter: guest re-read'],
  ['adapter.state-published', 'adapter: state published'],
  ['adapter.outcome-recorded', 'adapter: outcome CAS'],
  ['adapter.acked', 'adapter: ack'],
  ['sse.succeeded', 'SSE: succeeded on the client'],
] as const;

const epoch = (perfNow: number) => performance.timeOrigin + perfNow;

/** Collects the stage marks the services publish (MOLTEN_STAGE_TRACE=1) and the bench's own. */
export function traceStages(bus: Bus) {
  const marks = new Map<string, Map<string, number>>();
  const sub = bus.nc.subscribe(`${STAGE_TRACE_SUBJECT}.>`, {
    callback: (_err, m) => {
      const id = m.subject.slice(STAGE_TRACE_SUBJECT.length + 1);
      const [stage, at] = m.string().split(' ');
      let c = marks.get(id);
      if (!c) marks.set(id, (c = new Map()));
      if (!c.has(stage!)) c.set(stage!, Number(at));
    },
  });
  return {
    /** A bench-side mark, on the bench's performance clock. */
    mark(id: string, stage: string, perfNow: number) {
      let c = marks.get(id);
      if (!c) marks.set(id, (c = new Map()));
      c.set(stage, epoch(perfNow));
    },
    /** p50/p99 of each stage over these commands, as lines; a stage's time is from the previous mark present. */
    report(ids: string[], indent = '    '): string[] {
      const deltas = new Map<string, number[]>();
      const totals: number[] = [];
      for (const id of ids) {
        const c = marks.get(id);
        if (!c) continue;
        let prev: number | undefined;
        for (const [stage] of STAGES) {
          const at = c.get(stage);
          if (at === undefined) continue;
          if (prev !== undefined) {
            const list = deltas.get(stage) ?? [];
            list.push(at - prev);
            deltas.set(stage, list);
          }
          prev = at;
        }
        const first = c.get('client.sent');
        const last = c.get('sse.succeeded');
        if (first !== undefined && last !== undefined) totals.push(last - first);
      }
      const lines: string[] = [];
      for (const [stage, label] of STAGES) {
        const d = deltas.get(stage);
        if (!d?.length) continue;
        const s = summary(d);
        lines.push(`${indent}${label.padEnd(32)} p50 ${ms(s.p50).padStart(9)}  p99 ${ms(s.p99).padStart(9)}  (${s.n})`);
      }
      const t = summary(totals);
      lines.push(`${indent}${'total, client → SSE'.padEnd(32)} p50 ${ms(t.p50).padStart(9)}  p99 ${ms(t.p99).padStart(9)}  (${t.n})`);
      return lines;
    },
    /** Per command, the time from stage `from` (+ offsetMs) to stage `to`. */
    between(ids: string[], from: string, to: string, offsetMs = 0): number[] {
      const out: number[] = [];
      for (const id of ids) {
        const c = marks.get(id);
        const a = c?.get(from);
        const b = c?.get(to);
        if (a !== undefined && b !== undefined) out.push(b - a - offsetMs);
      }
      return out;
    },
    close: () => sub.unsubscribe(),
  };
}
