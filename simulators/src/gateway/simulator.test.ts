import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '@molten/testkit';
import { startGatewaySimulator, type GatewaySimulator, type GatewaySimulatorOptions } from './index.js';

type Frame = { type: string; id?: string; ok?: boolean; event?: string; payload?: any; error?: any; seq?: number };

/** A bare client that speaks raw frames, so the tests check the wire, not a client library. */
class RawClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #n = 0;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => this.frames.push(JSON.parse(d.toString())));
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }
  static async open(url: string): Promise<RawClient> {
    const ws = new WebSocket(url);
    const c = new RawClient(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return c;
  }
  send(frame: unknown) {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }
  next(pred: (f: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    return waitFor(() => this.frames.find(pred), { timeoutMs, message: 'frame' });
  }
  async request(method: string, params?: unknown): Promise<Frame> {
    const id = `r${++this.#n}`;
    this.send({ type: 'req', id, method, params });
    return this.next((f) => f.type === 'res' && f.id === id);
  }
  async challenge(): Promise<{ nonce: string; ts: number }> {
    return (await this.next((f) => f.event === 'connect.challenge')).payload;
  }
  close() {
    this.ws.close();
  }
}

const TOKEN = 'sim-token-123456';
const baseConnect = (extra: Record<string, unknown> = {}) => ({
  minProtocol: 3,
  maxProtocol: 4,
  client: { id: 'gateway-client', version: '0.1.0', platform: 'linux', mode: 'backend' },
  role: 'operator',
  scopes: ['operator.read', 'operator.write'],
  auth: { token: TOKEN },
  ...extra,
});

/** A fresh ed25519 device that signs the v2 payload for one client id and mode. */
function deviceKey(clientId = 'gateway-client', mode = 'backend', scopes = ['operator.read', 'operator.write']) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const id = createHash('sha256').update(raw).digest('hex');
  return (nonce: string, token: string, signedAt: number) => {
    const payload = ['v2', id, clientId, mode, 'operator', scopes.join(','), String(signedAt), token, nonce].join('|');
    return { id, publicKey: raw.toString('base64url'), signature: sign(null, Buffer.from(payload), privateKey).toString('base64url'), signedAt, nonce };
  };
}

function device(nonce: string, signedAt: number, token: string) {
  const signWith = deviceKey();
  return { claim: signWith(nonce, token, signedAt), resign: signWith };
}

