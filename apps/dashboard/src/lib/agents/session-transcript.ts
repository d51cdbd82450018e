import type { TranscriptMessage, TranscriptToolCall } from '@molten/contracts/rest';

/** A tool the assistant called, with the result that answered it (when it is in view). */
export interface ToolStep {
  call: TranscriptToolCall;
  result?: TranscriptMessage;
}

/** One entry of the transcript as the session page shows it. */
export interface TranscriptItem {
  key: string;
  message: TranscriptMessage;
  /** The message's tool calls, each with its result folded in beneath it. */
  steps: ToolStep[];
}

/**
 * The messages as the page lists them: a tool's result goes under the call it answers (so a call
 * and its result read as one step), and is listed on its own only when its call is not in view
 * (an older page).
 */
export function transcriptItems(messages: readonly TranscriptMessage[]): TranscriptItem[] {
  const calls = new Set(messages.flatMap((m) => m.toolCalls.map((c) => c.id)).filter(Boolean));
  const results = new Map<string, TranscriptMessage>();
  for (const m of messages) {
    if (m.role === 'tool' && m.toolCallId && calls.has(m.toolCallId) && !results.has(m.toolCallId)) results.set(m.toolCallId, m);
  }
  const folded = new Set(results.values());
  return messages
    .filter((m) => !folded.has(m))
    .map((m, i) => ({ key: m.id ? `${m.id}` : `${i}:${m.role}:${m.timestampMs ?? ''}`, message: m, steps: m.toolCalls.map((call) => ({ call, result: call.id ? results.get(call.id) : undefined })) }));
}

const PREVIEW = 120;

/** A call's arguments on one line: `command: "uptime", path: "."`; cut with "…" past ~120 characters. */
export function argumentsPreview(json: string): string {
  let text: string;
  try {
    const v = JSON.parse(json) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      text = Object.entries(v as Record<string, unknown>)
        .map(([k, x]) => `${k}: ${typeof x === 'string' ? JSON.stringify(x) : JSON.stringify(x) ?? String(x)}`)
        .join(', ');
    } else text = JSON.stringify(v);
  } catch {
    text = json;
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > PREVIEW ? `${text.slice(0, PREVIEW - 1)}…` : text;
}

/** The arguments laid out for reading (indented JSON), or as they came when they are not JSON. */
export function argumentsPretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

/** Text that is shown folded until asked for: long, or many lines. */
export function isLongText(text: string): boolean {
  if (text.length > 700) return true;
  let lines = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) if (++lines > 10) return true;
  return false;
}

/** Who wrote a message, as a heading: the agent by its name, a tool by its, the gateway's own notes. */
export function speaker(m: TranscriptMessage, agentName: string): string {
  switch (m.role) {
    case 'user':
      return 'User';
    case 'assistant':
      return agentName || 'Agent';
    case 'tool':
      return m.toolName ? `Tool · ${m.toolName}` : 'Tool';
    case 'system':
      return 'System';
    default:
      return 'Gateway';
  }
}

/** What a note's kind means, in words ("run-failed-before-reply" → "Run failed before a reply"). */
export function noteTitle(kind: string): string {
  if (kind === 'run-failed-before-reply') return 'Run failed before a reply';
  const words = kind.replace(/[-_]+/g, ' ').trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : 'Note';
}

/** The session history's address on the api. */
export const historyPath = (gateway: string, key: string, limit: number) =>
  `/api/agents/sessions/${encodeURIComponent(gateway)}/${encodeURIComponent(key)}/history?limit=${limit}`;
