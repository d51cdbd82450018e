import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { createLogger, sleep, type Logger } from '@molten/kit';
import { DEFAULT_MODEL, demoAgents, demoCronJobs, demoReply, demoSessions, type SimAgent, type SimCronJob, type SimSession } from './demo-data.js';
import { safeEqual, verifyDeviceClaim } from './device-auth.js';
import {
  BROWSER_CLIENT_IDS,
  CLOSE,
  DETAIL_CODES,
  ERROR_CODES,
  EVENTS_V3,
  EVENTS_V4,
  HANDSHAKE_TIMEOUT_MS,
  METHOD_SCOPES,
  POLICY,
  SCOPES,
  SIMULATED_METHODS,
  agentIdentityParamsSchema,
  agentParamsSchema,
  agentWaitParamsSchema,
  connectParamsSchema,
  cronListParamsSchema,
  emptyParamsSchema,
  formatIssues,
  healthParamsSchema,
  requestFrameSchema,
  sessionsListParamsSchema,
  type ConnectParams,
  type ErrorShape,
} from './protocol.js';

/** How the next `agent` run ends. `hold` pauses the run after its first chunk until releaseRuns(). */
export type AgentOutcome =
  | { status: 'ok'; chunks?: string[]; summary?: string; result?: unknown; tools?: SimToolCall[]; stepMs?: number; hold?: boolean }
  | { status: 'error'; message: string; chunks?: string[]; stepMs?: number; hold?: boolean };

export interface SimToolCall {
  name: string;
  args?: Record<string, unknown>;
  result?: unknown;
}

export interface GatewaySimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (default) picks a free port; start() after stop() reuses the port first bound. */
  port?: number;
  /** The protocol this gateway speaks: 3 (Moltbot 2026.1.x) or 4 (openclaw 2026.9.x); higher values behave like 4. */
  protocol?: number;
  /** The shared gateway token (gateway.auth.token / CLAWDBOT_GATEWAY_TOKEN). */
  token: string;
  /** policy.tickIntervalMs; the real gateway uses 30 000. */
  tickIntervalMs?: number;
  /** server.version in hello-ok. */
  version?: string;
  handshakeTimeoutMs?: number;
  /** The first N connects are answered with a retryable UNAVAILABLE (close 1013), as a starting v4 gateway does. */
  startupUnavailable?: number;
  /** "auto" (default) pairs new devices silently, as on loopback; "manual" answers NOT_PAIRED until approvePairing(). */
  pairing?: 'auto' | 'manual';
  agents?: SimAgent[];
  defaultAgentId?: string;
  sessions?: SimSession[];
  cronJobs?: SimCronJob[];
  /** Delay between the streamed steps of a run (default 40 ms). */
  agentStepMs?: number;
  log?: Logger;
}

export interface ConnectAttempt {
  at: number;
  ok: boolean;
  clientId?: string;
  mode?: string;
  role?: string;
  scopes?: string[];
  /** Set when the connect carried a device identity whose signature the simulator verified. */
  deviceId?: string;
  /** How the client authenticated: the shared token or a device token issued earlier. */
  auth?: 'token' | 'device-token';
  minProtocol?: number;
  maxProtocol?: number;
  error?: ErrorShape;
}

export interface SimClientInfo {
  connId: string;
  clientId: string;
  mode: string;
  role: string;
  scopes: string[];
  deviceId?: string;
  auth: 'token' | 'device-token';
}

export interface SimRunInfo {
  runId: string;
  agentId: string;
  sessionKey: string;
  message: string;
  status: 'running' | 'ok' | 'error';
}

export interface GatewaySimulator {
  readonly url: string;
  readonly port: number;
  readonly protocol: number;
  readonly token: string;
  readonly tickIntervalMs: number;
  /** Every connect request the gateway answered, in order. */
  readonly connectAttempts: ConnectAttempt[];
  /** Clients past the handshake. */
  clients(): SimClientInfo[];
  /** Stops listening and drops every connection, like a gateway process that exits; in-flight runs are lost. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** stop() for good. */
  close(): Promise<void>;
  /** Drops every connection without stopping (a network blip); runs keep going. */
  dropConnections(): void;
  /** Broadcasts `shutdown` and closes every connection with 1012, as a restarting gateway does. */
  sendShutdown(reason?: string, restartExpectedMs?: number): void;
  stopTicking(): void;
  startTicking(): void;
  /** Sends a frame (an object is JSON-encoded; a string goes as is) to every connected client. */
  sendRaw(frame: string | object): void;
  setAgents(agents: SimAgent[], defaultAgentId?: string): void;
  setSessions(sessions: SimSession[]): void;
  setCronJobs(jobs: SimCronJob[]): void;
  /** Queues how the next runs end, in order; runs without a queued outcome stream a demo reply. */
  setNextAgentOutcome(...outcomes: AgentOutcome[]): void;
  /** Lets held runs continue. */
  releaseRuns(): void;
  /** How many `agent` requests carried this idempotencyKey (all keys when omitted). */
  agentCalls(idempotencyKey?: string): number;
  runs(): SimRunInfo[];
  /** Approves pending pairing requests (pairing "manual"); returns how many. */
  approvePairing(): number;
  /** Forgets every device token issued so far (as `device.token.revoke` would). */
  revokeDeviceTokens(): void;
  /** Answers the next N connects with UNAVAILABLE. */
  setStartupUnavailable(count: number): void;
}

