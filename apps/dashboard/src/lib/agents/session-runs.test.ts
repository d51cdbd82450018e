import { describe, expect, test } from 'vitest';
import type { Command } from '$lib/api/types';
import { runAnswer, runsInSession, sessionHref } from './session-runs';

const run = (id: string, createdAt: string, target: { agentId: string; sessionKey?: string; gateway?: string }, result?: unknown): Command =>
  ({
    id, correlationId: '', actor: { kind: 'user', name: 'op', role: 'operator' }, domain: 'moltbot', scope: 'default', action: 'agent-run',
    target: { kind: 'agent', gateway: target.gateway ?? 'default', agentId: target.agentId, message: `task ${id}`, ...(target.sessionKey ? { sessionKey: target.sessionKey } : {}) },
    status: 'succeeded', message: '', createdAt, updatedAt: createdAt, acceptBy: createdAt, deadline: createdAt, transitions: [], result,
  }) as Command;

describe('the runs of a session', () => {
  const commands = [
    run('a', '2026-01-01T00:00:01Z', { agentId: 'main' }),
    run('b', '2026-01-01T00:00:03Z', { agentId: 'main', sessionKey: 'agent:main:main' }),
    run('c', '2026-01-01T00:00:02Z', { agentId: 'main', sessionKey: 'agent:main:telegram:dm:1' }),
    run('d', '2026-01-01T00:00:04Z', { agentId: 'main', gateway: 'other' }),
    { ...run('e', '2026-01-01T00:00:05Z', { agentId: 'main' }), action: 'tool-call', target: { kind: 'tool', serverId: 's', tool: 't', arguments: {} } } as Command,
  ];

  test('are the agent runs sent to it, or with no session to the agent’s main one, on its gateway, newest first', () => {
    expect(runsInSession(commands, { scope: 'default', key: 'agent:main:main' }).map((c) => c.id)).toEqual(['b', 'a']);
    expect(runsInSession(commands, { scope: 'default', key: 'agent:main:telegram:dm:1' }).map((c) => c.id)).toEqual(['c']);
    expect(runsInSession(commands, { scope: 'other', key: 'agent:main:main' }).map((c) => c.id)).toEqual(['d']);
  });

  test('read their answer from the gateway’s payloads, else a text result, else its summary', () => {
    const payloads = { payloads: [{ text: 'All three nodes are up.' }, { text: 'pve2 swaps.' }, { mediaUrl: 'x' }], meta: {} };
    expect(runAnswer(run('x', '', { agentId: 'main' }, { runId: 'r', status: 'ok', summary: 'completed', result: payloads }))).toBe('All three nodes are up.\n\npve2 swaps.');
    expect(runAnswer(run('x', '', { agentId: 'main' }, { runId: 'r', status: 'ok', summary: 'All up.', result: null }))).toBe('All up.');
    expect(runAnswer(run('x', '', { agentId: 'main' }, { summary: 'completed', result: 'text' }))).toBe('text');
    expect(runAnswer(run('x', '', { agentId: 'main' }))).toBe('');
  });

  test('link to a page whose address keeps the key whole', () => {
    expect(sessionHref({ scope: 'default', key: 'agent:main:telegram:dm:4242' })).toBe('/agents/sessions/default/agent%3Amain%3Atelegram%3Adm%3A4242');
  });
});
