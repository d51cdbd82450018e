import { describe, expect, test } from 'vitest';
import { ApiError } from '$lib/api/client';
import { command, commandAt } from '$lib/test/fixtures';
import { CommandRun } from './command-run.svelte';
import { Commands } from './commands.svelte';

describe('a followed command (tool call, agent run)', () => {
  test('follows its command from the events to the result', async () => {
    const commands = new Commands();
    const run = new CommandRun(commands, { newKey: () => 'k1' });
    const keys: string[] = [];
    const base = command({ id: 'T1', action: 'tool-call', target: { kind: 'tool', serverId: 'homelab', tool: 'echo', arguments: {} } });
    await run.start(async (key) => {
      keys.push(key);
      return base;
    });
    expect(keys).toEqual(['k1']);
    expect(run.phase).toBe('requested');
    expect(run.busy).toBe(true);
    commands.put(commandAt(base, 'accepted', 'running'));
    expect(run.phase).toBe('running');
    commands.put({ ...commandAt(base, 'accepted', 'running', 'succeeded'), result: { content: [{ type: 'text', text: 'hi' }] } });
    expect(run.phase).toBe('succeeded');
    expect(run.settled).toBe(true);
    expect(run.command?.result).toEqual({ content: [{ type: 'text', text: 'hi' }] });
    // Someone else's command changes nothing.
    commands.put(commandAt(command({ id: 'OTHER' }), 'failed'));
    expect(run.phase).toBe('succeeded');
  });

  test('an error answer is kept for the form, and the run is idle again', async () => {
    const run = new CommandRun(new Commands());
    await run.start(async () => {
      throw new ApiError(400, 'invalid_request', 'bad', { field: 'arguments.name' });
    });
    expect(run.phase).toBe('idle');
    expect(run.error?.details.field).toBe('arguments.name');
  });

  test('a result that arrived before the POST answer is not lost', async () => {
    const commands = new Commands();
    const run = new CommandRun(commands);
    const base = command({ id: 'FAST' });
    await run.start(async () => {
      commands.put(commandAt(base, 'accepted', 'failed'));
      return base;
    });
    expect(run.phase).toBe('failed');
  });
});
