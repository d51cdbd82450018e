import { ServerStatus, type Capability, type Tool, type UpstreamHealth, type UpstreamServer } from '@molten/contracts';
import type { UpstreamError } from './upstream-error.js';

export interface UpstreamIdentity {
  id: string;
  name: string;
  kind: string;
  scope: string;
  endpoint: string;
  transport: string;
  demo: boolean;
  reporter: string;
  pollMs: number;
}

/**
 * What the adapter knows of one upstream's health: the last good read, the last failure, and
 * what that failure means for the operator. Reachable, authenticated and usable are tracked
 * apart, since "connected" alone has misled users of other tools.
 */
export class UpstreamHealthTracker {
  status = ServerStatus.SERVER_STATUS_CONNECTING;
  reason = 'connecting';
  remedy = '';
  reachable = false;
  authenticated = false;
  usable = false;
  latencyMs = 0;
  lastOkMs = 0;
  statusSinceMs = Date.now();
  version = '';
  tools: Tool[] = [];
  #consecutiveFailures = 0;
  #listeners: (() => void)[] = [];
  #readListeners: (() => void)[] = [];

  constructor(
    readonly id: UpstreamIdentity,
    private readonly capabilities: () => Capability[],
  ) {}

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Called after every good read, changed or not: the heartbeat then carries the new last-read
   * time at once, so "updated N s ago" follows the poll rather than the heartbeat's timer.
   */
  onRead(listener: () => void): void {
    this.#readListeners.push(listener);
  }

  /** A good read. degradedReason: it answered, but not everything is well (a node offline). */
  ok(latencyMs: number, degradedReason = ''): void {
    this.latencyMs = latencyMs;
    this.lastOkMs = Date.now();
    this.#consecutiveFailures = 0;
    this.reachable = this.authenticated = this.usable = true;
    if (degradedReason) this.#set(ServerStatus.SERVER_STATUS_DEGRADED, degradedReason, '');
    else this.#set(ServerStatus.SERVER_STATUS_CONNECTED, 'connected', '');
    for (const l of this.#readListeners) l();
  }

  fail(err: UpstreamError): void {
    this.#consecutiveFailures++;
    switch (err.code) {
      case 'auth':
        this.reachable = true;
        this.authenticated = false;
        this.usable = false;
        this.#set(ServerStatus.SERVER_STATUS_AUTH_FAILED, err.message, err.remedy);
        break;
      case 'forbidden':
        this.reachable = this.authenticated = true;
        this.usable = false;
        this.#set(ServerStatus.SERVER_STATUS_DEGRADED, err.message, err.remedy);
        break;
      case 'unreachable':
      case 'timeout':
      case 'tls':
        this.reachable = false;
        this.usable = false;
        this.#set(ServerStatus.SERVER_STATUS_DOWN, err.message, err.remedy);
        break;
      default:
        // One odd answer is a blip; repeated ones mean the upstream is not usable.
        this.usable = this.#consecutiveFailures < 3;
        this.#set(this.usable ? ServerStatus.SERVER_STATUS_DEGRADED : ServerStatus.SERVER_STATUS_DOWN, err.message, err.remedy);
    }
  }

  descriptor(): UpstreamServer {
    const i = this.id;
    return {
      id: i.id,
      name: i.name,
      kind: i.kind,
      domain: 'proxmox',
      scope: i.scope,
      endpoint: i.endpoint,
      transport: i.transport,
      status: this.status,
      statusReason: this.reason,
      remedy: this.remedy,
      reachable: this.reachable,
      authenticated: this.authenticated,
      usable: this.usable,
      latencyMs: Math.round(this.latencyMs * 10) / 10,
      lastSeenMs: this.lastOkMs,
      statusSinceMs: this.statusSinceMs,
      version: this.version,
      tools: this.tools,
      capabilities: this.capabilities(),
      demo: i.demo,
      methods: [],
      reporter: i.reporter,
    };
  }

  health(leader: boolean): UpstreamHealth {
    return {
      serverId: this.id.id,
      scope: this.id.scope,
      status: this.status,
      lastOkMs: this.lastOkMs,
      pollMs: this.id.pollMs,
      latencyMs: this.latencyMs,
      leader,
      capabilities: this.capabilities(),
      privileges: [],
    };
  }

  #set(status: ServerStatus, reason: string, remedy: string): void {
    const changed = status !== this.status || reason !== this.reason || remedy !== this.remedy;
    if (status !== this.status) this.statusSinceMs = Date.now();
    this.status = status;
    this.reason = reason;
    this.remedy = remedy;
    if (changed) for (const l of this.#listeners) l();
  }
}
