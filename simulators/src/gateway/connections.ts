/**
 * The gateway's open WebSocket connections: sending answers, broadcasting events with one `seq`
 * across all of them (and `stateVersion` for presence and health), scoping agent output to
 * clients with operator.read (v4), and the `tick` every tickIntervalMs.
 */
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { SCOPES, type ConnectParams, type ErrorShape } from './protocol.js';
import type { PresentClient } from './world.js';

export interface Conn {
  ws: WebSocket;
  connId: string;
  nonce: string;
  challengeTs: number;
  origin: string | undefined;
  ready?: { params: ConnectParams; role: string; scopes: string[]; deviceId?: string; auth: 'token' | 'device-token' };
  handshakeTimer?: NodeJS.Timeout;
  /** agent.wait timers of this connection. */
  waits: Set<NodeJS.Timeout>;
}

export function hasScope(scopes: string[], need: 'read' | 'write'): boolean {
  if (scopes.includes(SCOPES.admin)) return true;
  if (need === 'read') return scopes.includes(SCOPES.read) || scopes.includes(SCOPES.write);
  return scopes.includes(SCOPES.write);
}

export class Connections {
  readonly #all = new Set<Conn>();
  readonly #v4: boolean;
  #seq = 0;
  readonly stateVersion = { presence: 1, health: 1 };
  #tickTimer: NodeJS.Timeout | undefined;
  #ticking = true;
  /** Called when a client that was past the handshake goes away. */
  onReadyClosed: () => void = () => {};

  constructor(o: { v4: boolean }) {
    this.#v4 = o.v4;
  }

  open(ws: WebSocket, origin: string | undefined): Conn {
    const conn: Conn = { ws, connId: randomUUID(), nonce: randomUUID(), challengeTs: Date.now(), origin, waits: new Set() };
    this.#all.add(conn);
    return conn;
  }

  has(conn: Conn): boolean {
    return this.#all.has(conn);
  }

  ready(): Conn[] {
    return [...this.#all].filter((c) => c.ready);
  }

  /** Forgets a connection (and its presence); `then` closes the socket. */
  drop(conn: Conn, then?: () => void): void {
    clearTimeout(conn.handshakeTimer);
    for (const t of conn.waits) clearTimeout(t);
    conn.waits.clear();
    const wasReady = this.#all.delete(conn) && conn.ready;
    then?.();
    if (wasReady) this.onReadyClosed();
  }

  dropAll(then: (c: Conn) => void): void {
    for (const c of [...this.#all]) this.drop(c, () => then(c));
  }

  send(conn: Conn, frame: object): void {
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify(frame));
  }

  respond(conn: Conn, id: string, ok: boolean, payload?: unknown, error?: ErrorShape): void {
    this.send(conn, { type: 'res', id, ok, ...(payload !== undefined ? { payload } : {}), ...(error ? { error } : {}) });
  }

  fail(conn: Conn, id: string, error: ErrorShape, close?: number): void {
    this.respond(conn, id, false, undefined, error);
    if (close !== undefined) conn.ws.close(close, error.message.slice(0, 120));
  }

  broadcast(event: string, payload: unknown, opts: { needsRead?: boolean; stateVersion?: boolean } = {}): void {
    const frame = JSON.stringify({
      type: 'event',
      event,
      payload,
      seq: ++this.#seq,
      ...(opts.stateVersion ? { stateVersion: { ...this.stateVersion } } : {}),
    });
    for (const c of this.#all) {
      if (!c.ready || c.ws.readyState !== WebSocket.OPEN) continue;
      // v4 scopes chat/agent/tool broadcasts to operator.read; tick, presence, health go to all.
      if (opts.needsRead && this.#v4 && !hasScope(c.ready.scopes, 'read')) continue;
      c.ws.send(frame);
    }
  }

  /** Sends a raw frame (JSON-encoded unless a string) to every client past the handshake. */
  sendRaw(frame: string | object): void {
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    for (const c of this.#all) if (c.ready && c.ws.readyState === WebSocket.OPEN) c.ws.send(text);
  }

  presentClients(): PresentClient[] {
    return this.ready().map((c) => {
      const r = c.ready!;
      return {
        displayName: r.params.client.displayName,
        clientId: r.params.client.id,
        version: r.params.client.version,
        platform: r.params.client.platform,
        mode: r.params.client.mode,
        instanceId: r.params.client.instanceId,
        deviceId: r.deviceId,
        role: r.role,
        scopes: r.scopes,
      };
    });
  }

  startTicks(intervalMs: number): void {
    clearInterval(this.#tickTimer);
    if (!this.#ticking) return;
    this.#tickTimer = setInterval(() => this.broadcast('tick', { ts: Date.now() }), intervalMs);
  }

  stopTicks(): void {
    clearInterval(this.#tickTimer);
  }

  /** Test control: stop ticking until setTicking(true). */
  setTicking(on: boolean, intervalMs: number): void {
    this.#ticking = on;
    if (on) this.startTicks(intervalMs);
    else this.stopTicks();
  }
}
