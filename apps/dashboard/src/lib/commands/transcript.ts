import type { ProgressLine } from '$lib/api/types';

const PHASES: Record<string, string> = {
  start: 'Run started',
  end: 'Run finished',
  error: 'Run failed',
  final: 'Answer complete',
  aborted: 'Run aborted',
};

/**
 * A lifecycle line as the gateway names its phases ("start", "end", "error: <why>", a chat
 * state), in words for the transcript.
 */
export function lifecycleNote(text: string): string {
  const t = text.trim();
  const colon = t.indexOf(':');
  const phase = (colon >= 0 ? t.slice(0, colon) : t).trim();
  const detail = colon >= 0 ? t.slice(colon + 1).trim() : '';
  const words = PHASES[phase.toLowerCase()] ?? (phase ? `Run ${phase}` : 'Run update');
  return detail ? `${words}: ${detail}` : words;
}

/** What the agent itself wrote, joined as the transcript shows it. */
export function assistantText(lines: readonly ProgressLine[]): string {
  return lines
    .filter((l) => l.stream === 'assistant')
    .map((l) => l.text)
    .join('');
}

/** The same text once whitespace is set aside (a result that repeats the output says nothing new). */
export function sameText(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/\s+/g, ' ').trim();
  return norm(a) === norm(b);
}
