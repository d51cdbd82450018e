/**
 * A session's transcript: the gateway's `chat.history` answer, checked and turned into what a
 * person reads (TranscriptMessage), bounded and with secret-looking values masked.
 *
 * The wire, as found (not guessed):
 * - openclaw 2026.9.6 (protocol 4): recorded from the real gateway in
 *   fixtures/openclaw-2026.9.6/chat-history.json (a reply, a call of its `ls` tool and the tool's
 *   result, a run that failed before a reply, a key never used, refused params); the params
 *   schema is ChatHistoryParamsSchema and the answer handleChatHistoryRequest in its dist
 *   (packages/gateway-protocol/src/schema/logs-chat.ts, src/gateway/server-methods/chat-history-handler.ts);
 *   docs/gateway/protocol/rpc-session-control.md.
 * - Moltbot 2026.1 (protocol 3): clawdbot/clawdbot src/gateway/server-methods/chat.ts
 *   ("chat.history") and src/gateway/protocol/schema/logs-chat.ts.
 *
 * Params: `{sessionKey (non-empty), limit? (1–1000; 200 when left out)}`, closed: protocol 3
 * refuses any other key; protocol 4 also takes `maxChars` (1–500000, the per-text display cap,
 * 8000 by default), `agentId`, `offset`, `cursor`, `maxBytes`, … A bad param is INVALID_REQUEST
 * ("invalid chat.history params: at /limit: must be <= 1000").
 *
 * Answer: `{sessionKey, sessionId?, messages[]}` (v3 adds `thinkingLevel`; v4 `hasMore`,
 * `totalMessages`, `nextOffset`, `deltaCursor`, `pendingInputs`, `activity`, `sessionInfo`,
 * `defaults`, …). `messages` are the newest `limit`, oldest first. A key the gateway never saw
 * answers ok with no `sessionId` and no messages. Each message is a transcript entry:
 * - `{role:"user", content: "text" | [{type:"text",text} | {type:"image",…}], timestamp}`; v4
 *   adds `idempotencyKey: "<runId>:user"`.
 * - `{role:"assistant", content:[{type:"text",text} | {type:"toolCall", id, name, arguments:{…}}
 *   | {type:"thinking",…}], provider, model, usage, stopReason ("stop", "toolUse", "error"),
 *   errorMessage?, timestamp}`.
 * - `{role:"toolResult", toolCallId, toolName, content:[{type:"text",text}], isError, timestamp}`.
 * - v4 `{role:"custom", customType:"run-failed-before-reply", content:"This turn ended before a
 *   reply: …", display:true, timestamp}`.
 * - v4 `__openclaw: {id, runId, seq, truncated?, reason?}` on each; a text the gateway cut ends
 *   "\n...(truncated)..." (a tool's result is cut without the marker).
 * Timestamps are Unix ms. The gateway's own display code also reads the spellings
 * `tool_call`/`toolUse`/`tool_use` and `tool_result` (openclaw dist, tool-content), so they are read too.
 */
import { z } from 'zod';
import type { SessionHistory, TranscriptMessage, TranscriptToolCall } from '@molten/contracts';
import { scrub } from '@molten/kit';
import { droppedParts, lenient } from './protocol.js';

/** What chat.history answers for one message at most, and what one answer holds at most. */
export const HISTORY_LIMITS = {
  /** Messages asked for when the asker gives no limit, and the gateway's own cap. */
  defaultMessages: 200,
  maxMessages: 1_000,
  /** A message's text, and a tool call's arguments, are cut here (characters). */
  textChars: 4_000,
  argumentsChars: 2_000,
  /** The texts and arguments of one answer together (UTF-8 bytes): older messages beyond are left out, so an answer stays well inside NATS's 1 MB. */
  answerBytes: 384 * 1024,
} as const;

/** The marker the gateway (v4) appends to a text it cut for display. */
const GATEWAY_CUT = '\n...(truncated)...';

const block = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  // toolCall (pi-agent) / tool_use (Anthropic): the call.
  id: z.string().optional(),
  name: z.string().optional(),
  arguments: z.unknown().optional(),
  input: z.unknown().optional(),
  // tool_result blocks inside a message.
  toolCallId: z.string().optional(),
  tool_use_id: z.string().optional(),
  content: z.unknown().optional(),
  is_error: z.boolean().optional(),
  isError: z.boolean().optional(),
});
type Block = z.infer<typeof block>;

