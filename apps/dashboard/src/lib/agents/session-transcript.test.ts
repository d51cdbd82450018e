import type { TranscriptMessage } from '@molten/contracts/rest';
import { describe, expect, test } from 'vitest';
import { argumentsPretty, argumentsPreview, historyPath, isLongText, noteTitle, speaker, transcriptItems } from './session-transcript';

const msg = (over: Partial<TranscriptMessage>): TranscriptMessage => ({
  role: 'user',
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
  ...over,
});

describe('a session transcript as the page lists it', () => {
  test('folds each tool result under the call it answers; a result whose call is not in view stays on its own', () => {
    const messages = [
      msg({ id: 'r0', role: 'tool', toolCallId: 'older', toolName: 'ls', text: 'from a call on an older page' }),
      msg({ id: 'u', role: 'user', text: 'Why is pve2 swapping?' }),
      msg({ id: 'a1', role: 'assistant', toolCalls: [{ id: 'c1', name: 'exec', argumentsJson: '{"command":"free -m"}', argumentsTruncated: false }, { id: 'c2', name: 'exec', argumentsJson: '{}', argumentsTruncated: false }] }),
      msg({ id: 'r1', role: 'tool', toolCallId: 'c1', toolName: 'exec', text: 'Swap: 8191 6890' }),
      msg({ id: 'a2', role: 'assistant', text: 'It is short of memory.' }),
    ];
    const items = transcriptItems(messages);
    expect(items.map((i) => i.key)).toEqual(['r0', 'u', 'a1', 'a2']);
    expect(items[2]!.steps.map((s) => [s.call.id, s.result?.id])).toEqual([
      ['c1', 'r1'],
      ['c2', undefined],
    ]);
  });

  test('keys messages without an id (Moltbot) by their place, so the list stays keyed uniquely', () => {
    const items = transcriptItems([msg({ text: 'a' }), msg({ text: 'b' })]);
    expect(new Set(items.map((i) => i.key)).size).toBe(2);
  });

  test('shows a call’s arguments on one line, cut, and laid out when opened', () => {
    expect(argumentsPreview('{"command":"ssh root@pve2 free -m","timeout":30}')).toBe('command: "ssh root@pve2 free -m", timeout: 30');
    expect(argumentsPreview('{"path":"."}')).toBe('path: "."');
    expect(argumentsPreview('["a"]')).toBe('["a"]');
    expect(argumentsPreview('not json {')).toBe('not json {');
    expect(argumentsPreview(JSON.stringify({ text: 'x'.repeat(500) }))).toHaveLength(120);
    expect(argumentsPreview(JSON.stringify({ text: 'x'.repeat(500) })).endsWith('…')).toBe(true);
    expect(argumentsPretty('{"a":{"b":1}}')).toBe('{\n  "a": {\n    "b": 1\n  }\n}');
    expect(argumentsPretty('{"a":')).toBe('{"a":');
  });

  test('folds text that is long or has many lines', () => {
    expect(isLongText('short')).toBe(false);
    expect(isLongText('x'.repeat(701))).toBe(true);
    expect(isLongText(Array(10).fill('line').join('\n'))).toBe(false);
    expect(isLongText(Array(11).fill('line').join('\n'))).toBe(true);
  });

  test('names who wrote each message, and the gateway’s notes in words', () => {
    expect(speaker(msg({ role: 'user' }), 'Molty')).toBe('User');
    expect(speaker(msg({ role: 'assistant' }), 'Molty')).toBe('Molty');
    expect(speaker(msg({ role: 'assistant' }), '')).toBe('Agent');
    expect(speaker(msg({ role: 'tool', toolName: 'exec' }), 'Molty')).toBe('Tool · exec');
    expect(speaker(msg({ role: 'note' }), 'Molty')).toBe('Gateway');
    expect(noteTitle('run-failed-before-reply')).toBe('Run failed before a reply');
    expect(noteTitle('compaction_summary')).toBe('Compaction summary');
  });

  test('asks the api for the session by its encoded key', () => {
    expect(historyPath('default', 'agent:main:slack/C1', 200)).toBe('/api/agents/sessions/default/agent%3Amain%3Aslack%2FC1/history?limit=200');
  });
});
