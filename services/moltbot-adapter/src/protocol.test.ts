import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { agentEvent, agentFinal, agentsList, chatEvent, droppedParts, inboundFrame, jsonObject, sessionsList } from './protocol.js';

const fixture = <T = Record<string, any>>(name: string) => JSON.parse(readFileSync(new URL(`../fixtures/openclaw-2026.9.6/${name}`, import.meta.url), 'utf8')) as T;

/** Every frame the adapter reads, as openclaw 2026.9.6 sent it (fixtures/openclaw-2026.9.6). */
describe('the adapter reads what openclaw 2026.9.6 sends', () => {
  it('agents.list, with the model as {primary}', () => {
    const r = agentsList.safeParse(fixture('agents-list.json'));
    expect(r.success).toBe(true);
    if (!r.success) return;
    expect(droppedParts(r.data)).toEqual([]);
    expect(r.data.defaultId).toBe('main');
    expect(r.data.agents.map((a) => [a.id, a.name, a.model])).toEqual([
      ['main', 'Main (model stand-in)', 'molten/stand-in'],
      ['unrouted', 'No provider', 'openai/gpt-6-astra'],
    ]);
  });

  it('sessions.list, health', () => {
    const r = sessionsList.safeParse(fixture('sessions-list.json'));
    expect(r.success && droppedParts(r.data)).toEqual([]);
    if (!r.success) return;
    expect(r.data.defaults).toMatchObject({ modelProvider: 'molten', model: 'stand-in' });
    const main = r.data.sessions.find((s) => s.key === 'agent:main:main');
    expect(main).toMatchObject({ lastMessagePreview: 'Molten reached the real gateway.', updatedAt: expect.any(Number), totalTokens: expect.any(Number) });
    expect(jsonObject.safeParse(fixture('health.json')).success).toBe(true);
  });

  it('an agent run: the frames, its agent and chat events, and both answers', () => {
    for (const name of ['agent-run-ok.json', 'agent-run-no-provider.json']) {
      const run = fixture<{ accepted: unknown; events: Array<{ event: string; payload: unknown }>; final: { payload: unknown } }>(name);
      for (const frame of [run.accepted, run.final, ...run.events]) {
        const f = inboundFrame.safeParse(frame);
        expect(f.success && droppedParts(f.data)).toEqual([]);
      }
      for (const e of run.events) {
        const parsed = (e.event === 'agent' ? agentEvent : chatEvent).safeParse(e.payload);
        expect(parsed.success && droppedParts(parsed.data)).toEqual([]);
      }
      expect(agentFinal.safeParse(run.final.payload).success).toBe(true);
    }
    const ok = fixture<{ events: Array<{ event: string; payload: { stream?: string; data?: { delta?: string } } }> }>('agent-run-ok.json');
    const deltas = ok.events.filter((e) => e.event === 'agent' && e.payload.stream === 'assistant').map((e) => e.payload.data?.delta);
    expect(deltas.join('')).toBe('Molten reached the real gateway.');
  });
});
