import { randomUUID } from 'node:crypto';
import WebSocket, { type RawData } from 'ws';
import { Backoff, sleep, type Logger } from '@molten/kit';
import { publicEndpoint } from './config.js';
import type { DeviceIdentity } from './device-identity.js';
import { diagnoseHttpStatus, diagnoseSocketError, type ConnectionPhase, type Diagnosis } from './diagnosis.js';
import { GatewayConnectionLost, GatewayNotConnected, GatewayRequestError, GatewayTimeout, type Accepted } from './gateway-errors.js';
import { Handshake, type Challenge, type HandshakeLink } from './handshake.js';
import { REQUESTED_SCOPES, agentAccepted, challengePayload, droppedParts, inboundFrame, issuesOf, preview, shutdownPayload, type EventFrame, type GatewayError, type HelloOk, type ResFrame } from './protocol.js';
import { watchTicks } from './tick-watchdog.js';

export { GatewayConnectionLost, GatewayNotConnected, GatewayRequestError, GatewayTimeout, type Accepted } from './gateway-errors.js';

export interface ConnectionState {
  phase: ConnectionPhase;
  /** Why it is in that phase, in the gateway's words where it gave any. */
  reason: string;
  /** What to change when something is wrong ("" when nothing is). */
  remedy: string;
  sinceMs: number;
  /** Failed connects since the last good one. */
  failures: number;
  /** When the next connect is due, while not connected. */
  retryAtMs?: number;
}

export interface TwoPhaseAnswer {
  /** The first answer, when the gateway accepted the work ({runId, status:"accepted", acceptedAt}). */
  accepted?: Accepted;
  /** The answer that ends the request: the second res, or the only one when the gateway refused (or replayed a finished run). */
  final: { ok: boolean; payload: unknown; error?: GatewayError };
}

export interface GatewayClientOptions {
  url: string;
  /** The shared gateway token. */
  token?: string;
  gatewayId: string;
  /** Signs connects with this identity and keeps the device tokens the gateway issues. */
  device?: DeviceIdentity;
  log: Logger;
  version: string;
  instanceId: string;
  /** Default answer timeout of a request (30 s). */
  requestTimeoutMs?: number;
  /** How long to wait for connect.challenge before connecting without a nonce (3 s). */
  challengeWaitMs?: number;
  /** Opening the socket plus the connect answer (15 s, the v4 handshake timeout). */
  handshakeTimeoutMs?: number;
  /** Reconnect delays after a drop or an unreachable gateway (250 ms doubling to 15 s). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** Delays after the gateway refused the adapter (auth, protocol): longer, so a wrong token is no tight loop (2 s to 60 s). */
  refusedRetry?: { initialMs?: number; maxMs?: number };
}

type Pending = {
  method: string;
  resolve: (frame: ResFrame) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  timeoutMs: number;
  /** Re-arms the timer with the final timeout when a two-phase request is accepted. */
  rearm?: () => void;
  twoPhase?: { onAccepted: (accepted: Accepted) => void; finalTimeoutMs: number; accepted?: Accepted };
};

type SessionEnd = { kind: 'closed'; restartExpectedMs?: number } | { kind: 'failed' } | { kind: 'refused' } | { kind: 'unavailable'; retryAfterMs?: number } | { kind: 'retry-now' };

export type EventListener = (event: string, payload: unknown, frame: EventFrame) => void;

/**
 * The gateway's WebSocket protocol (v3 and v4): one connection after another with backoff,
 * request/response correlation including the two-phase `agent` answer, and events. Each
 * connection starts with handshake.ts and is watched by tick-watchdog.ts. Every inbound frame is
 * validated; a malformed one is logged and ignored, a part of one that does not fit is dropped.
 */
