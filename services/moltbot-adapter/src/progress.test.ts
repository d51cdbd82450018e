import { describe, expect, it } from 'vitest';
import { testLogger } from '@molten/testkit';
import { ProgressCoalescer } from './progress.js';

describe('progress coalescer', () => {
  it('sends one message per stream per interval, in the order the streams spoke', async () => {
    const sent: Array<[string, string]> = [];
    const p = new ProgressCoalescer(async (s, t) => void sent.push([s, t]), testLogger(), 1_000);
    p.push('lifecycle', 'start\n');
    for (let i = 0; i < 50; i++) p.push('assistant', `t${i} `);
    p.push('tool', 'exec start\n');
    p.push('assistant', 'done');
    expect(sent).toEqual([]); // nothing before the interval (or a flush)
    await p.close();
    expect(sent.map(([s]) => s)).toEqual(['lifecycle', 'assistant', 'tool']);
    expect(sent[1]![1]).toBe(`${Array.from({ length: 50 }, (_, i) => `t${i} `).join('')}done`);
    p.push('assistant', 'after close');
    await p.flush();
    expect(sent).toHaveLength(3);
  });

  it('flushes on its own after the interval and survives a failing publish', async () => {
    const sent: string[] = [];
    let fail = true;
    const p = new ProgressCoalescer(
      async (_s, t) => {
        if (fail) {
          fail = false;
          throw new Error('bus away');
        }
        sent.push(t);
      },
      testLogger(),
      20,
    );
    p.push('assistant', 'lost ');
    await new Promise((r) => setTimeout(r, 80));
    p.push('assistant', 'kept');
    await new Promise((r) => setTimeout(r, 80));
    expect(sent).toEqual(['kept']);
    await p.close();
  });
});