interface Conn {
  ws: WebSocket;
  connId: string;
  nonce: string;
  challengeTs: number;
  origin: string | undefined;
  ready?: { params: ConnectParams; role: string; scopes: string[]; deviceId?: string; auth: 'token' | 'device-token' };
  handshakeTimer?: NodeJS.Timeout;
  waits: Set<NodeJS.Timeout>;
}

interface Run {
  runId: string;
  idempotencyKey: string;
  agentId: string;
  sessionKey: string;
  message: string;
  status: 'running' | 'ok' | 'error';
  startedAt: number;
  endedAt?: number;
  error?: string;
  waiters: Set<() => void>;
}

type Cached = { ok: boolean; payload?: unknown; error?: ErrorShape };

export async function startGatewaySimulator(options: GatewaySimulatorOptions): Promise<GatewaySimulator> {
  const sim = new Simulator(options);
  await sim.start();
  return sim;
}

class Simulator implements GatewaySimulator {
  readonly protocol: number;
  readonly token: string;
  readonly tickIntervalMs: number;
  readonly connectAttempts: ConnectAttempt[] = [];
  readonly #o: GatewaySimulatorOptions;
  readonly #log: Logger;
  readonly #host: string;
  readonly #version: string;
  readonly #startedAt = Date.now();
  #port: number;
  #http: http.Server | undefined;
  #wss: WebSocketServer | undefined;
  readonly #conns = new Set<Conn>();
  #tickTimer: NodeJS.Timeout | undefined;
  #ticking = true;
  #seq = 0;
  #stateVersion = { presence: 1, health: 1 };
  /** Bumped by stop(): runs of a previous "process" stop streaming. */
  #generation = 0;
  #unavailableLeft: number;

  #agents: SimAgent[];
  #defaultAgentId: string;
  #sessions: SimSession[];
  #cron: SimCronJob[];
  readonly #outcomes: AgentOutcome[] = [];
  readonly #agentCalls = new Map<string, number>();
  #runs = new Map<string, Run>();
  #dedupe = new Map<string, Cached>();
  #holds: Array<() => void> = [];
  readonly #deviceTokens = new Map<string, { token: string; issuedAtMs: number }>();
  readonly #pairedDevices = new Set<string>();
  readonly #pendingPairings = new Map<string, string>();

  constructor(o: GatewaySimulatorOptions) {
    if (!o.token) throw new Error('the gateway needs a token (gateway.auth.token): it has no "none" auth mode');
    this.#o = o;
    this.protocol = o.protocol ?? 3;
    if (this.protocol < 3) throw new Error('the simulator speaks protocol 3 or newer');
    this.token = o.token;
    this.tickIntervalMs = o.tickIntervalMs ?? 30_000;
    this.#log = o.log ?? createLogger('gateway-sim', { level: 'silent' });
    this.#host = o.host ?? '127.0.0.1';
    this.#port = o.port ?? 0;
    this.#version = o.version ?? (this.#v4 ? '2026.9.6' : '2026.1.27-beta.1');
    this.#unavailableLeft = o.startupUnavailable ?? 0;
    this.#agents = o.agents ?? demoAgents();
    this.#defaultAgentId = o.defaultAgentId ?? this.#agents[0]?.id ?? 'main';
    this.#sessions = o.sessions ?? demoSessions();
    this.#cron = o.cronJobs ?? demoCronJobs();
  }