export class GatewayClient {
  readonly endpoint: string;
  readonly #o: GatewayClientOptions;
  readonly #log: Logger;
  #ws: WebSocket | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #stop = new AbortController();
  #state: ConnectionState = { phase: 'connecting', reason: 'not connected yet', remedy: '', sinceMs: Date.now(), failures: 0 };
  #hello: HelloOk | undefined;
  #connected = false;
  #connectedAtMs = 0;
  readonly #pending = new Map<string, Pending>();
  readonly #stateListeners = new Set<(s: ConnectionState) => void>();
  readonly #eventListeners = new Set<EventListener>();
  readonly #gapListeners = new Set<() => void>();
  readonly #handshake: Handshake;
  /** Resolves the current connection's connect.challenge: it often arrives in the same read as the upgrade. */
  #gotChallenge: ((c: Challenge) => void) | undefined;
  #shutdown: { reason?: string; restartExpectedMs?: number } | undefined;
  #lastFrameAtMs = 0;
  #lastTickAtMs = 0;
  #lastSeq: number | undefined;
  #malformed = 0;
  readonly #reportedMisfits = new Set<string>();

  constructor(o: GatewayClientOptions) {
    this.#o = o;
    this.#log = o.log;
    this.endpoint = publicEndpoint(o.url);
    this.#handshake = new Handshake({
      url: o.url,
      token: o.token,
      gatewayId: o.gatewayId,
      device: o.device,
      version: o.version,
      instanceId: o.instanceId,
      log: o.log,
      challengeWaitMs: o.challengeWaitMs,
    });
  }

  // ------------------------------------------------------------------ public surface

  get state(): ConnectionState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** The last hello-ok (kept after a disconnect: what the gateway was). */
  get hello(): HelloOk | undefined {
    return this.#hello;
  }

  get methods(): string[] {
    return this.#hello?.features.methods ?? [];
  }

  /** Scopes the gateway granted (hello-ok.auth.scopes), or the ones asked for when it did not say. */
  get scopes(): string[] {
    return this.#hello?.auth?.scopes ?? (this.#hello ? REQUESTED_SCOPES : []);
  }

  get connectedAtMs(): number {
    return this.#connectedAtMs;
  }

  /** When the gateway last sent a valid frame (ticks included). */
  get lastSeenMs(): number {
    return this.#lastFrameAtMs;
  }

  get malformedFrames(): number {
    return this.#malformed;
  }

  onState(fn: (s: ConnectionState) => void): () => void {
    this.#stateListeners.add(fn);
    return () => this.#stateListeners.delete(fn);
  }

  onEvent(fn: EventListener): () => void {
    this.#eventListeners.add(fn);
    return () => this.#eventListeners.delete(fn);
  }

  /** Called when event sequence numbers skip: events were missed and state should be read again. */
  onGap(fn: () => void): () => void {
    this.#gapListeners.add(fn);
    return () => this.#gapListeners.delete(fn);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stop = new AbortController();
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#stop.abort();
    const ws = this.#ws;
    if (ws) {
      if (ws.readyState === WebSocket.OPEN) {
        ws.close(1000, 'adapter stopping');
        setTimeout(() => ws.terminate(), 1_000).unref();
      } else {
        ws.terminate();
      }
    }
    await this.#loop;
  }

  /** Resolves true once connected, false after timeoutMs or on abort. */
  waitConnected(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', abort);
        resolve(v);
      };
      const abort = () => done(false);
      const off = this.onState(() => this.#connected && done(true));
      const timer = setTimeout(() => done(false), Math.max(0, timeoutMs));
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /** Sends a request and returns its payload; throws GatewayRequestError when the gateway answers ok:false. */
  async request(method: string, params: unknown = {}, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<unknown> {
    const frame = await this.#call(method, params, { timeoutMs: opts.timeoutMs ?? this.#requestTimeoutMs, signal: opts.signal });
    if (!frame.ok) throw new GatewayRequestError(method, frame.error ?? { code: 'UNKNOWN', message: `${method} failed without a reason` }, frame.payload);
    return frame.payload;
  }

  /**
   * A request the gateway answers twice on the same id (`agent`): first {status:"accepted"}, then
   * the outcome. onAccepted runs on the first answer; the promise resolves with the last.
   */
  async requestTwoPhase(
    method: string,
    params: unknown,
    opts: { onAccepted: (accepted: Accepted) => void; finalTimeoutMs: number; signal?: AbortSignal },
  ): Promise<TwoPhaseAnswer> {
    const twoPhase: NonNullable<Pending['twoPhase']> = { onAccepted: opts.onAccepted, finalTimeoutMs: opts.finalTimeoutMs };
    const frame = await this.#call(method, params, { timeoutMs: this.#requestTimeoutMs, signal: opts.signal, twoPhase });
    return { accepted: twoPhase.accepted, final: { ok: frame.ok, payload: frame.payload, error: frame.error } };
  }

  // ------------------------------------------------------------------ connection loop

  get #requestTimeoutMs(): number {
    return this.#o.requestTimeoutMs ?? 30_000;
  }

  async #run(): Promise<void> {
    const reconnect = new Backoff({ initialMs: this.#o.reconnect?.initialMs ?? 250, maxMs: this.#o.reconnect?.maxMs ?? 15_000 });
    const refused = new Backoff({ initialMs: this.#o.refusedRetry?.initialMs ?? 2_000, maxMs: this.#o.refusedRetry?.maxMs ?? 60_000 });
    while (this.#running) {
      let end: SessionEnd;
      try {
        end = await this.#session();
      } catch (err) {
        this.#log.error({ err }, 'gateway connection failed unexpectedly');
        end = { kind: 'failed' };
      }
      if (!this.#running) break;
      let delay: number;
      switch (end.kind) {
        case 'closed':
          reconnect.reset();
          refused.reset();
          delay = Math.max(reconnect.next(), Math.min(end.restartExpectedMs ?? 0, 5_000));
          break;
        case 'retry-now':
          delay = 0;
          break;
        case 'unavailable':
          delay = end.retryAfterMs ?? reconnect.next();
          break;
        case 'refused':
          delay = refused.next();
          break;
        default:
          delay = reconnect.next();
      }
      this.#setState({ ...this.#state, retryAtMs: Date.now() + delay });
      if (delay > 0) this.#log.debug({ delay, phase: this.#state.phase }, 'reconnecting to the gateway');
      await sleep(delay, this.#stop.signal);
    }
    this.#connected = false;
  }

  /** One connection: open, handshake, then serve until it closes. */
  async #session(): Promise<SessionEnd> {
    const handshakeTimeoutMs = this.#o.handshakeTimeoutMs ?? 15_000;
    const ws = new WebSocket(this.#o.url, { handshakeTimeout: handshakeTimeoutMs, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });
    this.#ws = ws;
    this.#shutdown = undefined;
    const challenge = new Promise<Challenge>((resolve) => (this.#gotChallenge = resolve));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    void closed.then(() => this.#onClosed(ws));
    ws.on('message', (data, isBinary) => this.#onRaw(ws, data, isBinary));
    const opened = new Promise<Diagnosis | undefined>((resolve) => {
      ws.once('open', () => resolve(undefined));
      ws.once('error', (err) => resolve(diagnoseSocketError(err as Error & { code?: string }, this.endpoint)));
      ws.once('unexpected-response', (req, res) => {
        resolve(diagnoseHttpStatus(res.statusCode ?? 0, this.endpoint));
        req.destroy();
      });
    });
    // Later socket errors end in 'close'; without a listener they would be thrown.
    void opened.then(() => ws.on('error', (err) => this.#log.debug({ err }, 'gateway socket error')));

    const link: HandshakeLink = {
      opened,
      closed,
      challenge,
      isOpen: () => ws.readyState === WebSocket.OPEN,
      terminate: () => ws.terminate(),
      connect: (params) => this.#call('connect', params, { timeoutMs: handshakeTimeoutMs, ws }),
    };
    const outcome = await this.#handshake.run(link, () => this.#running);
    switch (outcome.kind) {
      case 'failed':
        if (outcome.diagnosis) this.#fail(outcome.diagnosis);
        return { kind: 'failed' };
      case 'refused':
        this.#fail(outcome.diagnosis);
        return { kind: 'refused' };
      case 'unavailable':
        this.#fail(outcome.diagnosis);
        return { kind: 'unavailable', retryAfterMs: outcome.retryAfterMs };
      case 'retry-now':
        return { kind: 'retry-now' };
    }

    const hello = outcome.hello;
    const now = Date.now();
    this.#hello = hello;
    this.#connectedAtMs = now;
    this.#lastTickAtMs = now;
    this.#lastFrameAtMs = now;
    this.#lastSeq = undefined;
    this.#connected = ws.readyState === WebSocket.OPEN;
    if (!this.#connected) {
      await closed;
      return { kind: 'failed' };
    }
    const version = hello.server.version ?? 'of unknown version';
    this.#log.info({ endpoint: this.endpoint, protocol: hello.protocol, version: hello.server.version, scopes: this.scopes, auth: outcome.credential }, 'connected to the gateway');
    this.#setState({ phase: 'connected', reason: `connected (protocol ${hello.protocol}, gateway ${version})`, remedy: '', sinceMs: now, failures: 0 });

    const tick = hello.policy.tickIntervalMs;
    let tickTimedOut = false;
    const stopWatching = watchTicks({
      tickIntervalMs: tick,
      lastTickAtMs: () => this.#lastTickAtMs,
      onSilence: () => {
        tickTimedOut = true;
        this.#log.warn({ tickIntervalMs: tick }, 'no tick from the gateway for two intervals; reconnecting');
        ws.close(4000, 'tick timeout');
        setTimeout(() => ws.terminate(), 1_000).unref();
      },
    });
    const c = await closed;
    stopWatching();
    const shutdown = this.#announcedShutdown();
    const reason = tickTimedOut
      ? `no tick from the gateway for more than ${2 * tick} ms; reconnecting`
      : shutdown
        ? `the gateway is shutting down (${shutdown.reason ?? 'no reason given'}); reconnecting`
        : `the connection to the gateway closed (code ${c.code}${c.reason ? `: ${c.reason}` : ''}); reconnecting`;
    if (this.#running) {
      this.#log.warn({ code: c.code, reason }, 'gateway connection lost');
      this.#setState({ phase: 'connecting', reason, remedy: '', sinceMs: Date.now(), failures: 0 });
    }
    return { kind: 'closed', restartExpectedMs: shutdown?.restartExpectedMs };
  }

  /** The shutdown event of the current connection, if the gateway sent one (set by #onEvent while #session waits). */
  #announcedShutdown(): { reason?: string; restartExpectedMs?: number } | undefined {
    return this.#shutdown;
  }

  #fail(d: Diagnosis): void {
    this.#connected = false;
    const same = this.#state.phase === d.phase;
    this.#setState({ phase: d.phase, reason: d.reason, remedy: d.remedy, sinceMs: same ? this.#state.sinceMs : Date.now(), failures: this.#state.failures + 1 });
  }

  #setState(next: ConnectionState): void {
    const prev = this.#state;
    this.#state = next;
    if (prev.phase === next.phase && prev.reason === next.reason && prev.remedy === next.remedy && prev.retryAtMs === next.retryAtMs) return;
    for (const fn of this.#stateListeners) {
      try {
        fn(next);
      } catch (err) {
        this.#log.error({ err }, 'connection state listener failed');
      }
    }
  }

  #onClosed(ws: WebSocket): void {
    if (this.#ws === ws) this.#connected = false;
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new GatewayConnectionLost(`the connection to the gateway closed before it answered ${p.method}`, p.twoPhase?.accepted));
    }
  }

  // ------------------------------------------------------------------ frames

  #call(
    method: string,
    params: unknown,
    o: { timeoutMs: number; signal?: AbortSignal; twoPhase?: Pending['twoPhase']; ws?: WebSocket },
  ): Promise<ResFrame> {
    const ws = o.ws ?? (this.#connected ? this.#ws : undefined);
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new GatewayNotConnected(`the gateway is not connected (${this.#state.reason})`));
    if (o.signal?.aborted) return Promise.reject(new GatewayConnectionLost(`${method} was not sent: stopping`));
    const id = randomUUID();
    return new Promise<ResFrame>((resolve, reject) => {
      const onTimeout = () => {
        if (!this.#pending.delete(id)) return;
        o.signal?.removeEventListener('abort', onAbort);
        const p = pending;
        reject(new GatewayTimeout(`${method}: no answer from the gateway within ${p.timeoutMs} ms`, p.twoPhase?.accepted));
      };
      const onAbort = () => {
        if (!this.#pending.delete(id)) return;
        clearTimeout(pending.timer);
        reject(new GatewayConnectionLost(`stopped waiting for ${method}`, pending.twoPhase?.accepted));
      };
      const pending: Pending = {
        method,
        timeoutMs: o.timeoutMs,
        twoPhase: o.twoPhase,
        timer: setTimeout(onTimeout, o.timeoutMs),
        resolve: (frame) => {
          o.signal?.removeEventListener('abort', onAbort);
          resolve(frame);
        },
        reject: (err) => {
          o.signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      pending.rearm = () => {
        clearTimeout(pending.timer);
        pending.timeoutMs = pending.twoPhase!.finalTimeoutMs;
        pending.timer = setTimeout(onTimeout, pending.timeoutMs);
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, pending);
      ws.send(JSON.stringify({ type: 'req', id, method, params }), (err) => {
        if (!err || !this.#pending.delete(id)) return;
        clearTimeout(pending.timer);
        pending.reject(new GatewayConnectionLost(`${method} could not be sent: ${err.message}`));
      });
    });
  }

  #onRaw(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (ws !== this.#ws) return;
    const text = isBinary ? '' : data.toString();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.#malformed++;
      this.#log.warn({ frame: preview(isBinary ? '(binary frame)' : text) }, 'ignored a frame from the gateway that is not JSON');
      return;
    }
    const parsed = inboundFrame.safeParse(json);
    if (!parsed.success) {
      this.#malformed++;
      this.#log.warn({ problem: issuesOf(parsed.error), frame: preview(text) }, 'ignored a malformed frame from the gateway');
      return;
    }
    this.#lastFrameAtMs = Date.now();
    const frame = parsed.data;
    const dropped = droppedParts(frame);
    // Said once per kind of misfit: a gateway that sends it on every event would flood the log.
    if (dropped.length && !this.#reportedMisfits.has(dropped.join())) {
      this.#reportedMisfits.add(dropped.join());
      this.#log.warn({ dropped, frame: preview(text) }, 'parts of a gateway frame did not fit what the adapter reads; it went on without them');
    }
    if (frame.type === 'res') this.#onRes(frame);
    else if (frame.type === 'event') this.#onEvent(frame);
    else this.#log.debug({ method: frame.method }, 'ignored a request from the gateway (operators serve none)');
  }

  #onRes(frame: ResFrame): void {
    const p = this.#pending.get(frame.id);
    if (!p) {
      this.#log.debug({ id: frame.id }, 'answer to a request no longer waited for');
      return;
    }
    if (p.twoPhase && !p.twoPhase.accepted && frame.ok) {
      const accepted = agentAccepted.safeParse(frame.payload);
      if (accepted.success) {
        p.twoPhase.accepted = accepted.data;
        p.rearm?.();
        try {
          p.twoPhase.onAccepted(accepted.data);
        } catch (err) {
          this.#log.error({ err }, 'accepted handler failed');
        }
        return;
      }
    }
    this.#pending.delete(frame.id);
    clearTimeout(p.timer);
    p.resolve(frame);
  }

  #onEvent(frame: EventFrame): void {
    if (frame.seq !== undefined) {
      const gap = this.#lastSeq !== undefined && frame.seq > this.#lastSeq + 1;
      this.#lastSeq = Math.max(frame.seq, this.#lastSeq ?? 0);
      if (gap) {
        this.#log.debug({ seq: frame.seq }, 'missed gateway events; state will be read again');
        for (const fn of this.#gapListeners) fn();
      }
    }
    switch (frame.event) {
      case 'connect.challenge': {
        const c = challengePayload.safeParse(frame.payload);
        if (c.success) this.#gotChallenge?.(c.data);
        else this.#log.warn({ problem: issuesOf(c.error) }, 'ignored a malformed connect.challenge');
        return;
      }
      case 'tick':
        this.#lastTickAtMs = Date.now();
        break;
      case 'shutdown': {
        const s = shutdownPayload.safeParse(frame.payload ?? {});
        this.#shutdown = s.success ? s.data : {};
        this.#log.info({ reason: this.#shutdown.reason, restartExpectedMs: this.#shutdown.restartExpectedMs }, 'the gateway announced a shutdown');
        this.#setState({ ...this.#state, phase: 'connecting', reason: `the gateway is shutting down (${this.#shutdown.reason ?? 'no reason given'})`, remedy: '', sinceMs: Date.now() });
        break;
      }
    }
    for (const fn of this.#eventListeners) {
      try {
        fn(frame.event, frame.payload, frame);
      } catch (err) {
        this.#log.error({ err, event: frame.event }, 'gateway event listener failed');
      }
    }
  }
}
