import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, requestQuery, type Bus } from '@molten/bus';
import { startGatewaySimulator, type GatewaySimulator } from '@molten/simulators/gateway';
import { NatsServer, testLogger, waitFor } from '@molten/testkit';
import { loadConfig, startMoltbotAdapter, type MoltbotAdapter } from './adapter.js';
import { HISTORY_LIMITS } from './chat-history.js';

const TOKEN = 'session-queries-gateway-token';

/**
 * The session-history query end to end on the bus: a real nats-server, the adapter as it runs,
 * and the gateway simulator speaking protocol 3 or 4 (its shapes are held against the real
 * gateway's by tests/src/openclaw-conformance.test.ts).
 */
describe('session-history: a session transcript read through the moltbot-adapter', () => {
  let nats: NatsServer;
  let bus: Bus;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    nats = await NatsServer.start();
    bus = await connectBus({ servers: nats.url, name: 'asker', log: testLogger('asker') });
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await bus.close();
    await nats.dispose();
  });

  let n = 0;
  async function setup(protocol: number): Promise<{ sim: GatewaySimulator; adapter: MoltbotAdapter; gatewayId: string }> {
    const gatewayId = `hist${++n}`;
    const sim = await startGatewaySimulator({ token: TOKEN, protocol, tickIntervalMs: 1_000, agentStepMs: 5 });
    cleanups.push(() => sim.close());
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'moltbot-history-'));
    // As in production: loadConfig registers the gateway token as a secret.
    const adapter = await startMoltbotAdapter(
      loadConfig({
        NATS_URL: nats.url,
        MOLTBOT_URL: sim.url,
        MOLTBOT_TOKEN: TOKEN,
        MOLTBOT_GATEWAY_ID: gatewayId,
        MOLTBOT_REFRESH_MS: '60000',
        MOLTBOT_DEVICE_AUTH: '0',
        MOLTEN_DATA_DIR: dataDir,
        MOLTEN_HEARTBEAT_MS: '500',
        MOLTEN_INSTANCE: `hist-${gatewayId}`,
      }),
      testLogger('adapter'),
      { client: { reconnect: { initialMs: 50, maxMs: 200 } } },
    );
    cleanups.push(async () => {
      await adapter.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    expect(await adapter.client.waitConnected(10_000)).toBe(true);
    return { sim, adapter, gatewayId };
  }

  const ask = (gatewayId: string, sessionKey: string, limit = 0) => requestQuery(bus, { domain: 'moltbot', scope: gatewayId, what: 'session-history', request: { sessionKey, limit }, timeoutMs: 10_000 });
  const historyOf = async (gatewayId: string, sessionKey: string, limit = 0) => {
    const r = (await ask(gatewayId, sessionKey, limit)).result;
    if (r?.$case !== 'history') throw new Error(`expected a history, got ${JSON.stringify(r)}`);
    return r.value;
  };

  it.each([4, 3])('reads a demo session of a protocol %i gateway: prompts, tool calls, their results and answers, oldest first', async (protocol) => {
    const { gatewayId } = await setup(protocol);
    const h = await historyOf(gatewayId, 'agent:homelab-ops:main');
    expect(h).toMatchObject({ gateway: gatewayId, sessionKey: 'agent:homelab-ops:main', sessionId: 'd5c3e4f6-7081-4c9d-0e1f-2a3b4c5d6e7f', hasMore: false, dropped: [] });
    expect(h.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant', 'tool', 'assistant']);
    expect(h.messages[0]!.text).toBe('Why is pve2 swapping?');
    expect(h.messages[1]!.toolCalls).toEqual([{ id: 'call_swap_1', name: 'exec', argumentsJson: '{"command":"ssh root@pve2 free -m"}', argumentsTruncated: false }]);
    expect(h.messages[2]).toMatchObject({ toolCallId: 'call_swap_1', toolName: 'exec', isError: false, text: expect.stringContaining('Swap:') });
    expect(h.messages.at(-1)!.text).toMatch(/lowering it to 8 GiB frees enough memory on pve2\.$/);
    expect(h.messages.at(-1)!.model).toBe('anthropic/claude-sonnet-4-5');
    const times = h.messages.map((m) => m.timestampMs!);
    expect(times.every((t) => t > 1_700_000_000_000)).toBe(true);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // Only protocol 4 names the messages and their runs.
    expect(h.messages.every((m) => (protocol >= 4 ? m.id.length > 0 : m.id === ''))).toBe(true);
    expect(h.totalMessages).toBe(protocol >= 4 ? 6 : 0);
  });

  it('asks for the newest `limit`, says there are more, and answers an unknown session with an empty transcript', async () => {
    const { gatewayId } = await setup(4);
    const tail = await historyOf(gatewayId, 'agent:homelab-ops:main', 2);
    expect(tail.messages.map((m) => m.role)).toEqual(['tool', 'assistant']);
    expect(tail).toMatchObject({ hasMore: true, totalMessages: 6 });
    expect(await historyOf(gatewayId, 'agent:main:never-used')).toMatchObject({ sessionId: '', messages: [], hasMore: false });
  });

  it('masks secrets and cuts long texts before they leave the adapter', async () => {
    const { sim, gatewayId } = await setup(4);
    const long = 'y'.repeat(20_000);
    sim.setTranscript('agent:main:main', [
      { role: 'user', content: `deploy with password=hunter2hunter2 and ${TOKEN}`, timestamp: Date.now() - 2_000 },
      { role: 'assistant', content: [{ type: 'toolCall', id: 'c1', name: 'exec', arguments: { command: 'curl -H "Authorization: Bearer s3cr3t-value-123" https://nas.lan' } }], timestamp: Date.now() - 1_000, stopReason: 'toolUse' },
      { role: 'assistant', content: [{ type: 'text', text: long }], timestamp: Date.now(), stopReason: 'stop' },
    ]);
    const h = await historyOf(gatewayId, 'agent:main:main');
    const all = JSON.stringify(h);
    for (const secret of ['hunter2hunter2', TOKEN, 's3cr3t-value-123']) expect(all).not.toContain(secret);
    expect(h.messages[1]!.toolCalls[0]!.argumentsJson).toContain('https://nas.lan');
    expect(h.messages[2]).toMatchObject({ textTruncated: true });
    expect(h.messages[2]!.text.length).toBe(HISTORY_LIMITS.textChars);
  });

  it('refuses a bad request, and says what to do when the gateway is down or no adapter answers', async () => {
    const { sim, adapter, gatewayId } = await setup(4);
    expect((await ask(gatewayId, '')).result).toMatchObject({ $case: 'error', value: { code: 'invalid', fields: { sessionKey: 'must not be empty' } } });
    expect((await ask(gatewayId, 'agent:main:main', 5_000)).result).toMatchObject({ $case: 'error', value: { code: 'invalid', fields: { limit: 'may be at most 1000' } } });

    await sim.stop();
    await waitFor(() => !adapter.client.connected, { message: 'the adapter sees the gateway gone' });
    const down = (await ask(gatewayId, 'agent:main:main')).result;
    expect(down).toMatchObject({ $case: 'error', value: { code: 'unreachable', message: expect.stringContaining(`"${gatewayId}" is not connected`), remedy: expect.stringMatching(/start the gateway|MOLTBOT_URL/) } });

    await sim.start();
    await waitFor(() => adapter.client.connected, { timeoutMs: 10_000, message: 'reconnected' });
    expect((await historyOf(gatewayId, 'agent:main:main')).messages.length).toBeGreaterThan(0);

    expect((await ask('nobody-here', 'agent:main:main')).result).toMatchObject({ $case: 'error', value: { code: 'no_adapter' } });
  });
});