  get #v4(): boolean {
    return this.protocol >= 4;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `ws://${this.#host}:${this.#port}`;
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    if (this.#http) return;
    const server = http.createServer((req, res) => this.#http_(req, res));
    const wss = new WebSocketServer({ server, maxPayload: POLICY[this.#v4 ? 4 : 3].maxPayload });
    wss.on('connection', (ws, req) => this.#onConnection(ws, req));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, this.#host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#http = server;
    this.#wss = wss;
    this.#scheduleTicks();
    this.#log.info({ url: this.url, protocol: this.protocol }, 'gateway simulator listening');
  }

  async stop(): Promise<void> {
    const server = this.#http;
    const wss = this.#wss;
    if (!server || !wss) return;
    this.#http = undefined;
    this.#wss = undefined;
    clearInterval(this.#tickTimer);
    this.#generation++;
    for (const c of this.#conns) this.#dropConn(c, () => c.ws.terminate());
    this.#conns.clear();
    // The process is gone: its run registry and dedupe cache were in memory.
    this.#runs = new Map();
    this.#dedupe = new Map();
    for (const release of this.#holds) release();
    this.#holds = [];
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.stop();
  }

  dropConnections(): void {
    for (const c of [...this.#conns]) this.#dropConn(c, () => c.ws.terminate());
  }

  sendShutdown(reason = 'gateway restarting', restartExpectedMs?: number): void {
    this.#broadcast('shutdown', { reason, ...(restartExpectedMs !== undefined ? { restartExpectedMs } : {}) });
    for (const c of [...this.#conns]) this.#dropConn(c, () => c.ws.close(CLOSE.restart, 'service restart'));
  }

  stopTicking(): void {
    this.#ticking = false;
    clearInterval(this.#tickTimer);
  }

  startTicking(): void {
    this.#ticking = true;
    this.#scheduleTicks();
  }

  sendRaw(frame: string | object): void {
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    for (const c of this.#conns) if (c.ready && c.ws.readyState === WebSocket.OPEN) c.ws.send(text);
  }

  clients(): SimClientInfo[] {
    return [...this.#conns]
      .filter((c) => c.ready)
      .map((c) => ({
        connId: c.connId,
        clientId: c.ready!.params.client.id,
        mode: c.ready!.params.client.mode,
        role: c.ready!.role,
        scopes: c.ready!.scopes,
        deviceId: c.ready!.deviceId,
        auth: c.ready!.auth,
      }));
  }

  setAgents(agents: SimAgent[], defaultAgentId?: string): void {
    this.#agents = agents;
    this.#defaultAgentId = defaultAgentId ?? agents[0]?.id ?? 'main';
    this.#healthChanged();
  }

  setSessions(sessions: SimSession[]): void {
    this.#sessions = sessions;
    this.#healthChanged();
    if (this.#v4) this.#broadcast('sessions.changed', { reason: 'update' });
  }

  setCronJobs(jobs: SimCronJob[]): void {
    this.#cron = jobs;
    this.#broadcast('cron', { action: 'updated' });
  }

  setNextAgentOutcome(...outcomes: AgentOutcome[]): void {
    this.#outcomes.push(...outcomes);
  }

  releaseRuns(): void {
    const holds = this.#holds;
    this.#holds = [];
    for (const release of holds) release();
  }

  agentCalls(idempotencyKey?: string): number {
    if (idempotencyKey !== undefined) return this.#agentCalls.get(idempotencyKey) ?? 0;
    let n = 0;
    for (const v of this.#agentCalls.values()) n += v;
    return n;
  }

  runs(): SimRunInfo[] {
    return [...this.#runs.values()].map(({ runId, agentId, sessionKey, message, status }) => ({ runId, agentId, sessionKey, message, status }));
  }

  approvePairing(): number {
    const n = this.#pendingPairings.size;
    for (const [requestId, deviceId] of this.#pendingPairings) {
      this.#pairedDevices.add(deviceId);
      this.#broadcast('device.pair.resolved', { requestId, deviceId, decision: 'approved', ts: Date.now() });
    }
    this.#pendingPairings.clear();
    return n;
  }

  revokeDeviceTokens(): void {
    this.#deviceTokens.clear();
  }

  setStartupUnavailable(count: number): void {
    this.#unavailableLeft = count;
  }

  // ---------------------------------------------------------------- transport

  #http_(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    // v4 has unauthenticated probes; v3 has no HTTP /health.
    if (this.#v4 && (path === '/health' || path === '/healthz')) return json(200, { ok: true, status: 'live' });
    if (this.#v4 && (path === '/ready' || path === '/readyz')) return json(200, { ready: true, failing: [], uptimeMs: Date.now() - this.#startedAt });
    if (this.#v4 && (path === '/startup' || path === '/startupz')) return json(200, { ok: true, status: 'started', version: this.#version, uptimeMs: Date.now() - this.#startedAt });
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Not Found');
  }

  #onConnection(ws: WebSocket, req: http.IncomingMessage): void {
    const conn: Conn = {
      ws,
      connId: randomUUID(),
      nonce: randomUUID(),
      challengeTs: Date.now(),
      origin: req.headers.origin,
      waits: new Set(),
    };
    this.#conns.add(conn);
    ws.on('message', (data, isBinary) => this.#onMessage(conn, data, isBinary));
    ws.on('close', () => this.#dropConn(conn));
    ws.on('error', (err) => this.#log.debug({ err }, 'client socket error'));
    this.#send(conn, { type: 'event', event: 'connect.challenge', payload: { nonce: conn.nonce, ts: conn.challengeTs } });
    const timeout = this.#o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS[this.#v4 ? 4 : 3];
    conn.handshakeTimer = setTimeout(() => {
      if (!conn.ready) ws.close(CLOSE.policy, 'handshake timeout');
    }, timeout);
  }

  /** Forgets a connection (and its presence); `then` closes the socket. */
  #dropConn(conn: Conn, then?: () => void): void {
    clearTimeout(conn.handshakeTimer);
    for (const t of conn.waits) clearTimeout(t);
    conn.waits.clear();
    const wasReady = this.#conns.delete(conn) && conn.ready;
    then?.();
    if (wasReady) this.#presenceChanged();
  }

  #send(conn: Conn, frame: object): void {
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify(frame));
  }

  #respond(conn: Conn, id: string, ok: boolean, payload?: unknown, error?: ErrorShape): void {
    this.#send(conn, { type: 'res', id, ok, ...(payload !== undefined ? { payload } : {}), ...(error ? { error } : {}) });
  }

  #fail(conn: Conn, id: string, error: ErrorShape, close?: number): void {
    this.#respond(conn, id, false, undefined, error);
    if (close !== undefined) conn.ws.close(close, error.message.slice(0, 120));
  }

  #broadcast(event: string, payload: unknown, opts: { needsRead?: boolean; stateVersion?: boolean } = {}): void {
    const frame = JSON.stringify({
      type: 'event',
      event,
      payload,
      seq: ++this.#seq,
      ...(opts.stateVersion ? { stateVersion: { ...this.#stateVersion } } : {}),
    });
    for (const c of this.#conns) {
      if (!c.ready || c.ws.readyState !== WebSocket.OPEN) continue;
      // v4 scopes chat/agent/tool broadcasts to operator.read; tick, presence, health go to all.
      if (opts.needsRead && this.#v4 && !this.#hasScope(c.ready.scopes, 'read')) continue;
      c.ws.send(frame);
    }
  }

  #scheduleTicks(): void {
    clearInterval(this.#tickTimer);
    if (!this.#ticking || !this.#http) return;
    this.#tickTimer = setInterval(() => this.#broadcast('tick', { ts: Date.now() }), this.tickIntervalMs);
  }

  #onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    let parsed: unknown;
    try {
      parsed = isBinary ? undefined : JSON.parse(data.toString());
    } catch {
      parsed = undefined;
    }
    if (!conn.ready) return this.#onHandshake(conn, parsed);
    const frame = requestFrameSchema.safeParse(parsed);
    if (!frame.success) {
      const id = typeof (parsed as { id?: unknown })?.id === 'string' ? (parsed as { id: string }).id : 'invalid';
      return this.#fail(conn, id, { code: ERROR_CODES.INVALID_REQUEST, message: `invalid request frame: ${formatIssues(frame.error)}` });
    }
    const { id, method, params } = frame.data;
    void this.#dispatch(conn, id, method, params ?? {}).catch((err: unknown) => {
      this.#log.error({ err, method }, 'simulated method failed');
      this.#fail(conn, id, { code: ERROR_CODES.UNAVAILABLE, message: String(err) });
    });
  }

  // ---------------------------------------------------------------- handshake

  #onHandshake(conn: Conn, parsed: unknown): void {
    const frame = requestFrameSchema.safeParse(parsed);
    const id = typeof (parsed as { id?: unknown })?.id === 'string' ? (parsed as { id: string }).id : 'invalid';
    if (!frame.success || frame.data.method !== 'connect') {
      const error = { code: ERROR_CODES.INVALID_REQUEST, message: 'invalid handshake: first request must be connect' };
      this.connectAttempts.push({ at: Date.now(), ok: false, error });
      return this.#fail(conn, id, error, CLOSE.policy);
    }
    const attempt: ConnectAttempt = { at: Date.now(), ok: false };
    this.connectAttempts.push(attempt);
    const reject = (error: ErrorShape, close: number = CLOSE.policy) => {
      attempt.error = error;
      this.#log.debug({ error }, 'connect rejected');
      this.#fail(conn, id, error, close);
    };
    const v4 = this.#v4;

    const checked = connectParamsSchema(this.protocol).safeParse(frame.data.params);
    if (!checked.success) {
      return reject({ code: ERROR_CODES.INVALID_REQUEST, message: `invalid connect params: ${formatIssues(checked.error)}` });
    }
    const p = checked.data;
    Object.assign(attempt, { clientId: p.client.id, mode: p.client.mode, minProtocol: p.minProtocol, maxProtocol: p.maxProtocol });

    if (p.maxProtocol < this.protocol || p.minProtocol > this.protocol) {
      return reject(
        {
          code: ERROR_CODES.INVALID_REQUEST,
          message: 'protocol mismatch',
          details: v4 ? { code: DETAIL_CODES.PROTOCOL_MISMATCH, expectedProtocol: this.protocol, minimumProbeProtocol: 3 } : { expectedProtocol: this.protocol },
        },
        CLOSE.protocol,
      );
    }
    if (this.#unavailableLeft > 0) {
      this.#unavailableLeft--;
      return reject(
        { code: ERROR_CODES.UNAVAILABLE, message: 'gateway starting', retryable: true, retryAfterMs: 500, details: { reason: 'startup-sidecars' } },
        CLOSE.tryAgain,
      );
    }
    if (BROWSER_CLIENT_IDS.has(p.client.id) && !conn.origin) {
      return reject({ code: ERROR_CODES.INVALID_REQUEST, message: 'origin not allowed', details: { code: 'CONTROL_UI_ORIGIN_NOT_ALLOWED' } });
    }

    const role = p.role ?? 'operator';
    if (role !== 'operator' && role !== 'node') return reject({ code: ERROR_CODES.INVALID_REQUEST, message: `invalid role: ${role}` });
    const requested = p.scopes ?? [];
    const token = p.auth?.token;
    const deviceTokenField = v4 ? (p.auth as { deviceToken?: string } | undefined)?.deviceToken : undefined;
    const detail = (code: string, extra: Record<string, unknown> = {}) => (v4 ? { details: { code, ...extra } } : extra && Object.keys(extra).length ? { details: extra } : {});

    // Without a device, only a token lets a client in (canSkipDevice = hasTokenAuth).
    if (!p.device && !token && !deviceTokenField) {
      return reject({ code: ERROR_CODES.NOT_PAIRED, message: 'device identity required', ...detail(DETAIL_CODES.DEVICE_IDENTITY_REQUIRED) });
    }
    if (p.device) {
      const check = verifyDeviceClaim(p.device, {
        clientId: p.client.id,
        clientMode: p.client.mode,
        role,
        scopes: requested,
        token: token ?? '',
        challengeNonce: conn.nonce,
        now: Date.now(),
      });
      if (!check.ok) return reject({ code: ERROR_CODES.INVALID_REQUEST, message: check.message, ...detail(check.detail) });
    }

    let auth: 'token' | 'device-token';
    const issued = p.device ? this.#deviceTokens.get(`${p.device.id}:${role}`) : undefined;
    if (token !== undefined && safeEqual(token, this.token)) {
      auth = 'token';
    } else if (issued && [token, deviceTokenField].some((t) => t !== undefined && safeEqual(t, issued.token))) {
      auth = 'device-token';
    } else if (deviceTokenField !== undefined) {
      return reject({ code: ERROR_CODES.INVALID_REQUEST, message: 'unauthorized: device token mismatch (rotate/reissue device token)', ...detail(DETAIL_CODES.AUTH_DEVICE_TOKEN_MISMATCH) });
    } else if (token === undefined) {
      return reject({ code: ERROR_CODES.INVALID_REQUEST, message: 'unauthorized: gateway token missing (set gateway.remote.token to match gateway.auth.token)', ...detail(DETAIL_CODES.AUTH_TOKEN_MISSING) });
    } else {
      return reject({ code: ERROR_CODES.INVALID_REQUEST, message: 'unauthorized: gateway token mismatch (set gateway.remote.token to match gateway.auth.token)', ...detail(DETAIL_CODES.AUTH_TOKEN_MISMATCH) });
    }

    if (p.device && !this.#pairedDevices.has(p.device.id)) {
      if ((this.#o.pairing ?? 'auto') === 'manual') {
        const requestId = [...this.#pendingPairings].find(([, d]) => d === p.device!.id)?.[0] ?? randomUUID();
        if (!this.#pendingPairings.has(requestId)) {
          this.#pendingPairings.set(requestId, p.device.id);
          this.#broadcast('device.pair.requested', { requestId, deviceId: p.device.id, publicKey: p.device.publicKey, clientId: p.client.id, clientMode: p.client.mode, role, scopes: requested, ts: Date.now() });
        }
        return reject({ code: ERROR_CODES.NOT_PAIRED, message: 'pairing required', details: { requestId, ...(v4 ? { code: DETAIL_CODES.PAIRING_REQUIRED } : {}) } });
      }
      this.#pairedDevices.add(p.device.id);
    }

    // v3 gives an operator that asks for nothing operator.admin; v4 keeps what was asked.
    const scopes = role === 'operator' && requested.length === 0 && !v4 ? [SCOPES.admin] : requested;
    let authInfo: Record<string, unknown> | undefined;
    if (p.device) {
      const key = `${p.device.id}:${role}`;
      const tok = this.#deviceTokens.get(key) ?? { token: randomBytes(24).toString('base64url'), issuedAtMs: Date.now() };
      this.#deviceTokens.set(key, tok);
      authInfo = { deviceToken: tok.token, role, scopes, issuedAtMs: tok.issuedAtMs, ...(v4 ? { method: auth === 'token' ? 'token' : 'device-token' } : {}) };
    }

    clearTimeout(conn.handshakeTimer);
    conn.ready = { params: p, role, scopes, deviceId: p.device?.id, auth };
    Object.assign(attempt, { ok: true, role, scopes, deviceId: p.device?.id, auth });
    this.#stateVersion.presence++;
    this.#respond(conn, id, true, {
      type: 'hello-ok',
      protocol: this.protocol,
      server: { version: this.#version, host: os.hostname(), connId: conn.connId },
      features: { methods: SIMULATED_METHODS, events: v4 ? EVENTS_V4 : EVENTS_V3 },
      snapshot: {
        presence: this.#presence(),
        health: this.#health(),
        stateVersion: { ...this.#stateVersion },
        uptimeMs: Date.now() - this.#startedAt,
        configPath: `${this.#stateDir}/${v4 ? 'openclaw.json' : 'moltbot.json'}`,
        stateDir: this.#stateDir,
        sessionDefaults: { defaultAgentId: this.#defaultAgentId, mainKey: 'main', mainSessionKey: `agent:${this.#defaultAgentId}:main`, scope: 'per-sender' },
      },
      ...(authInfo ? { auth: authInfo } : {}),
      policy: { ...POLICY[v4 ? 4 : 3], tickIntervalMs: this.tickIntervalMs },
    });
    this.#broadcast('presence', { presence: this.#presence() }, { stateVersion: true });
  }

  // ---------------------------------------------------------------- methods

  #hasScope(scopes: string[], need: 'read' | 'write'): boolean {
    if (scopes.includes(SCOPES.admin)) return true;
    if (need === 'read') return scopes.includes(SCOPES.read) || scopes.includes(SCOPES.write);
    return scopes.includes(SCOPES.write);
  }

  async #dispatch(conn: Conn, id: string, method: string, params: unknown): Promise<void> {
    const ready = conn.ready!;
    const invalid = (message: string) => this.#fail(conn, id, { code: ERROR_CODES.INVALID_REQUEST, message });
    if (method === 'connect') return invalid('connect is only valid as the first request');
    if (!(method in METHOD_SCOPES)) return invalid(`unknown method: ${method}`);
    if (ready.role !== 'operator') return invalid(`unauthorized role: ${ready.role}`);
    const need = this.#v4 && method === 'health' ? 'none' : METHOD_SCOPES[method]!;
    if (need !== 'none' && !this.#hasScope(ready.scopes, need)) {
      const scope = need === 'read' ? SCOPES.read : SCOPES.write;
      return this.#fail(
        conn,
        id,
        this.#v4
          ? { code: ERROR_CODES.FORBIDDEN, message: `missing scope: ${scope}`, details: { code: DETAIL_CODES.MISSING_SCOPE, missingScope: scope } }
          : { code: ERROR_CODES.INVALID_REQUEST, message: `missing scope: ${scope}` },
      );
    }
    const ok = (payload: unknown) => this.#respond(conn, id, true, payload);
    const parse = <T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: import('zod').ZodError } }): T | undefined => {
      const r = schema.safeParse(params);
      if (r.success) return r.data;
      invalid(`invalid ${method} params: ${formatIssues(r.error)}`);
      return undefined;
    };

    switch (method) {
      case 'health':
        if (parse(healthParamsSchema)) ok(this.#health());
        return;
      case 'status':
        if (parse(emptyParamsSchema)) ok(this.#status());
        return;
      case 'agents.list':
        if (parse(emptyParamsSchema)) ok({ defaultId: this.#defaultAgentId, mainKey: 'main', scope: 'per-sender', agents: this.#agents });
        return;
      case 'agent.identity.get': {
        const q = parse(agentIdentityParamsSchema);
        if (!q) return;
        const agentId = q.agentId ?? (q.sessionKey ? agentOfSession(q.sessionKey) : this.#defaultAgentId);
        const a = this.#agents.find((x) => x.id === agentId);
        ok({ agentId, name: a?.identity?.name ?? a?.name ?? agentId, ...(a?.identity?.emoji ? { emoji: a.identity.emoji } : {}) });
        return;
      }
      case 'sessions.list': {
        const q = parse(sessionsListParamsSchema);
        if (q) ok(this.#sessionsList(q));
        return;
      }
      case 'cron.list': {
        const q = parse(cronListParamsSchema);
        if (q) ok({ jobs: this.#cron.filter((j) => q.includeDisabled || j.enabled) });
        return;
      }
      case 'cron.status': {
        if (!parse(emptyParamsSchema)) return;
        const next = this.#cron.filter((j) => j.enabled).map((j) => j.state?.nextRunAtMs).filter((n): n is number => typeof n === 'number');
        ok({ enabled: true, storePath: `${this.#stateDir}/cron/jobs.json`, jobs: this.#cron.length, nextWakeAtMs: next.length ? Math.min(...next) : null });
        return;
      }
      case 'system-presence':
        if (parse(emptyParamsSchema)) ok(this.#presence());
        return;
      case 'node.list':
        if (parse(emptyParamsSchema)) ok({ ts: Date.now(), nodes: [] });
        return;
      case 'agent':
        return this.#agent(conn, id, params);
      case 'agent.wait':
        return this.#agentWait(conn, id, params);
    }
  }

  get #stateDir(): string {
    return `${os.homedir()}/${this.#v4 ? '.openclaw' : '.clawdbot'}`;
  }

  #sessionsList(q: import('zod').infer<typeof sessionsListParamsSchema>) {
    const now = Date.now();
    let rows = [...this.#sessions].sort((a, b) => (b.updatedAt ?? 0) - (a.updatedAt ?? 0));
    if (q.agentId) rows = rows.filter((s) => agentOfSession(s.key) === q.agentId);
    if (q.activeMinutes) rows = rows.filter((s) => (s.updatedAt ?? 0) >= now - q.activeMinutes! * 60_000);
    if (q.label) rows = rows.filter((s) => s.label === q.label);
    if (q.search) {
      const needle = q.search.toLowerCase();
      rows = rows.filter((s) => [s.key, s.displayName, s.label].some((f) => f?.toLowerCase().includes(needle)));
    }
    if (q.limit) rows = rows.slice(0, q.limit);
    const sessions = rows.map(({ lastMessagePreview, derivedTitle, ...row }) => ({
      ...row,
      ...(q.includeLastMessage && lastMessagePreview ? { lastMessagePreview } : {}),
      ...(q.includeDerivedTitles && derivedTitle ? { derivedTitle } : {}),
    }));
    return {
      ts: now,
      path: `${this.#stateDir}/agents/${this.#defaultAgentId}/sessions/sessions.json`,
      count: sessions.length,
      defaults: DEFAULT_MODEL,
      sessions,
    };
  }

  #health() {
    const now = Date.now();
    const recent = (rows: SimSession[]) =>
      [...rows]
        .sort((a, b) => (b.updatedAt ?? 0) - (a.updatedAt ?? 0))
        .slice(0, 5)
        .map((s) => ({ key: s.key, updatedAt: s.updatedAt, age: s.updatedAt === null ? null : now - s.updatedAt }));
    return {
      ok: true,
      ts: now,
      durationMs: 2,
      channels: {},
      channelOrder: [],
      channelLabels: {},
      heartbeatSeconds: 0,
      defaultAgentId: this.#defaultAgentId,
      agents: this.#agents.map((a) => {
        const own = this.#sessions.filter((s) => agentOfSession(s.key) === a.id);
        return {
          agentId: a.id,
          isDefault: a.id === this.#defaultAgentId,
          heartbeat: { enabled: false, every: 'disabled', everyMs: null },
          sessions: { path: `${this.#stateDir}/agents/${a.id}/sessions/sessions.json`, count: own.length, recent: recent(own) },
        };
      }),
      sessions: { path: `${this.#stateDir}/agents/${this.#defaultAgentId}/sessions/sessions.json`, count: this.#sessions.length, recent: recent(this.#sessions) },
    };
  }

  #status() {
    const health = this.#health();
    return {
      heartbeat: { defaultAgentId: this.#defaultAgentId, agents: health.agents.map((a) => ({ agentId: a.agentId, enabled: false, every: 'disabled', everyMs: null })) },
      sessions: { paths: [health.sessions.path], count: health.sessions.count, defaults: { model: DEFAULT_MODEL.model, contextTokens: DEFAULT_MODEL.contextTokens }, recent: health.sessions.recent },
      channelSummary: [],
      queuedSystemEvents: [],
    };
  }

  #presence() {
    const now = Date.now();
    const self = {
      host: os.hostname(),
      ip: '127.0.0.1',
      version: this.#version,
      platform: process.platform,
      mode: 'gateway',
      reason: 'self',
      text: `Gateway: ${os.hostname()} (127.0.0.1) · app ${this.#version} · mode gateway · reason self`,
      ts: now,
    };
    const clients = [...this.#conns]
      .filter((c) => c.ready)
      .map((c) => ({
        host: c.ready!.params.client.displayName ?? c.ready!.params.client.id,
        version: c.ready!.params.client.version,
        platform: c.ready!.params.client.platform,
        mode: c.ready!.params.client.mode,
        reason: 'connect',
        ts: now,
        ...(c.ready!.params.client.instanceId ? { instanceId: c.ready!.params.client.instanceId } : {}),
        ...(c.ready!.deviceId ? { deviceId: c.ready!.deviceId } : {}),
        roles: [c.ready!.role],
        scopes: c.ready!.scopes,
      }));
    return [self, ...clients];
  }

  #presenceChanged(): void {
    this.#stateVersion.presence++;
    this.#broadcast('presence', { presence: this.#presence() }, { stateVersion: true });
  }

  #healthChanged(): void {
    this.#stateVersion.health++;
    this.#broadcast('health', this.#health(), { stateVersion: true });
  }

  // ---------------------------------------------------------------- agent runs

  #agent(conn: Conn, id: string, params: unknown): void {
    const key = (params as { idempotencyKey?: unknown })?.idempotencyKey;
    if (typeof key === 'string' && key) this.#agentCalls.set(key, (this.#agentCalls.get(key) ?? 0) + 1);
    const r = agentParamsSchema.safeParse(params);
    if (!r.success) {
      return this.#fail(conn, id, { code: ERROR_CODES.INVALID_REQUEST, message: `invalid agent params: ${formatIssues(r.error)}` });
    }
    const p = r.data;
    const idem = p.idempotencyKey;
    const cached = this.#dedupe.get(idem);
    if (cached) return this.#respond(conn, id, cached.ok, cached.payload, cached.error);

    const sessionAgent = p.sessionKey ? agentOfSession(p.sessionKey) : undefined;
    const agentId = p.agentId ?? sessionAgent ?? this.#defaultAgentId;
    if (!this.#agents.some((a) => a.id === agentId)) {
      return this.#fail(conn, id, { code: ERROR_CODES.INVALID_REQUEST, message: `invalid agent params: unknown agent id "${agentId}"` });
    }
    if (p.agentId && p.sessionKey && sessionAgent !== p.agentId) {
      return this.#fail(conn, id, {
        code: ERROR_CODES.INVALID_REQUEST,
        message: `invalid agent params: agent "${p.agentId}" does not match session key agent "${sessionAgent}"`,
      });
    }
    // The gateway uses the idempotency key as the run id (server-methods/agent.ts: runId = idem).
    const run: Run = {
      runId: idem,
      idempotencyKey: idem,
      agentId,
      sessionKey: p.sessionKey ?? `agent:${agentId}:main`,
      message: p.message,
      status: 'running',
      startedAt: Date.now(),
      waiters: new Set(),
    };
    this.#runs.set(run.runId, run);
    const accepted = { runId: run.runId, status: 'accepted' as const, acceptedAt: Date.now() };
    // An in-flight ack, so a retried request does not start a second run.
    this.#dedupe.set(idem, { ok: true, payload: accepted });
    this.#respond(conn, id, true, accepted);
    const outcome = this.#outcomes.shift() ?? { status: 'ok' as const };
    void this.#play(run, outcome, conn, id, this.#generation);
  }

  async #play(run: Run, outcome: AgentOutcome, conn: Conn, reqId: string, generation: number): Promise<void> {
    const step = outcome.stepMs ?? this.#o.agentStepMs ?? 40;
    const alive = () => generation === this.#generation;
    let seq = 0;
    const agentEvent = (stream: string, data: Record<string, unknown>) =>
      this.#broadcast('agent', { runId: run.runId, seq: ++seq, stream, ts: Date.now(), data }, { needsRead: true });
    let chatSeq = 0;
    const chatEvent = (state: string, extra: Record<string, unknown>) =>
      this.#broadcast('chat', { runId: run.runId, sessionKey: run.sessionKey, seq: ++chatSeq, state, ...extra }, { needsRead: true });
    const message = (text: string) => ({ role: 'assistant', content: [{ type: 'text', text }], timestamp: Date.now() });

    agentEvent('lifecycle', { phase: 'start', startedAt: run.startedAt });
    const chunks = outcome.chunks ?? (outcome.status === 'ok' ? demoReply(run.agentId, run.message) : []);
    let text = '';
    const hold = async () => {
      if (outcome.hold) await new Promise<void>((resolve) => this.#holds.push(resolve));
    };
    if (chunks.length === 0) await hold();
    for (const [i, chunk] of chunks.entries()) {
      await sleep(step);
      if (!alive()) return;
      text += chunk;
      agentEvent('assistant', { text, delta: chunk });
      chatEvent('delta', { message: message(text) });
      if (i === 0) await hold();
      if (!alive()) return;
    }
    if (outcome.status === 'ok') {
      for (const [i, tool] of (outcome.tools ?? []).entries()) {
        const toolCallId = `call_${i + 1}`;
        agentEvent('tool', { phase: 'start', name: tool.name, toolCallId, args: tool.args ?? {} });
        await sleep(step);
        if (!alive()) return;
        agentEvent('tool', { phase: 'result', name: tool.name, toolCallId, result: tool.result ?? null, isError: false });
      }
    }
    await sleep(step);
    if (!alive()) return;

    run.endedAt = Date.now();
    let final: Cached;
    if (outcome.status === 'ok') {
      run.status = 'ok';
      agentEvent('lifecycle', { phase: 'end', startedAt: run.startedAt, endedAt: run.endedAt });
      chatEvent('final', { message: message(text) });
      final = {
        ok: true,
        payload: {
          runId: run.runId,
          status: 'ok',
          summary: outcome.summary ?? 'completed',
          result: outcome.result ?? {
            payloads: [{ text }],
            meta: { durationMs: run.endedAt - run.startedAt, agentMeta: { sessionId: randomUUID(), provider: DEFAULT_MODEL.modelProvider, model: DEFAULT_MODEL.model } },
          },
        },
      };
    } else {
      // v3 answers String(err) ("Error: …"); v4 answers the error's message.
      const errText = this.#v4 ? outcome.message : `Error: ${outcome.message}`;
      run.status = 'error';
      run.error = errText;
      agentEvent('lifecycle', { phase: 'error', error: errText, endedAt: run.endedAt });
      chatEvent('error', { errorMessage: errText });
      final = { ok: false, payload: { runId: run.runId, status: 'error', summary: errText }, error: { code: ERROR_CODES.UNAVAILABLE, message: errText } };
    }
    this.#dedupe.set(run.idempotencyKey, final);
    // The second res goes to the connection that asked, if it is still there.
    if (this.#conns.has(conn)) this.#respond(conn, reqId, final.ok, final.payload, final.error);
    this.#touchSession(run, text || run.error || '');
    for (const w of run.waiters) w();
    run.waiters.clear();
  }

  #touchSession(run: Run, preview: string): void {
    const now = Date.now();
    const existing = this.#sessions.find((s) => s.key === run.sessionKey);
    const tokens = Math.ceil((run.message.length + preview.length) / 4);
    if (existing) {
      existing.updatedAt = now;
      if (preview) existing.lastMessagePreview = preview.slice(0, 200);
      existing.totalTokens = (existing.totalTokens ?? 0) + tokens;
    } else {
      this.#sessions.push({ key: run.sessionKey, kind: 'direct', updatedAt: now, sessionId: randomUUID(), lastMessagePreview: preview.slice(0, 200), totalTokens: tokens, ...DEFAULT_MODEL });
    }
    if (this.#v4) this.#broadcast('sessions.changed', { sessionKey: run.sessionKey, reason: 'run' }, { needsRead: true });
  }

  #agentWait(conn: Conn, id: string, params: unknown): void {
    const r = agentWaitParamsSchema.safeParse(params);
    if (!r.success) return this.#fail(conn, id, { code: ERROR_CODES.INVALID_REQUEST, message: `invalid agent.wait params: ${formatIssues(r.error)}` });
    const runId = r.data.runId.trim();
    const timeoutMs = r.data.timeoutMs ?? 30_000;
    const answer = () => {
      const run = this.#runs.get(runId);
      if (!run || run.status === 'running') return this.#respond(conn, id, true, { runId, status: 'timeout' });
      this.#respond(conn, id, true, { runId, status: run.status, startedAt: run.startedAt, endedAt: run.endedAt, ...(run.error ? { error: run.error } : {}) });
    };
    const run = this.#runs.get(runId);
    if (run && run.status !== 'running') return answer();
    // Unknown runs are waited for too: the gateway cannot tell "not yet" from "never".
    const timer = setTimeout(() => {
      conn.waits.delete(timer);
      run?.waiters.delete(done);
      answer();
    }, timeoutMs);
    conn.waits.add(timer);
    const done = () => {
      clearTimeout(timer);
      conn.waits.delete(timer);
      answer();
    };
    run?.waiters.add(done);
  }
}

/** "agent:<agentId>:<rest>" → agentId. */
function agentOfSession(key: string): string | undefined {
  const m = /^agent:([^:]+):/.exec(key);
  return m?.[1];
}
