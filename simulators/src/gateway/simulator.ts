/**
 * The simulated agent gateway: one HTTP server whose WebSocket upgrade speaks the gateway
 * protocol. This file runs its lifecycle (listen, stop as a process exit, listen again) and
 * the controls tests turn; the protocol lives beside it: handshake.ts (connect and hello-ok),
 * methods.ts (requests), runs.ts (agent runs), connections.ts (frames, events, ticks),
 * pairing.ts (devices), world.ts (agents, sessions, cron and the answers built from them).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { createLogger, type Logger } from '@molten/kit';
import { Connections, type Conn } from './connections.js';
import type { GatewayContext } from './context.js';
import type { SimAgent, SimCronJob, SimSession } from './demo-data.js';
import { answerConnect, type HandshakeState } from './handshake.js';
import { answerHttp } from './http-probes.js';
import { answerRequest } from './methods.js';
import { DeviceRegistry } from './pairing.js';
import { CLOSE, HANDSHAKE_TIMEOUT_MS, POLICY } from './protocol.js';
import { AgentRuns } from './runs.js';
import type { AgentOutcome, ConnectAttempt, GatewaySimulator, GatewaySimulatorOptions, SimClientInfo, SimRunInfo } from './types.js';
import type { SimTranscriptMessage } from './transcripts.js';
import { GatewayWorld } from './world.js';

export type { AgentOutcome, ConnectAttempt, GatewaySimulator, GatewaySimulatorOptions, SimClientInfo, SimRunInfo, SimToolCall } from './types.js';
export type { SimContentBlock, SimTranscriptMessage } from './transcripts.js';

export async function startGatewaySimulator(options: GatewaySimulatorOptions): Promise<GatewaySimulator> {
  const sim = new Simulator(options);
  await sim.start();
  return sim;
}

class Simulator implements GatewaySimulator {
  readonly protocol: number;
  readonly token: string;
  readonly tickIntervalMs: number;
  readonly #ctx: GatewayContext;
  readonly #handshake: HandshakeState;
  readonly #runs: AgentRuns;
  readonly #host: string;
  #port: number;
  #http: http.Server | undefined;
  #wss: WebSocketServer | undefined;

  constructor(o: GatewaySimulatorOptions) {
    if (!o.token) throw new Error('the gateway needs a token (gateway.auth.token): it has no "none" auth mode');
    this.protocol = o.protocol ?? 3;
    if (this.protocol < 3) throw new Error('the simulator speaks protocol 3 or newer');
    this.token = o.token;
    this.tickIntervalMs = o.tickIntervalMs ?? 30_000;
    this.#host = o.host ?? '127.0.0.1';
    this.#port = o.port ?? 0;
    const v4 = this.protocol >= 4;
    const log: Logger = o.log ?? createLogger('gateway-sim', { level: 'silent' });
    this.#ctx = {
      protocol: this.protocol,
      v4,
      token: o.token,
      tickIntervalMs: this.tickIntervalMs,
      world: new GatewayWorld({ protocol: this.protocol, version: o.version, agents: o.agents, defaultAgentId: o.defaultAgentId, sessions: o.sessions, cronJobs: o.cronJobs }),
      conns: new Connections({ v4 }),
      devices: new DeviceRegistry(),
      options: o,
      log,
    };
    this.#ctx.conns.onReadyClosed = () => this.#presenceChanged();
    this.#handshake = { attempts: [], unavailableLeft: o.startupUnavailable ?? 0 };
    this.#runs = new AgentRuns(this.#ctx);
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `ws://${this.#host}:${this.#port}`;
  }

  get connectAttempts(): ConnectAttempt[] {
    return this.#handshake.attempts;
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    if (this.#http) return;
    const server = http.createServer((req, res) => answerHttp(this.#ctx.world, req, res));
    const wss = new WebSocketServer({ server, maxPayload: POLICY[this.#ctx.v4 ? 4 : 3].maxPayload });
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
    this.#ctx.conns.startTicks(this.tickIntervalMs);
    this.#ctx.log.info({ url: this.url, protocol: this.protocol }, 'gateway simulator listening');
  }

  async stop(): Promise<void> {
    const server = this.#http;
    const wss = this.#wss;
    if (!server || !wss) return;
    this.#http = undefined;
    this.#wss = undefined;
    this.#ctx.conns.stopTicks();
    this.#runs.reset();
    this.#ctx.conns.dropAll((c) => c.ws.terminate());
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.stop();
  }

  // ---------------------------------------------------------------- test controls

  dropConnections(): void {
    this.#ctx.conns.dropAll((c) => c.ws.terminate());
  }

  sendShutdown(reason = 'gateway restarting', restartExpectedMs?: number): void {
    this.#ctx.conns.broadcast('shutdown', { reason, ...(restartExpectedMs !== undefined ? { restartExpectedMs } : {}) });
    this.#ctx.conns.dropAll((c) => c.ws.close(CLOSE.restart, 'service restart'));
  }

  stopTicking(): void {
    this.#ctx.conns.setTicking(false, this.tickIntervalMs);
  }

  startTicking(): void {
    if (this.#http) this.#ctx.conns.setTicking(true, this.tickIntervalMs);
  }

  sendRaw(frame: string | object): void {
    this.#ctx.conns.sendRaw(frame);
  }

  clients(): SimClientInfo[] {
    return this.#ctx.conns.ready().map((c) => ({
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
    this.#ctx.world.setAgents(agents, defaultAgentId);
    this.#healthChanged();
  }

  setSessions(sessions: SimSession[]): void {
    this.#ctx.world.sessions = sessions;
    this.#healthChanged();
    if (this.#ctx.v4) this.#ctx.conns.broadcast('sessions.changed', { reason: 'update' });
  }

  setTranscript(sessionKey: string, messages: SimTranscriptMessage[]): void {
    this.#ctx.world.transcripts.set(sessionKey, messages, this.#ctx.world.sessions.find((s) => s.key === sessionKey)?.sessionId);
  }

  transcript(sessionKey: string): SimTranscriptMessage[] {
    return this.#ctx.world.transcripts.messages(sessionKey);
  }

  setCronJobs(jobs: SimCronJob[]): void {
    this.#ctx.world.cron = jobs;
    this.#ctx.conns.broadcast('cron', { action: 'updated' });
  }

  setNextAgentOutcome(...outcomes: AgentOutcome[]): void {
    this.#runs.queueOutcomes(outcomes);
  }

  releaseRuns(): void {
    this.#runs.release();
  }

  agentCalls(idempotencyKey?: string): number {
    return this.#runs.calls(idempotencyKey);
  }

  runs(): SimRunInfo[] {
    return this.#runs.list();
  }

  approvePairing(): number {
    const approved = this.#ctx.devices.approveAll();
    for (const { requestId, deviceId } of approved) this.#ctx.conns.broadcast('device.pair.resolved', { requestId, deviceId, decision: 'approved', ts: Date.now() });
    return approved.length;
  }

  revokeDeviceTokens(): void {
    this.#ctx.devices.revokeAll();
  }

  setStartupUnavailable(count: number): void {
    this.#handshake.unavailableLeft = count;
  }

  // ---------------------------------------------------------------- connections

  #onConnection(ws: WebSocket, req: http.IncomingMessage): void {
    const { conns } = this.#ctx;
    const conn = conns.open(ws, req.headers.origin);
    ws.on('message', (data, isBinary) => this.#onMessage(conn, data, isBinary));
    ws.on('close', () => conns.drop(conn));
    ws.on('error', (err) => this.#ctx.log.debug({ err }, 'client socket error'));
    conns.send(conn, { type: 'event', event: 'connect.challenge', payload: { nonce: conn.nonce, ts: conn.challengeTs } });
    const timeout = this.#ctx.options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS[this.#ctx.v4 ? 4 : 3];
    conn.handshakeTimer = setTimeout(() => {
      if (!conn.ready) ws.close(CLOSE.policy, 'handshake timeout');
    }, timeout);
  }

  #onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    let parsed: unknown;
    try {
      parsed = isBinary ? undefined : JSON.parse(data.toString());
    } catch {
      parsed = undefined;
    }
    if (!conn.ready) answerConnect(this.#ctx, this.#handshake, conn, parsed);
    else answerRequest(this.#ctx, this.#runs, conn, parsed);
  }

  #presenceChanged(): void {
    const { conns, world } = this.#ctx;
    conns.stateVersion.presence++;
    conns.broadcast('presence', { presence: world.presence(conns.presentClients()) }, { stateVersion: true });
  }

  #healthChanged(): void {
    const { conns, world } = this.#ctx;
    conns.stateVersion.health++;
    conns.broadcast('health', world.health(), { stateVersion: true });
  }
}
