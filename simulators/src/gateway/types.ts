/**
 * The simulator's public face: its options, what it records, and the controls tests turn.
 */
import type { Logger } from '@molten/kit';
import type { SimAgent, SimCronJob, SimSession } from './demo-data.js';
import type { ErrorShape } from './protocol.js';
import type { SimTranscriptMessage } from './transcripts.js';

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
  /** Replaces what a session said (chat.history answers it); demo sessions start with a transcript of their own. */
  setTranscript(sessionKey: string, messages: SimTranscriptMessage[]): void;
  /** What a session's transcript holds now (runs append their turns). */
  transcript(sessionKey: string): SimTranscriptMessage[];
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