const message = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(block)]).optional(),
  timestamp: z.union([z.number(), z.string()]).optional(),
  toolCallId: z.string().optional(),
  toolName: z.string().optional(),
  isError: z.boolean().optional(),
  provider: z.string().optional(),
  model: z.string().optional(),
  stopReason: z.string().optional(),
  errorMessage: z.string().optional(),
  customType: z.string().optional(),
  idempotencyKey: z.string().optional(),
  __openclaw: z.looseObject({ id: z.string().optional(), runId: z.string().optional(), truncated: z.boolean().optional() }).optional(),
});
type Message = z.infer<typeof message>;

/** chat.history's answer: what the adapter reads of it. */
export const chatHistoryAnswer = lenient(
  z.looseObject({
    sessionKey: z.string().optional(),
    sessionId: z.string().optional(),
    messages: z.array(message),
    hasMore: z.boolean().optional(),
    totalMessages: z.number().int().nonnegative().optional(),
  }),
);

/** chat.history's params: protocol 3 takes sessionKey and limit only; maxChars from protocol 4. */
export function chatHistoryParams(sessionKey: string, limit: number, protocol: number): Record<string, unknown> {
  return { sessionKey, limit, ...(protocol >= 4 ? { maxChars: HISTORY_LIMITS.textChars } : {}) };
}

const TEXT_TYPES = new Set(['text', 'input_text', 'output_text']);
const TOOL_CALL_TYPES = new Set(['toolcall', 'tool_call', 'tooluse', 'tool_use']);
const TOOL_RESULT_TYPES = new Set(['toolresult', 'tool_result']);
const THINKING_TYPES = new Set(['thinking', 'reasoning', 'redacted_thinking']);
const ROLES: Record<string, TranscriptMessage['role']> = {
  user: 'user',
  assistant: 'assistant',
  toolresult: 'tool',
  tool_result: 'tool',
  tool: 'tool',
  function: 'tool',
  system: 'system',
};

/** A text cut at `max` characters (never inside a surrogate pair), masked. */
function bounded(text: string, max: number): { text: string; cut: boolean } {
  if (text.length <= max) return { text: scrub(text), cut: false };
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return { text: scrub(text.slice(0, end)), cut: true };
}

/** Drops the gateway's cut marker, remembering that it cut. */
function uncut(text: string, cutByGateway: boolean): { text: string; cut: boolean } {
  if (text.endsWith(GATEWAY_CUT)) return { text: text.slice(0, -GATEWAY_CUT.length), cut: true };
  return { text, cut: cutByGateway };
}

function timestampOf(v: Message['timestamp']): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.round(v);
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : undefined;
  }
  return undefined;
}

/** The text of a tool result's content (a string, or blocks with text). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((c) => (c && typeof c === 'object' && typeof (c as { text?: unknown }).text === 'string' ? (c as { text: string }).text : ''))
    .filter(Boolean)
    .join('\n');
}

function toolCallOf(b: Block): TranscriptToolCall {
  const args = b.arguments ?? b.input;
  let json = '';
  if (typeof args === 'string') json = args;
  else if (args !== undefined) {
    try {
      json = JSON.stringify(args);
    } catch {
      json = '';
    }
  }
  // Masked as JSON text too, so {"password":"…"} loses its value.
  const a = bounded(json, HISTORY_LIMITS.argumentsChars);
  return { id: b.id ?? '', name: bounded(b.name ?? '', 200).text, argumentsJson: a.text, argumentsTruncated: a.cut };
}

/** A kind of left-out content, as a short name ("image", "thinking", "other"). */
function omittedKind(type: string): string {
  const t = type.toLowerCase();
  if (THINKING_TYPES.has(t)) return 'thinking';
  return /^[a-z][a-z0-9_-]{0,31}$/.test(t) ? t : 'other';
}

function emptyMessage(role: TranscriptMessage['role']): TranscriptMessage {
  return {
    role,
    text: '',
    textTruncated: false,
    toolCalls: [],
    toolCallId: '',
    toolName: '',
    isError: false,
    id: '',
    runId: '',
    model: '',
    stopReason: '',
    error: '',
    noteKind: '',
    omitted: [],
  };
}