describe('gateway simulator (wire protocol)', () => {
  const sims: GatewaySimulator[] = [];
  const clients: RawClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(sims.splice(0).map((s) => s.close()));
  });
  const sim = async (o: Partial<GatewaySimulatorOptions> = {}) => {
    const s = await startGatewaySimulator({ token: TOKEN, tickIntervalMs: 60_000, agentStepMs: 5, ...o });
    sims.push(s);
    return s;
  };
  const client = async (s: GatewaySimulator) => {
    const c = await RawClient.open(s.url);
    clients.push(c);
    return c;
  };

  it('sends connect.challenge first and answers connect with hello-ok (protocol 3 and 4)', async () => {
    for (const protocol of [3, 4]) {
      const s = await sim({ protocol, tickIntervalMs: 1234 });
      const c = await client(s);
      const ch = await c.challenge();
      expect(typeof ch.nonce).toBe('string');
      expect(Math.abs(ch.ts - Date.now())).toBeLessThan(60_000);
      const res = await c.request('connect', baseConnect());
      expect(res.ok).toBe(true);
      expect(res.payload.type).toBe('hello-ok');
      expect(res.payload.protocol).toBe(protocol);
      expect(res.payload.policy.tickIntervalMs).toBe(1234);
      expect(res.payload.features.methods).toEqual(expect.arrayContaining(['health', 'agent', 'agent.wait', 'sessions.list']));
      expect(res.payload.snapshot.sessionDefaults.defaultAgentId).toBe('main');
      if (protocol === 3) {
        expect(res.payload.auth).toBeUndefined(); // Moltbot: auth only with a device token
        expect(res.payload.server).toMatchObject({ version: '2026.1.27-beta.1', host: expect.any(String), connId: expect.any(String) });
      } else {
        // openclaw 2026.9.6: auth always, without a device token for a token-only connect; keys of its own.
        expect(res.payload.auth).toMatchObject({ method: 'token', role: 'operator', scopes: ['operator.read', 'operator.write'] });
        expect(res.payload.auth.deviceToken).toBeUndefined();
        expect(Object.keys(res.payload.server).sort()).toEqual(['bootId', 'buildId', 'connId', 'controlUiBuildSource', 'version']);
        expect(res.payload).toMatchObject({ controlUiWidgetKinds: [], controlUiLinkReaders: [], pluginSurfaceUrls: {} });
      }
    }
  });

  it('v4: issues no device token to a trusted local backend, and pairs and issues one to other signed clients', async () => {
    const s = await sim({ protocol: 4 });
    const a = await client(s);
    const ch = await a.challenge();
    const backend = await a.request('connect', baseConnect({ device: device(ch.nonce, ch.ts, TOKEN).claim }));
    expect(backend.ok).toBe(true);
    expect(backend.payload.auth).toMatchObject({ method: 'token', role: 'operator' });
    expect(backend.payload.auth.deviceToken).toBeUndefined();

    const b = await client(s);
    const ch2 = await b.challenge();
    const cliDevice = deviceKey('cli', 'cli')(ch2.nonce, TOKEN, ch2.ts);
    const cli = await b.request('connect', baseConnect({ client: { id: 'cli', version: '1', platform: 'linux', mode: 'cli' }, device: cliDevice }));
    expect(cli.ok).toBe(true);
    expect(typeof cli.payload.auth.deviceToken).toBe('string');
  });

  it('closes with 1008 when the first frame is not connect', async () => {
    const s = await sim();
    const c = await client(s);
    await c.challenge();
    const res = await c.request('health');
    expect(res.ok).toBe(false);
    expect(res.error.code).toBe('INVALID_REQUEST');
    expect((await c.closed).code).toBe(1008);
  });

  it('validates ConnectParams strictly, with the closed client id and mode enums of each generation', async () => {
    const cases: Array<[number, Record<string, unknown>, RegExp]> = [
      [3, { client: { id: 'homelab-dashboard', version: '1', platform: 'linux', mode: 'cli' } }, /at \/client\/id: must be equal to one of the allowed values/],
      [3, { client: { id: 'cli', version: '1', platform: 'linux', mode: 'operator' } }, /at \/client\/mode: must be equal to one of the allowed values/],
      [3, { client: { id: 'openclaw-tui', version: '1', platform: 'linux', mode: 'cli' } }, /at \/client\/id/],
      [4, { client: { id: 'moltbot-macos', version: '1', platform: 'darwin', mode: 'ui' } }, /at \/client\/id/],
      [3, { client: { id: 'cli', version: '1', platform: 'linux', mode: 'worker' } }, /at \/client\/mode/],
      [3, { extra: true }, /unexpected property 'extra'/],
      [3, { auth: { token: TOKEN, deviceToken: 'x' } }, /unexpected property 'deviceToken'/],
    ];
    for (const [protocol, patch, message] of cases) {
      const s = await sim({ protocol });
      const c = await client(s);
      await c.challenge();
      const res = await c.request('connect', baseConnect(patch));
      expect(res.error?.message, JSON.stringify(patch)).toMatch(/^invalid connect params: /);
      expect(res.error.message).toMatch(message);
      expect((await c.closed).code).toBe(1008);
    }
  });

  it('rejects a protocol it does not speak with the exact mismatch shape and close 1002', async () => {
    const v4 = await sim({ protocol: 4 });
    const a = await client(v4);
    await a.challenge();
    const res = await a.request('connect', baseConnect({ minProtocol: 3, maxProtocol: 3 }));
    expect(res.error).toEqual({
      code: 'INVALID_REQUEST',
      message: 'protocol mismatch',
      details: { code: 'PROTOCOL_MISMATCH', expectedProtocol: 4, minimumProbeProtocol: 3 },
    });
    expect((await a.closed).code).toBe(1002);

    const v3 = await sim({ protocol: 3 });
    const b = await client(v3);
    await b.challenge();
    const res3 = await b.request('connect', baseConnect({ minProtocol: 4, maxProtocol: 4 }));
    expect(res3.error).toMatchObject({ code: 'INVALID_REQUEST', message: 'protocol mismatch', details: { expectedProtocol: 3 } });
    expect((await b.closed).code).toBe(1002);
  });

  it('checks the token: mismatch, missing, and no identity at all', async () => {
    const v4 = await sim({ protocol: 4 });
    const a = await client(v4);
    await a.challenge();
    const wrong = await a.request('connect', baseConnect({ auth: { token: 'not-the-token' } }));
    expect(wrong.error.message).toContain('gateway token mismatch');
    expect(wrong.error.details.code).toBe('AUTH_TOKEN_MISMATCH');
    expect((await a.closed).code).toBe(1008);

    const v3 = await sim({ protocol: 3 });
    const b = await client(v3);
    await b.challenge();
    const wrong3 = await b.request('connect', baseConnect({ auth: { token: 'not-the-token' } }));
    expect(wrong3.error).toMatchObject({ code: 'INVALID_REQUEST', message: 'unauthorized: gateway token mismatch (set gateway.remote.token to match gateway.auth.token)' });

    const c = await client(v3);
    await c.challenge();
    const none = await c.request('connect', baseConnect({ auth: undefined }));
    expect(none.error).toMatchObject({ code: 'NOT_PAIRED', message: 'device identity required' });
  });

  it('verifies the ed25519 device signature and accepts the issued deviceToken as auth.token later', async () => {
    const s = await sim({ protocol: 3 });
    const c = await client(s);
    const ch = await c.challenge();
    const d = device(ch.nonce, ch.ts, TOKEN);
    const hello = await c.request('connect', baseConnect({ device: d.claim }));
    expect(hello.ok).toBe(true);
    const deviceToken: string = hello.payload.auth.deviceToken;
    expect(hello.payload.auth).toMatchObject({ role: 'operator', scopes: ['operator.read', 'operator.write'] });
    expect(s.connectAttempts.at(-1)).toMatchObject({ ok: true, deviceId: d.claim.id, auth: 'token' });

    const again = await client(s);
    const ch2 = await again.challenge();
    const res = await again.request('connect', baseConnect({ auth: { token: deviceToken }, device: d.resign(ch2.nonce, deviceToken, ch2.ts) }));
    expect(res.ok).toBe(true);
    expect(res.payload.auth.deviceToken).toBe(deviceToken);
    expect(s.connectAttempts.at(-1)).toMatchObject({ ok: true, auth: 'device-token' });

    // A signature over another payload (here: a different nonce) is refused.
    const bad = await client(s);
    const ch3 = await bad.challenge();
    const forged = { ...d.resign('other-nonce', TOKEN, ch3.ts), nonce: ch3.nonce };
    const refused = await bad.request('connect', baseConnect({ device: forged }));
    expect(refused.error.message).toBe('device signature invalid');

    const stale = await client(s);
    const ch4 = await stale.challenge();
    const old = await stale.request('connect', baseConnect({ device: d.resign(ch4.nonce, TOKEN, ch4.ts - 11 * 60_000) }));
    expect(old.error.message).toBe('device signature expired');
  });

  it('answers a starting gateway connect with a retryable UNAVAILABLE and close 1013', async () => {
    const s = await sim({ protocol: 4, startupUnavailable: 1 });
    const c = await client(s);
    await c.challenge();
    const res = await c.request('connect', baseConnect());
    expect(res.error).toMatchObject({ code: 'UNAVAILABLE', retryable: true, retryAfterMs: 500, details: { reason: 'startup-sidecars' } });
    expect((await c.closed).code).toBe(1013);
    const next = await client(s);
    await next.challenge();
    expect((await next.request('connect', baseConnect())).ok).toBe(true);
  });

  it('gates methods by scope (v4 FORBIDDEN; v3 gives a scope-less operator admin)', async () => {
    const v4 = await sim({ protocol: 4 });
    const a = await client(v4);
    await a.challenge();
    expect((await a.request('connect', baseConnect({ scopes: [], client: { id: 'cli', version: '1', platform: 'linux', mode: 'probe' } }))).ok).toBe(true);
    expect((await a.request('health')).ok).toBe(true);
    const status = await a.request('status');
    expect(status.error).toMatchObject({ code: 'FORBIDDEN', message: 'missing scope: operator.read' });

    const v3 = await sim({ protocol: 3 });
    const b = await client(v3);
    await b.challenge();
    const hello = await b.request('connect', baseConnect({ scopes: undefined }));
    expect(hello.ok).toBe(true);
    expect((await b.request('status')).ok).toBe(true);
    expect(v3.clients()[0]!.scopes).toEqual(['operator.admin']);
  });

  it('answers agent twice on the same id, streams events between, and honours idempotencyKey', async () => {
    const s = await sim({ protocol: 3 });
    const c = await client(s);
    await c.challenge();
    await c.request('connect', baseConnect());
    c.send({ type: 'req', id: 'run-1', method: 'agent', params: { message: 'hello', agentId: 'homelab-ops', idempotencyKey: 'key-1' } });
    const accepted = await c.next((f) => f.id === 'run-1');
    expect(accepted.payload).toMatchObject({ runId: 'key-1', status: 'accepted' });
    expect(typeof accepted.payload.acceptedAt).toBe('number');
    const final = await c.next((f) => f.id === 'run-1' && f.payload?.status === 'ok');
    expect(final.payload).toMatchObject({ runId: 'key-1', status: 'ok', summary: 'completed' });
    const events = c.frames.filter((f) => f.type === 'event' && (f.event === 'agent' || f.event === 'chat'));
    expect(events.some((e) => e.event === 'agent' && e.payload.stream === 'assistant')).toBe(true);
    expect(events.some((e) => e.event === 'chat' && e.payload.state === 'final')).toBe(true);
    expect(c.frames.indexOf(accepted)).toBeLessThan(c.frames.indexOf(events[0]!));
    expect(c.frames.indexOf(events.at(-1)!)).toBeLessThan(c.frames.indexOf(final));

    const replay = await c.request('agent', { message: 'hello', agentId: 'homelab-ops', idempotencyKey: 'key-1' });
    expect(replay.payload).toMatchObject({ runId: 'key-1', status: 'ok' });
    expect(s.agentCalls('key-1')).toBe(2);
    expect(s.runs()).toHaveLength(1);

    const missing = await c.request('agent', { message: 'hello' });
    expect(missing.error.message).toBe("invalid agent params: at root: must have required property 'idempotencyKey'");
    const unknown = await c.request('agent', { message: 'hello', agentId: 'nobody', idempotencyKey: 'k2' });
    expect(unknown.error.message).toBe('invalid agent params: unknown agent id "nobody"');
  });

  it('ends a run with the configured error and reports it through agent.wait', async () => {
    const s = await sim({ protocol: 3 });
    s.setNextAgentOutcome({ status: 'error', message: 'No route-compatible authentication source is configured for openai.' });
    const c = await client(s);
    await c.challenge();
    await c.request('connect', baseConnect());
    c.send({ type: 'req', id: 'e1', method: 'agent', params: { message: 'hi', idempotencyKey: 'err-1' } });
    const final = await c.next((f) => f.id === 'e1' && f.ok === false);
    expect(final.payload).toMatchObject({ runId: 'err-1', status: 'error' });
    expect(final.error).toEqual({ code: 'UNAVAILABLE', message: 'Error: No route-compatible authentication source is configured for openai.' });
    const wait = await c.request('agent.wait', { runId: 'err-1', timeoutMs: 1000 });
    expect(wait.payload).toMatchObject({ runId: 'err-1', status: 'error', error: 'Error: No route-compatible authentication source is configured for openai.' });
    const unknown = await c.request('agent.wait', { runId: 'never', timeoutMs: 50 });
    expect(unknown.payload).toEqual({ runId: 'never', status: 'timeout' });
  });

  it('ticks at the policy interval until told to stop, and listens again on the same port after stop()', async () => {
    const s = await sim({ tickIntervalMs: 50 });
    const c = await client(s);
    await c.challenge();
    await c.request('connect', baseConnect());
    await waitFor(() => c.frames.filter((f) => f.event === 'tick').length >= 2, { message: 'ticks' });
    s.stopTicking();
    await new Promise((r) => setTimeout(r, 60)); // one in flight may still land
    const seen = c.frames.filter((f) => f.event === 'tick').length;
    await new Promise((r) => setTimeout(r, 300));
    expect(c.frames.filter((f) => f.event === 'tick').length).toBe(seen);

    const port = s.port;
    await s.stop();
    await c.closed;
    await expect(RawClient.open(s.url)).rejects.toThrow();
    await s.start();
    expect(s.port).toBe(port);
    const again = await client(s);
    await again.challenge();
    expect((await again.request('connect', baseConnect())).ok).toBe(true);
  });

  it('lists demo agents, sessions and cron jobs in the gateway’s shapes', async () => {
    const s = await sim({ protocol: 4 });
    const c = await client(s);
    await c.challenge();
    await c.request('connect', baseConnect());
    const agents = (await c.request('agents.list', {})).payload;
    expect(agents.defaultId).toBe('main');
    expect(agents.agents.map((a: { id: string }) => a.id)).toEqual(['main', 'homelab-ops', 'researcher']);
    const sessions = (await c.request('sessions.list', { includeLastMessage: true, limit: 2 })).payload;
    expect(sessions.count).toBe(2);
    expect(sessions.sessions[0]).toMatchObject({ key: 'agent:main:main', kind: 'direct' });
    expect(typeof sessions.sessions[0].lastMessagePreview).toBe('string');
    expect((await c.request('sessions.list', { bogus: 1 })).error.message).toMatch(/unexpected property 'bogus'/);
    const cron = (await c.request('cron.list', { includeDisabled: true })).payload;
    expect(cron.jobs).toHaveLength(3);
    expect((await c.request('cron.list', {})).payload.jobs).toHaveLength(2);
  });
  it("answers chat.history with a demo session's transcript, newest `limit` oldest first, cut at maxChars as openclaw 2026.9.6 does", async () => {
    const s = await sim({ protocol: 4 });
    const c = await client(s);
    await c.challenge();
    await c.request('connect', baseConnect());
    const all = (await c.request('chat.history', { sessionKey: 'agent:homelab-ops:main' })).payload;
    expect(all).toMatchObject({ sessionKey: 'agent:homelab-ops:main', sessionId: 'd5c3e4f6-7081-4c9d-0e1f-2a3b4c5d6e7f', hasMore: false, totalMessages: 6, pendingInputs: { items: [], total: 0 } });
    expect(all.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'toolResult', 'assistant', 'toolResult', 'assistant']);
    expect(all.messages[0]).toMatchObject({ role: 'user', content: 'Why is pve2 swapping?', __openclaw: { seq: 1 } });
    expect(all.messages[1].content[0]).toEqual({ type: 'toolCall', id: 'call_swap_1', name: 'exec', arguments: { command: 'ssh root@pve2 free -m' } });
    expect(all.messages[2]).toMatchObject({ toolCallId: 'call_swap_1', toolName: 'exec', isError: false });
    const times = all.messages.map((m: { timestamp: number }) => m.timestamp);
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const tail = (await c.request('chat.history', { sessionKey: 'agent:homelab-ops:main', limit: 2, maxChars: 20 })).payload;
    expect(tail).toMatchObject({ hasMore: true, totalMessages: 6 });
    expect(tail.messages[0]).toMatchObject({ role: 'toolResult', content: [{ text: 'balloon: 16384\nmemor' }], __openclaw: { truncated: true, seq: 5 } });
    expect(tail.messages[1].content[0].text).toBe('pve2 is short of mem\n...(truncated)...');

    const never = (await c.request('chat.history', { sessionKey: 'agent:main:nothing-here' })).payload;
    expect(never).toMatchObject({ sessionKey: 'agent:main:nothing-here', messages: [], hasMore: false, totalMessages: 0 });
    expect(never.sessionId).toBeUndefined();

    expect((await c.request('chat.history', { sessionKey: 'agent:main:main', limit: 1001 })).error).toEqual({ code: 'INVALID_REQUEST', message: 'invalid chat.history params: at /limit: must be <= 1000' });
    expect((await c.request('chat.history', { sessionKey: 'agent:main:main', limit: 0 })).error.message).toBe('invalid chat.history params: at /limit: must be >= 1');
    expect((await c.request('chat.history', { limit: 5 })).error.message).toBe("invalid chat.history params: at root: must have required property 'sessionKey'");
    expect((await c.request('chat.history', { sessionKey: 'agent:main:main', before: 'x' })).error.message).toBe("invalid chat.history params: at root: unexpected property 'before'");
  });

  it('records each run in its session: the prompt, tool calls and results, the reply; a v4 run that fails before it starts leaves a note', async () => {
    const s = await sim({ protocol: 4 });
    s.setNextAgentOutcome(
      { status: 'ok', chunks: ['All ', 'good.'], tools: [{ name: 'exec', args: { command: 'uptime' }, result: 'up 3 days' }] },
      { status: 'error', message: 'No route-compatible authentication source is configured for openai.' },
    );
    const c = await client(s);
    await c.challenge();
    await c.request('connect', baseConnect());
    for (const [id, key] of [['run-1', 'run-a'], ['run-2', 'run-b']]) {
      c.send({ type: 'req', id, method: 'agent', params: { message: `check ${key}`, agentId: 'researcher', sessionKey: 'agent:researcher:scratch', idempotencyKey: key } });
      await c.next((f) => f.id === id && f.payload?.status !== 'accepted');
    }
    const h = (await c.request('chat.history', { sessionKey: 'agent:researcher:scratch' })).payload;
    expect(h.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'toolResult', 'assistant', 'custom']);
    expect(h.messages[0]).toMatchObject({ content: 'check run-a', idempotencyKey: 'run-a:user', __openclaw: { idempotencyKey: 'run-a:user' } });
    expect(h.messages[1]).toMatchObject({ stopReason: 'toolUse', content: [{ type: 'toolCall', name: 'exec', arguments: { command: 'uptime' } }], __openclaw: { runId: 'run-a' } });
    expect(h.messages[2]).toMatchObject({ toolCallId: h.messages[1].content[0].id, content: [{ type: 'text', text: 'up 3 days' }] });
    expect(h.messages[3]).toMatchObject({ content: [{ type: 'text', text: 'All good.' }], stopReason: 'stop' });
    expect(h.messages[4]).toMatchObject({ customType: 'run-failed-before-reply', content: 'This turn ended before a reply: No route-compatible authentication source is configured for openai.', __openclaw: { runId: 'run-b' } });
    expect(h.pendingInputs).toMatchObject({ total: 1, items: [{ state: 'interrupted', runId: 'run-b', message: { content: 'check run-b' } }] });
    const listed = (await c.request('sessions.list', {})).payload.sessions.find((x: { key: string }) => x.key === 'agent:researcher:scratch');
    expect(listed.sessionId).toBe(h.sessionId);
  });

  it('v3: chat.history takes sessionKey and limit only, and answers the stored messages as they are', async () => {
    const s = await sim({ protocol: 3 });
    const c = await client(s);
    await c.challenge();
    await c.request('connect', baseConnect());
    const h = (await c.request('chat.history', { sessionKey: 'agent:main:main', limit: 2 })).payload;
    expect(Object.keys(h).sort()).toEqual(['messages', 'sessionId', 'sessionKey', 'thinkingLevel']);
    expect(h.messages).toHaveLength(2);
    expect(h.messages.every((m: Record<string, unknown>) => !('__openclaw' in m))).toBe(true);
    expect((await c.request('chat.history', { sessionKey: 'agent:main:main', maxChars: 10 })).error.message).toBe("invalid chat.history params: at root: unexpected property 'maxChars'");
  });
});
