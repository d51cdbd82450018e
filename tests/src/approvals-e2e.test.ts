import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@molten/testkit';
import { guestPicker, isRunningVm, startStack, type Stack } from './stack.js';

/**
 * Issue 11's approvals on real components: nats-server, the api, the proxmox-adapter and the PVE
 * simulator. An agent's stop (through the Commands port, as MCP will call it) waits for an
 * operator; the simulator is the witness of what reached Proxmox.
 */
describe('approvals end to end', () => {
  let stack: Stack;
  const picker = guestPicker();
  const take = () => picker.take(stack.sim.guests(), isRunningVm);
  const agentStop = (vmid: number) => stack.api.commands.power({ principal: { name: 'agent', role: 'agent', key: 'agent' }, via: 'mcp' }, { vmid, action: 'stop' });
  const posts = (vmid: number) => stack.sim.countRequests({ method: 'POST', vmid });
  const status = async (id: string) => (await stack.json(`/api/commands/${id}`)).body.data.status;

  beforeAll(async () => {
    stack = await startStack({ env: { MOLTEN_APPROVAL_TTL_MS: '60000' } });
    await waitFor(async () => {
      const r = (await stack.json('/api/vms')).body;
      return r.data?.length === stack.sim.guests().length && r.meta.stale === false;
    }, { message: 'all guests listed, live', timeoutMs: 20_000 });
  });
  afterAll(() => stack?.stop());

  it('approve: the simulator sees exactly one POST, and the guest stops', async () => {
    const vm = take();
    const id = (await agentStop(vm.vmid)).record.command!.id;
    expect(await status(id)).toBe('awaiting_approval');
    expect(posts(vm.vmid)).toBe(0);
    expect((await stack.json(`/api/approvals/${id}/approve`, { method: 'POST', body: '{}' })).status).toBe(200);
    await stack.waitCommand(id, ['succeeded'], 30_000);
    expect(posts(vm.vmid)).toBe(1);
    expect(stack.sim.guest(vm.vmid)!.status).toBe('stopped');
  });

  it('deny: no POST reaches the simulator', async () => {
    const vm = take();
    const id = (await agentStop(vm.vmid)).record.command!.id;
    expect((await stack.json(`/api/approvals/${id}/deny`, { method: 'POST', body: '{"reason":"no"}' })).status).toBe(200);
    expect(await status(id)).toBe('denied');
    expect(posts(vm.vmid)).toBe(0);
    expect(stack.sim.guest(vm.vmid)!.status).toBe('running');
  });

  it('an api restart keeps a pending approval; approved after it, it runs once', async () => {
    const vm = take();
    const id = (await agentStop(vm.vmid)).record.command!.id;
    await stack.restartApi(200);
    const got = await stack.json(`/api/approvals/${id}`);
    expect(got.body.data.status).toBe('pending');
    expect(posts(vm.vmid)).toBe(0);
    expect((await stack.json(`/api/approvals/${id}/approve`, { method: 'POST' })).status).toBe(200);
    await stack.waitCommand(id, ['succeeded'], 30_000);
    expect(posts(vm.vmid)).toBe(1);
  });
});
