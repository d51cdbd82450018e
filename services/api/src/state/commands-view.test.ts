import { describe, expect, it } from 'vitest';
import { CommandStatus, commandStatusName, type Command, type CommandTransition } from '@molten/contracts';
import { requestedRecord } from '@molten/bus';
import { CommandsView } from './commands-view.js';

const T0 = 1_700_000_000_000;
const command: Command = {
  id: '01JCOMMANDVIEWTEST00000001',
  correlationId: '',
  actor: { kind: 'user', name: 'op', role: 'operator' },
  domain: 'proxmox',
  scope: 'homelab',
  action: 'vm-stop',
  createdAtMs: T0,
  acceptByMs: T0 + 15_000,
  deadlineMs: T0 + 300_000,
  idempotencyKey: '',
  reason: '',
  payload: { $case: 'power', value: { vmid: 101, action: 'stop', node: 'pve1', type: 'qemu' } },
};
const step = (status: CommandStatus, atMs: number): CommandTransition => ({ commandId: command.id, status, atMs, message: commandStatusName(status), by: 'adapter', upstreamTaskId: '', resultJson: '' });

describe('CommandsView.apply', () => {
  it('follows the lifecycle, also across a step it never heard of', () => {
    const view = new CommandsView();
    view.put(requestedRecord(command, 'api', T0));
    expect(view.apply(step(CommandStatus.COMMAND_STATUS_RUNNING, T0 + 20))!.status).toBe(CommandStatus.COMMAND_STATUS_RUNNING);
    expect(view.apply(step(CommandStatus.COMMAND_STATUS_SUCCEEDED, T0 + 30))!.status).toBe(CommandStatus.COMMAND_STATUS_SUCCEEDED);
  });

  it('never moves a command back for a late copy of an earlier step, and puts it in its place in the history', () => {
    const view = new CommandsView();
    const seen: string[] = [];
    view.onChange((r) => seen.push(commandStatusName(r.status)));
    view.put(requestedRecord(command, 'api', T0));
    view.apply(step(CommandStatus.COMMAND_STATUS_RUNNING, T0 + 20));
    view.apply(step(CommandStatus.COMMAND_STATUS_SUCCEEDED, T0 + 30));
    // The stream missed `accepted` and got it again after the rest.
    const r = view.apply(step(CommandStatus.COMMAND_STATUS_ACCEPTED, T0 + 10))!;
    expect(r.status).toBe(CommandStatus.COMMAND_STATUS_SUCCEEDED);
    expect(r.transitions.map((t) => commandStatusName(t.status))).toEqual(['requested', 'accepted', 'running', 'succeeded']);
    expect(view.open()).toEqual([]);
    expect(seen.at(-1)).toBe('succeeded');
    // A copy of a step already there changes nothing.
    expect(view.apply(step(CommandStatus.COMMAND_STATUS_ACCEPTED, T0 + 10))!.transitions).toHaveLength(4);
  });
});
