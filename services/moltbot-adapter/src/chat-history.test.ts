import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registerSecret } from '@molten/kit';
import { HISTORY_LIMITS, chatHistoryAnswer, chatHistoryParams, sessionHistoryOf } from './chat-history.js';
import { droppedParts } from './protocol.js';

const recorded = JSON.parse(readFileSync(new URL('../fixtures/openclaw-2026.9.6/chat-history.json', import.meta.url), 'utf8')) as Record<string, any>;

function history(payload: unknown, o: { sessionKey?: string; limit?: number } = {}) {
  const r = chatHistoryAnswer.safeParse(payload);
  if (!r.success) throw r.error;
  return sessionHistoryOf(r.data, { gateway: 'gw', sessionKey: o.sessionKey ?? 'agent:main:main', limit: o.limit ?? 200 });
}

describe('chat.history as openclaw 2026.9.6 answers it (fixtures/openclaw-2026.9.6/chat-history.json)', () => {
  it('reads a session with a reply, a tool call, its result and a reply, oldest first, nothing dropped', () => {
    const parsed = chatHistoryAnswer.safeParse(recorded['agent:main:main']);
    expect(parsed.success && droppedParts(parsed.data)).toEqual([]);
    const h = history(recorded['agent:main:main']);
    expect(h).toMatchObject({ gateway: 'gw', sessionKey: 'agent:main:main', sessionId: recorded['agent:main:main'].sessionId, hasMore: false, totalMessages: 6, dropped: [] });
    expect(h.messages.map((m) => [m.role, m.text])).toEqual([
      ['user', 'Say hello to Molten.'],
      ['assistant', 'Molten reached the real gateway.'],
      ['user', 'List your workspace, then say hello.'],
      ['assistant', ''],
      ['tool', expect.stringContaining('"AGENTS.md"')],
      ['assistant', 'Molten reached the real gateway.'],
    ]);
    const [, reply, prompt, call, result] = h.messages;
    expect(reply).toMatchObject({ model: 'molten/stand-in', stopReason: 'stop', textTruncated: false, omitted: [] });
    expect(reply!.timestampMs).toBeGreaterThan(1_700_000_000_000);
    expect(reply!.id).toMatch(/^[0-9a-f-]{36}$/);
    // The run that wrote each message: a reply names it, a prompt carries it in its idempotency key.
    expect(prompt!.runId).toBe(call!.runId);
    expect(prompt!.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(call).toMatchObject({ stopReason: 'toolUse', toolCalls: [{ id: 'call_molten_2', name: 'ls', argumentsJson: '{"path":"."}', argumentsTruncated: false }] });
    expect(result).toMatchObject({ role: 'tool', toolCallId: 'call_molten_2', toolName: 'ls', isError: false });
  });

  it('keeps the cut the gateway made (maxChars) as text_truncated, without its marker', () => {
    const h = history(recorded['agent:main:main maxChars 12'], { limit: 2 });
    expect(h.hasMore).toBe(true);
    expect(h.totalMessages).toBe(6);
    expect(h.messages.map((m) => [m.role, m.text, m.textTruncated])).toEqual([
      ['tool', '".git/"\n"AGE', true],
      ['assistant', 'Molten reach', true],
    ]);
  });

  it("shows the gateway's note on a run that ended before a reply", () => {
    const h = history(recorded['agent:unrouted:main'], { sessionKey: 'agent:unrouted:main' });
    expect(h.messages).toHaveLength(1);
    expect(h.messages[0]).toMatchObject({
      role: 'note',
      noteKind: 'run-failed-before-reply',
      text: 'This turn ended before a reply: No route-compatible authentication source is configured for openai.',
    });
  });

  it('answers a key the gateway never saw with an empty transcript', () => {
    expect(history(recorded['agent:main:never-used'], { sessionKey: 'agent:main:never-used' })).toMatchObject({ sessionId: '', messages: [], hasMore: false, totalMessages: 0 });
  });
});

describe('chat.history of other shapes', () => {
  it('asks protocol 3 for sessionKey and limit only (it refuses any other key), protocol 4 for a display cap too', () => {
    expect(chatHistoryParams('agent:main:main', 50, 3)).toEqual({ sessionKey: 'agent:main:main', limit: 50 });
    expect(chatHistoryParams('agent:main:main', 50, 4)).toEqual({ sessionKey: 'agent:main:main', limit: 50, maxChars: HISTORY_LIMITS.textChars });
  });

  it('reads Moltbot (protocol 3) messages: no __openclaw, no hasMore; a full page may have more', () => {
    const messages = [
      { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' }], timestamp: 1_769_000_000_000 },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', thinkingSignature: 'sig' }, { type: 'text', text: 'hello' }], stopReason: 'stop', model: 'claude' },
    ];
    const h = history({ sessionKey: 'agent:main:main', sessionId: 's1', messages, thinkingLevel: 'low' }, { limit: 2 });
    expect(h.hasMore).toBe(true);
    expect(h.messages.map((m) => [m.role, m.text, m.omitted, m.runId, m.id])).toEqual([
      ['user', 'hi', ['image'], '', ''],
      ['assistant', 'hello', ['thinking'], '', ''],
    ]);
    expect(h.messages[1]!.model).toBe('claude');
    expect(history({ sessionKey: 'k', messages }, { limit: 3 }).hasMore).toBe(false);
  });

  it('reads tool_use / tool_result spellings, an assistant error, and ISO times', () => {
    const h = history({
      messages: [
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'exec', input: { command: 'uptime' } }], timestamp: '2026-12-04T06:00:00.000Z' },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'up 3 days' }], is_error: true }] },
        { role: 'assistant', content: [], stopReason: 'error', errorMessage: 'rate limited (429)' },
      ],
    });
    expect(h.messages.map((m) => [m.role, m.text, m.toolCalls.map((c) => `${c.name} ${c.argumentsJson}`), m.toolCallId, m.isError, m.error])).toEqual([
      ['assistant', '', ['exec {"command":"uptime"}'], '', false, ''],
      ['tool', 'up 3 days', [], 't1', true, ''],
      ['assistant', '', [], '', false, 'rate limited (429)'],
    ]);
    expect(h.messages[0]!.timestampMs).toBe(Date.parse('2026-12-04T06:00:00.000Z'));
  });

  it('masks secrets in texts and in tool arguments', () => {
    registerSecret('gw-token-abcdef123456');
    const h = history({
      messages: [
        { role: 'user', content: 'use the token gw-token-abcdef123456 and ghp_0123456789abcdefghijABCDEFGHIJ0123' },
        { role: 'assistant', content: [{ type: 'toolCall', id: 'c', name: 'http', arguments: { url: 'https://admin:hunter22@nas.lan/', password: 'hunter22', headers: { Authorization: 'Bearer abc.def.ghi' } } }] },
        { role: 'toolResult', toolCallId: 'c', toolName: 'http', content: [{ type: 'text', text: 'api_key=sk-live-0123456789abcdefghijkl' }] },
      ],
    });
    const all = JSON.stringify(h);
    for (const secret of ['gw-token-abcdef123456', 'ghp_0123456789', 'hunter22', 'abc.def.ghi', 'sk-live-0123456789']) expect(all).not.toContain(secret);
    expect(h.messages[1]!.toolCalls[0]!.argumentsJson).toContain('nas.lan');
  });

  it('cuts long texts and arguments, and leaves the oldest messages out when the answer would be too large', () => {
    const long = 'x'.repeat(HISTORY_LIMITS.textChars + 10);
    const h = history({
      messages: [
        { role: 'user', content: long },
        { role: 'assistant', content: [{ type: 'toolCall', id: 'c', name: 'write', arguments: { text: long } }] },
      ],
    });
    expect(h.messages[0]).toMatchObject({ text: 'x'.repeat(HISTORY_LIMITS.textChars), textTruncated: true });
    expect(h.messages[1]!.toolCalls[0]).toMatchObject({ argumentsTruncated: true });
    expect(h.messages[1]!.toolCalls[0]!.argumentsJson).toHaveLength(HISTORY_LIMITS.argumentsChars);

    const many = Array.from({ length: 300 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `${i} ${long}` }));
    const big = history({ messages: many, hasMore: false, totalMessages: 300 });
    expect(big.messages.length).toBeLessThan(300);
    expect(big.messages.at(-1)!.text.startsWith('299 ')).toBe(true);
    expect(big.hasMore).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(big))).toBeLessThan(HISTORY_LIMITS.answerBytes + 64 * 1024);
  });

  it('drops a message or a field that does not fit and names it; refuses an answer without messages', () => {
    const h = history({ messages: [{ role: 'user', content: 'kept' }, { content: 'no role' }, { role: 'assistant', content: 42, timestamp: 5 }] });
    expect(h.messages.map((m) => [m.role, m.text])).toEqual([
      ['user', 'kept'],
      ['assistant', ''],
    ]);
    expect(h.dropped).toEqual(expect.arrayContaining([expect.stringMatching(/^messages\[1\] /), expect.stringMatching(/^messages\[2\]\.content /)]));
    expect(chatHistoryAnswer.safeParse({ sessionKey: 'k' }).success).toBe(false);
  });
});
