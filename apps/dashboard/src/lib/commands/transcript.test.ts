import { describe, expect, test } from 'vitest';
import { assistantText, lifecycleNote, sameText } from './transcript';

describe('transcript', () => {
  test('reads lifecycle phases in words, keeping the gateway’s reason', () => {
    expect(lifecycleNote('start\n')).toBe('Run started');
    expect(lifecycleNote('end\n')).toBe('Run finished');
    expect(lifecycleNote('error: No route-compatible authentication source is configured for openai.\n')).toBe(
      'Run failed: No route-compatible authentication source is configured for openai.',
    );
    expect(lifecycleNote('final')).toBe('Answer complete');
    expect(lifecycleNote('paused')).toBe('Run paused');
  });

  test('joins what the agent wrote, and compares texts whitespace aside', () => {
    const lines = [
      { seq: 1, at: '', stream: 'lifecycle', text: 'start\n' },
      { seq: 2, at: '', stream: 'assistant', text: 'All three ' },
      { seq: 3, at: '', stream: 'tool', text: 'list_vms\n' },
      { seq: 4, at: '', stream: 'assistant', text: 'nodes are up.' },
    ];
    expect(assistantText(lines)).toBe('All three nodes are up.');
    expect(sameText('All three nodes\nare up. ', 'All three nodes are up.')).toBe(true);
    expect(sameText('All three nodes are up.', 'Two nodes are up.')).toBe(false);
  });
});
