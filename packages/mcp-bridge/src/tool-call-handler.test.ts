import { describe, expect, it } from 'vitest';
import type { CommandContext } from '@molten/bus';
import { CommandStatus, type Command } from '@molten/contracts';
import { testLogger, waitFor } from '@molten/testkit';
import type { CallToolResult, McpTool } from '@molten/mcp-client';
import { ToolCallHandler, type CallFailure, type ToolCallClient, type ToolCallHandlerOptions, type ToolCallOptions } from './tool-call-handler.js';

/**
 * The shared tool-call handler with a client made up here: what it sends, what it records and
 * how each kind of failure ends the command. The adapters' own tests run it against real
 * servers and simulators.
 */
const log = testLogger('tool-call-handler');

const echo: McpTool = {
  name: 'echo',
  inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'], additionalProperties: false },
};
const wipe: McpTool = { name: 'wipe', inputSchema: { type: 'object' } };
const readOnly = (t: McpTool) => t.name === 'echo';

class Thrown extends Error {
  constructor(readonly failure: CallFailure) {
    super(failure.message);
  }
}

function fakeClient(answer: (name: string, args: Record<string, unknown>) => CallToolResult | Error) {
  const sent: { name: string; args: Record<string, unknown> }[] = [];
  const client: ToolCallClient & { status: string; usable: boolean; known: boolean; waited: number } = {
    status: 'connected',
    usable: true,
    known: true,
    waited: 0,
    get health() {
      return { status: this.status, reason: 'it said so', remedy: 'Wait.', usable: this.usable };
    },
    get tools() {
      return this.known ? [echo, wipe] : [];
    },
    get toolsKnown() {
      return this.known;
    },
    tool(name) {
      return this.tools.find((t) => t.name === name);
    },
    async whenConnected() {
      this.waited++;
      return this.usable;
    },
    async callTool(name: string, args: Record<string, unknown>, opts: ToolCallOptions) {
      await opts.beforeSend();
      sent.push({ name, args });
      opts.onProgress?.({ progress: 1, total: 2, message: 'half' });
      const a = answer(name, args);
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return { client, sent };
}

function handler(client: ToolCallClient, o: Partial<ToolCallHandlerOptions> = {}) {
  return new ToolCallHandler({
    client,
    serverIds: ['mcp-test', 'test'],
    words: {
      server: '"test"',
      wrongServer: (id) => `not for ${id}`,
      notRepeated: (tool) => ({ message: `${tool} is not sent again`, remedy: `Look at ${tool}.` }),
    },
    canRepeat: async (_tool, entry) => (await entry())?.name === 'echo',
    classify: (err) => (err instanceof Thrown ? err.failure : undefined),
    ...o,
  });
}

function ctx(tool: string, args: unknown, o: { serverId?: string; deadlineMs?: number; argumentsJson?: string } = {}) {
  const calls: string[] = [];
  const command: Command = {
    id: '01TEST',
    correlationId: '01TEST',
    domain: 'mcp',
    scope: 'test',
    action: 'tool-call',
    createdAtMs: Date.now(),
    acceptByMs: Date.now() + 5_000,
    deadlineMs: o.deadlineMs ?? Date.now() + 20_000,
    idempotencyKey: '', reason: '',
    payload: { $case: 'toolCall', value: { serverId: o.serverId ?? 'mcp-test', tool, argumentsJson: o.argumentsJson ?? JSON.stringify(args) } },
  };
  const c: CommandContext = {
    command,
    record: { command, status: CommandStatus.COMMAND_STATUS_ACCEPTED, transitions: [], upstreamTaskId: '', upstreamCallAtMs: 0, resultJson: '', updatedAtMs: Date.now() },
    signal: new AbortController().signal,
    log,
    beforeUpstreamCall: async () => void calls.push('beforeUpstreamCall'),
    running: async (taskId, message) => void calls.push(`running:${taskId}:${message}`),
    progress: async (stream, text) => void calls.push(`progress:${stream}:${text}`),
  };
  return { c, calls };
}

const ok = (text: string): CallToolResult => ({ content: [{ type: 'text', text }], structuredContent: { text } });

describe('shared tool-call handler', () => {
  it('records the call right before sending it, and gives the result with isError spelled out', async () => {
    const { client, sent } = fakeClient((_, args) => ok(String(args.message)));
    const { c, calls } = ctx('echo', { message: 'hi' });
    const out = await handler(client).execute(c);
    expect(out).toEqual({ status: 'succeeded', message: 'echo on "test" done', resultJson: JSON.stringify({ ...ok('hi'), isError: false }) });
    expect(calls).toEqual(['beforeUpstreamCall', 'running::calling echo on "test"', 'progress:tool:half (1/2)']);
    expect(sent).toEqual([{ name: 'echo', args: { message: 'hi' } }]);
  });

  it('sends the call without waiting for its running record, and ends only once that record landed', async () => {
    const { client, sent } = fakeClient((_, args) => ok(String(args.message)));
    const { c, calls } = ctx('echo', { message: 'hi' });
    let recorded!: () => void;
    c.running = () => new Promise<void>((resolve) => (recorded = () => (calls.push('recorded'), resolve())));
    let ended = false;
    const out = handler(client)
      .execute(c)
      .finally(() => (ended = true));
    await waitFor(() => sent.length === 1, { message: 'the call was sent while running was being recorded' });
    await new Promise((r) => setImmediate(r));
    expect(ended).toBe(false);
    recorded();
    expect((await out).status).toBe('succeeded');
    expect(calls).toEqual(['beforeUpstreamCall', 'progress:tool:half (1/2)', 'recorded']);
  });

  it("ends an isError result failed with tool_error and the result's text", async () => {
    const { client } = fakeClient(() => ({ content: [{ type: 'text', text: '  no such thing \n' }], isError: true }));
    const out = await handler(client).execute(ctx('echo', { message: 'x' }).c);
    expect(out).toMatchObject({ status: 'failed', message: 'echo reported an error: no such thing', error: { code: 'tool_error', message: 'no such thing' } });
    expect(JSON.parse(out.resultJson!)).toEqual({ content: [{ type: 'text', text: '  no such thing \n' }], isError: true });
  });

  it('sends nothing for a bad payload, another server, an unknown tool or arguments that do not match', async () => {
    const { client, sent } = fakeClient(() => ok(''));
    const h = handler(client);
    expect((await h.execute(ctx('echo', {}, { argumentsJson: '{' }).c)).error).toMatchObject({ code: 'invalid', message: 'argumentsJson is not JSON' });
    expect((await h.execute(ctx('echo', [1]).c)).error).toMatchObject({ code: 'invalid', message: 'the arguments must be a JSON object' });
    expect((await h.execute(ctx('echo', { message: 'x' }, { serverId: 'other' }).c)).error).toMatchObject({ code: 'invalid', message: 'not for other' });
    expect((await h.execute(ctx('echo', { message: 'x' }, { serverId: 'test' }).c)).status).toBe('succeeded');
    sent.length = 0;
    expect(await h.execute(ctx('nope', {}).c)).toMatchObject({
      status: 'failed',
      message: '"test" has no tool "nope" (it offers: echo, wipe)',
      error: { code: 'not_found', remedy: 'Pick one of the tools the server lists (GET /api/servers).' },
    });
    const { c, calls } = ctx('echo', { mesage: 'x' });
    expect(await h.execute(c)).toMatchObject({
      status: 'failed',
      error: { code: 'invalid', fields: { message: expect.any(String), mesage: expect.any(String) }, remedy: 'Correct the arguments; the schema is in the tool list of "test".' },
    });
    expect(calls).toEqual([]);
    expect(sent).toEqual([]);
  });

  it('waits briefly for a server that is not usable, then says why the tool was not called', async () => {
    const { client, sent } = fakeClient(() => ok(''));
    Object.assign(client, { status: 'down', usable: false, known: false });
    expect(await handler(client).execute(ctx('echo', { message: 'x' }).c)).toMatchObject({
      status: 'failed',
      message: '"test" is down: it said so; echo was not called',
      error: { code: 'unreachable', remedy: 'Wait.' },
    });
    expect(client.waited).toBe(1);
    client.status = 'auth_failed';
    expect((await handler(client).execute(ctx('echo', { message: 'x' }).c)).error?.code).toBe('auth');
    expect(client.waited).toBe(1); // refused credentials: no wait
    expect(sent).toEqual([]);
  });

  it('ends a command whose deadline has passed timed_out without sending', async () => {
    const { client, sent } = fakeClient(() => ok(''));
    const out = await handler(client).execute(ctx('echo', { message: 'x' }, { deadlineMs: Date.now() + 100 }).c);
    expect(out).toMatchObject({ status: 'timed_out', message: 'the deadline passed before echo could be called; nothing was sent', error: { code: 'deadline' } });
    expect(sent).toEqual([]);
  });

  it("maps a failure by the classifier's verdict: deadline timed_out, maybe uncertain, else failed", async () => {
    const fail = (f: CallFailure) => handler(fakeClient(() => new Thrown(f)).client).execute(ctx('wipe', {}).c);
    expect(await fail({ code: 'deadline', message: 'too slow', delivered: 'maybe' })).toEqual({
      status: 'timed_out',
      message: 'too slow',
      error: { code: 'deadline', message: 'too slow', upstreamStatus: '', remedy: '', privilege: '', fields: {} },
    });
    expect(await fail({ code: 'connection_lost', message: 'dropped', remedy: 'Check.', upstreamStatus: '502', delivered: 'maybe' })).toEqual({
      status: 'uncertain',
      message: 'dropped; wipe was sent, and whether it ran is unknown',
      error: { code: 'connection_lost', message: 'dropped', upstreamStatus: '502', remedy: 'Check.', privilege: '', fields: {} },
    });
    expect(await fail({ code: 'invalid', message: 'refused', upstreamStatus: '-32602', fields: { a: 'b' }, delivered: 'yes' })).toEqual({
      status: 'failed',
      message: 'refused',
      error: { code: 'invalid', message: 'refused', upstreamStatus: '-32602', remedy: '', privilege: '', fields: { a: 'b' } },
    });
    expect((await fail({ code: 'unreachable', message: 'gone', delivered: 'no' })).status).toBe('failed');
    const { client } = fakeClient(() => new Error('not classified'));
    await expect(handler(client).execute(ctx('wipe', {}).c)).rejects.toThrow('not classified');
  });

  describe('one write before the call (oneWriteBeforeCall)', () => {
    /** A context whose beforeUpstreamCall lands when the test says so. */
    const held = (tool: string, args: unknown) => {
      const { c, calls } = ctx(tool, args);
      let land!: (err?: Error) => void;
      c.beforeUpstreamCall = (o) => {
        calls.push(`beforeUpstreamCall:${o?.running ?? ''}`);
        return new Promise<void>((resolve, reject) => (land = (err) => (calls.push(err ? 'refused' : 'landed'), err ? reject(err) : resolve())));
      };
      return { c, calls, land: (err?: Error) => land(err) };
    };

    it('accepts with the call only while the call would go out at once and the tool is listed, one such command at a time', async () => {
      const { client, sent } = fakeClient(() => ok(''));
      const first = ctx('echo', { message: 'x' });
      const second = ctx('echo', { message: 'y' });
      second.c.command = { ...second.c.command, id: '01TEST2' };
      expect(handler(client).acceptsWithCall(first.c.command)).toBe(false);
      const h = handler(client, { oneWriteBeforeCall: true });
      expect(h.acceptsWithCall(ctx('nope', {}).c.command)).toBe(false);
      expect(h.acceptsWithCall(first.c.command)).toBe(true);
      // Until the first one's call has gone out, another is accepted on its own.
      expect(h.acceptsWithCall(second.c.command)).toBe(false);
      await h.execute(first.c);
      expect(sent).toHaveLength(1);
      expect(h.acceptsWithCall(second.c.command)).toBe(true);
      await h.execute(second.c);
      // A client that says its calls would wait (a limit, reconnecting): accepted on its own.
      const held = Object.assign(client, { sendsAtOnce: false });
      expect(handler(held, { oneWriteBeforeCall: true }).acceptsWithCall(first.c.command)).toBe(false);
      const unusable = fakeClient(() => ok('')).client;
      unusable.usable = false;
      expect(handler(unusable, { oneWriteBeforeCall: true }).acceptsWithCall(first.c.command)).toBe(false);
    });

    it('sends a tool that is not read-only only once the write (marked and running) landed, and records running in it', async () => {
      const { client, sent } = fakeClient(() => ok('wiped'));
      const { c, calls, land } = held('wipe', {});
      const out = handler(client, { oneWriteBeforeCall: true, readOnly }).execute(c);
      await waitFor(() => calls.length === 1);
      await new Promise((r) => setImmediate(r));
      expect(sent).toEqual([]);
      land();
      expect((await out).status).toBe('succeeded');
      expect(sent.map((x) => x.name)).toEqual(['wipe']);
      expect(calls).toEqual(['beforeUpstreamCall:calling wipe on "test"', 'landed', 'progress:tool:half (1/2)']);
    });

    it('sends a read-only tool beside the write, and ends only once the write landed', async () => {
      const { client, sent } = fakeClient(() => ok('hi'));
      const { c, calls, land } = held('echo', { message: 'hi' });
      let ended = false;
      const out = handler(client, { oneWriteBeforeCall: true, readOnly })
        .execute(c)
        .finally(() => (ended = true));
      await waitFor(() => sent.length === 1, { message: 'the read was sent before its write landed' });
      await new Promise((r) => setImmediate(r));
      expect(ended).toBe(false);
      land();
      expect(await out).toMatchObject({ status: 'succeeded', message: 'echo on "test" done' });
      expect(calls).toEqual(['beforeUpstreamCall:calling echo on "test"', 'progress:tool:half (1/2)', 'landed']);
    });

    it('gives no outcome for a read-only call whose write was refused (another delivery took it): the delivery steps back', async () => {
      const { client, sent } = fakeClient(() => ok('hi'));
      const { c, land } = held('echo', { message: 'hi' });
      const out = handler(client, { oneWriteBeforeCall: true, readOnly }).execute(c);
      await waitFor(() => sent.length === 1);
      land(new Error('its upstream call is marked already'));
      await expect(out).rejects.toThrow('its upstream call is marked already');
      // The same when the read itself failed meanwhile: the refusal wins, the failure is not recorded.
      const failing = fakeClient(() => new Thrown({ code: 'unreachable', message: 'gone', delivered: 'no' }));
      const second = held('echo', { message: 'hi' });
      const out2 = handler(failing.client, { oneWriteBeforeCall: true, readOnly }).execute(second.c);
      await waitFor(() => second.calls.length === 1);
      second.land(new Error('refused'));
      await expect(out2).rejects.toThrow('refused');
    });
  });

  it('on resume calls again only what canRepeat allows, waiting for the catalog when it asks for it', async () => {
    const { client, sent } = fakeClient(() => ok('again'));
    client.known = false;
    client.whenConnected = async function (this: typeof client) {
      this.waited++;
      this.known = true;
      return true;
    };
    expect((await handler(client).resume(ctx('echo', { message: 'x' }).c)).status).toBe('succeeded');
    expect(client.waited).toBe(1);
    expect(sent.map((s) => s.name)).toEqual(['echo']);
    expect(await handler(client).resume(ctx('wipe', {}).c)).toEqual({
      status: 'uncertain',
      message: 'wipe is not sent again',
      error: { code: 'connection_lost', message: 'wipe is not sent again', upstreamStatus: '', remedy: 'Look at wipe.', privilege: '', fields: {} },
    });
    // A policy by name alone: the catalog is not waited for.
    client.known = false;
    expect((await handler(client, { canRepeat: () => false }).resume(ctx('echo', { message: 'x' }).c)).status).toBe('uncertain');
    expect(client.waited).toBe(1);
    expect(sent.map((s) => s.name)).toEqual(['echo']);
  });
});