/** One gateway message as one or more transcript messages (tool_result blocks inside a message become messages of their own). */
function messagesOf(m: Message): TranscriptMessage[] {
  const role = ROLES[m.role.toLowerCase()] ?? 'note';
  const out = emptyMessage(role);
  const meta = m.__openclaw;
  out.id = meta?.id ?? '';
  // v4 marks the run on replies and results, and a user's prompt with idempotencyKey "<runId>:user".
  out.runId = meta?.runId ?? m.idempotencyKey?.replace(/:user$/, '') ?? '';
  const ts = timestampOf(m.timestamp);
  if (ts !== undefined) out.timestampMs = ts;
  if (role === 'assistant') {
    out.model = m.provider && m.model ? `${m.provider}/${m.model}` : (m.model ?? '');
    out.stopReason = m.stopReason ?? '';
    if (m.errorMessage) out.error = bounded(m.errorMessage, 1_000).text;
  }
  if (role === 'tool') {
    out.toolCallId = m.toolCallId ?? '';
    out.toolName = m.toolName ?? '';
    out.isError = m.isError === true;
  }
  if (role === 'note') out.noteKind = bounded(m.customType ?? m.role, 64).text;

  const texts: string[] = [];
  const omitted = new Set<string>();
  const results: TranscriptMessage[] = [];
  if (typeof m.content === 'string') texts.push(m.content);
  else {
    for (const b of m.content ?? []) {
      const type = b.type.toLowerCase();
      if (TEXT_TYPES.has(type)) {
        if (b.text) texts.push(b.text);
      } else if (TOOL_CALL_TYPES.has(type)) out.toolCalls.push(toolCallOf(b));
      else if (TOOL_RESULT_TYPES.has(type)) {
        const r = emptyMessage('tool');
        r.toolCallId = b.toolCallId ?? b.tool_use_id ?? '';
        r.isError = b.isError === true || b.is_error === true;
        r.runId = out.runId;
        if (out.timestampMs !== undefined) r.timestampMs = out.timestampMs;
        const t = bounded(contentText(b.content ?? b.text), HISTORY_LIMITS.textChars);
        r.text = t.text;
        r.textTruncated = t.cut;
        results.push(r);
      } else omitted.add(omittedKind(b.type));
    }
  }
  const joined = uncut(texts.join('\n'), meta?.truncated === true);
  const t = bounded(joined.text, HISTORY_LIMITS.textChars);
  out.text = t.text;
  out.textTruncated = joined.cut || t.cut;
  out.omitted = [...omitted];
  // A message of tool_result blocks only is those results.
  const keep = out.text || out.toolCalls.length || out.omitted.length || out.error || results.length === 0;
  return keep ? [out, ...results] : results;
}

function sizeOf(m: TranscriptMessage): number {
  let n = 200 + Buffer.byteLength(m.text) + Buffer.byteLength(m.error);
  for (const c of m.toolCalls) n += 100 + Buffer.byteLength(c.argumentsJson) + c.name.length;
  return n;
}

/**
 * The transcript in an answer the bus carries: the gateway's messages mapped, the oldest left out
 * when together they would pass HISTORY_LIMITS.answerBytes. `limit` is what was asked of the
 * gateway: a protocol 3 gateway does not say whether there are more, so a full page may have.
 */
export function sessionHistoryOf(raw: z.infer<typeof chatHistoryAnswer>, o: { gateway: string; sessionKey: string; limit: number }): SessionHistory {
  const all = raw.messages.flatMap(messagesOf);
  const kept: TranscriptMessage[] = [];
  let bytes = 0;
  for (let i = all.length - 1; i >= 0; i--) {
    bytes += sizeOf(all[i]!);
    if (bytes > HISTORY_LIMITS.answerBytes && kept.length > 0) break;
    kept.push(all[i]!);
  }
  kept.reverse();
  const cutHere = kept.length < all.length;
  const hasMore = raw.hasMore ?? (raw.totalMessages !== undefined ? raw.totalMessages > raw.messages.length : raw.messages.length >= o.limit);
  return {
    gateway: o.gateway,
    sessionKey: o.sessionKey,
    sessionId: raw.sessionId ?? '',
    messages: kept,
    hasMore: hasMore || cutHere,
    totalMessages: raw.totalMessages ?? 0,
    dropped: droppedParts(raw).slice(0, 20),
  };
}
