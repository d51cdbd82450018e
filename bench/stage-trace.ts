import { STAGE_TRACE_SUBJECT, type Bus } from '@molten/bus';
import { ms, summary } from './stats.js';

/**
 * The stages of one command (the services mark theirs; see packages/bus/src/stage-trace.ts): each
 * is timed from the mark it waits for (the latest of them that came before it when it waits for
 * several), so stages that run side by side (the task id's record write beside the task's status
 * read; the guest's state beside the outcome's record write; a read-only tool's call beside the
 * write that accepts it) each show their own time.
 */
export const STAGES: readonly (readonly [stage: string, label: string, after: readonly string[]])[] = [
  ['client.sent', 'client sends POST', []],
  // Builds that mark api.submitting split the api's part in two.
  ['api.submitting', 'api: HTTP + auth + validate', ['client.sent']],
  ['api.recorded', 'api: [validate +] KV create', ['client.sent', 'api.submitting']],
  ['api.published', 'api: publish, acked (beside)', ['api.recorded']],
  ['adapter.received', 'adapter receives', ['api.recorded']],
  ['adapter.accepted', 'adapter: accept CAS', ['adapter.received']],
  // A power action is accepted by the write that marks its call (no adapter.accepted mark).
  // A tool call is also moved to running by that write (builds with oneWriteBeforeCall).
  ['adapter.call-marked', 'adapter: [accept +] mark-call CAS', ['adapter.received', 'adapter.accepted']],
  // A read-only tool's call goes out before that write lands (beside it).
  ['adapter.tool-sent', 'adapter: MCP request sent', ['adapter.received', 'adapter.accepted', 'adapter.call-marked']],
  ['adapter.posted', 'adapter: POST to Proxmox', ['adapter.call-marked']],
  ['adapter.running-recorded', 'adapter: running CAS (beside)', ['adapter.posted', 'adapter.tool-sent', 'adapter.call-marked']],
  ['adapter.task-end-seen', 'adapter: task end seen', ['adapter.posted']],
  ['adapter.guest-reread', 'adapter: guest re-read', ['adapter.task-end-seen']],
  ['adapter.state-published', 'adapter: state put (beside)', ['adapter.guest-reread']],
  ['adapter.tool-answered', 'adapter: MCP tool call (the server)', ['adapter.tool-sent']],
  ['adapter.outcome-recorded', 'adapter: outcome CAS', ['adapter.guest-reread', 'adapter.running-recorded', 'adapter.tool-answered']],
  ['adapter.acked', 'adapter: ack', ['adapter.outcome-recorded', 'adapter.state-published']],
  ['sse.succeeded', 'SSE: succeeded on the client', ['adapter.outcome-recorded']],
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
    /** p50/p99 of each stage over these commands, as lines; a stage's time is from the mark(s) it waits for. */
    report(ids: string[], indent = '    '): string[] {
      const deltas = new Map<string, number[]>();
      const totals: number[] = [];
      /** Per command: its total and its longest stage. */
      const slow: { total: number; stage: string; ms: number }[] = [];
      for (const id of ids) {
        const c = marks.get(id);
        if (!c) continue;
        let longest = { stage: '', ms: -Infinity };
        for (const [stage, label, after] of STAGES) {
          const at = c.get(stage);
          if (at === undefined) continue;
          const from = Math.max(...after.map((a) => c.get(a) ?? -Infinity).filter((t) => t <= at));
          if (at === undefined || !Number.isFinite(from)) continue;
          const list = deltas.get(stage) ?? [];
          list.push(at - from);
          deltas.set(stage, list);
          if (at - from > longest.ms) longest = { stage: label, ms: at - from };
        }
        const first = c.get('client.sent');
        const last = c.get('sse.succeeded');
        if (first !== undefined && last !== undefined) {
          totals.push(last - first);
          slow.push({ total: last - first, ...longest });
        }
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
      // The tail: the slowest 2 % of commands (at least 3), each with the stage that held it longest.
      const tail = slow.sort((a, b) => b.total - a.total).slice(0, Math.max(3, Math.ceil(slow.length / 50)));
      if (tail.length) lines.push(`${indent}slowest ${tail.length}: ${tail.map((x) => `${ms(x.total)} (${x.stage} ${ms(x.ms)})`).join('; ')}`);
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
