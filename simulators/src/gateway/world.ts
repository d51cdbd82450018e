/**
 * What the simulated gateway knows — its agents, sessions (with their transcripts) and cron jobs —
 * and the answers built from them (health, status, presence, agents.list, sessions.list, cron,
 * chat.history in transcripts.ts), in each protocol generation's shapes. No sockets here: connections.ts and methods.ts serve these.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { z } from 'zod';
import { DEFAULT_MODEL, demoAgents, demoCronJobs, demoSessions, type SimAgent, type SimCronJob, type SimSession } from './demo-data.js';
import type { cronListParamsSchema, sessionsListParamsSchema } from './protocol.js';
import { Transcripts } from './transcripts.js';

/** A client past the handshake, as presence lists it. */
export interface PresentClient {
  displayName?: string;
  clientId: string;
  version: string;
  platform: string;
  mode: string;
  instanceId?: string;
  deviceId?: string;
  role: string;
  scopes: string[];
}

/** "agent:<agentId>:<rest>" → agentId. */
export function agentOfSession(key: string): string | undefined {
  return /^agent:([^:]+):/.exec(key)?.[1];
}

export class GatewayWorld {
  readonly v4: boolean;
  readonly version: string;
  readonly startedAt = Date.now();
  /** v4 hello-ok names the build and this process (server.buildId, server.bootId). */
  readonly bootId = randomUUID();
  agents: SimAgent[];
  defaultAgentId: string;
  sessions: SimSession[];
  cron: SimCronJob[];
  /** What each session said (chat.history). */
  readonly transcripts: Transcripts;

  constructor(o: { protocol: number; version?: string; agents?: SimAgent[]; defaultAgentId?: string; sessions?: SimSession[]; cronJobs?: SimCronJob[] }) {
    this.v4 = o.protocol >= 4;
    this.version = o.version ?? (this.v4 ? '2026.9.6' : '2026.1.27-beta.1');
    this.agents = o.agents ?? demoAgents();
    this.defaultAgentId = o.defaultAgentId ?? this.agents[0]?.id ?? 'main';
    this.sessions = o.sessions ?? demoSessions();
    this.cron = o.cronJobs ?? demoCronJobs();
    this.transcripts = new Transcripts({ protocol: o.protocol, sessions: this.sessions });
  }

  get stateDir(): string {
    return `${os.homedir()}/${this.v4 ? '.openclaw' : '.clawdbot'}`;
  }

  get host(): string {
    return os.hostname();
  }

  get buildId(): string {
    return `${this.version}-simulated`;
  }

  setAgents(agents: SimAgent[], defaultAgentId?: string): void {
    this.agents = agents;
    this.defaultAgentId = defaultAgentId ?? agents[0]?.id ?? 'main';
  }

  /** v3 lists an agent's model as a string (when set); v4 as {primary}. */
  agentsList() {
    const model = `${DEFAULT_MODEL.modelProvider}/${DEFAULT_MODEL.model}`;
    return {
      defaultId: this.defaultAgentId,
      mainKey: 'main',
      scope: 'per-sender',
      agents: this.v4 ? this.agents.map((a) => ({ ...a, model: { primary: model } })) : this.agents,
    };
  }

  identity(q: { agentId?: string; sessionKey?: string }) {
    const agentId = q.agentId ?? (q.sessionKey ? agentOfSession(q.sessionKey) : undefined) ?? this.defaultAgentId;
    const a = this.agents.find((x) => x.id === agentId);
    return { agentId, name: a?.identity?.name ?? a?.name ?? agentId, ...(a?.identity?.emoji ? { emoji: a.identity.emoji } : {}) };
  }

  sessionsList(q: z.infer<typeof sessionsListParamsSchema>) {
    const now = Date.now();
    let rows = [...this.sessions].sort((a, b) => (b.updatedAt ?? 0) - (a.updatedAt ?? 0));
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
      path: this.v4 ? '(multiple)' : `${this.stateDir}/agents/${this.defaultAgentId}/sessions/sessions.json`,
      count: sessions.length,
      defaults: DEFAULT_MODEL,
      sessions,
    };
  }

  cronList(q: z.infer<typeof cronListParamsSchema>) {
    return { jobs: this.cron.filter((j) => q.includeDisabled || j.enabled) };
  }

  cronStatus() {
    const next = this.cron
      .filter((j) => j.enabled)
      .map((j) => j.state?.nextRunAtMs)
      .filter((n): n is number => typeof n === 'number');
    return { enabled: true, storePath: `${this.stateDir}/cron/jobs.json`, jobs: this.cron.length, nextWakeAtMs: next.length ? Math.min(...next) : null };
  }

  health() {
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
      defaultAgentId: this.defaultAgentId,
      agents: this.agents.map((a) => {
        const own = this.sessions.filter((s) => agentOfSession(s.key) === a.id);
        return {
          agentId: a.id,
          isDefault: a.id === this.defaultAgentId,
          heartbeat: { enabled: false, every: 'disabled', everyMs: null },
          sessions: { path: `${this.stateDir}/agents/${a.id}/sessions/sessions.json`, count: own.length, recent: recent(own) },
        };
      }),
      sessions: { path: `${this.stateDir}/agents/${this.defaultAgentId}/sessions/sessions.json`, count: this.sessions.length, recent: recent(this.sessions) },
    };
  }

  status() {
    const health = this.health();
    return {
      heartbeat: { defaultAgentId: this.defaultAgentId, agents: health.agents.map((a) => ({ agentId: a.agentId, enabled: false, every: 'disabled', everyMs: null })) },
      sessions: { paths: [health.sessions.path], count: health.sessions.count, defaults: { model: DEFAULT_MODEL.model, contextTokens: DEFAULT_MODEL.contextTokens }, recent: health.sessions.recent },
      channelSummary: [],
      queuedSystemEvents: [],
    };
  }

  presence(clients: PresentClient[]) {
    const now = Date.now();
    const self = {
      host: os.hostname(),
      ip: '127.0.0.1',
      version: this.version,
      platform: process.platform,
      mode: 'gateway',
      reason: 'self',
      text: `Gateway: ${os.hostname()} (127.0.0.1) · app ${this.version} · mode gateway · reason self`,
      ts: now,
    };
    return [
      self,
      ...clients.map((c) => ({
        host: c.displayName ?? c.clientId,
        version: c.version,
        platform: c.platform,
        mode: c.mode,
        reason: 'connect',
        ts: now,
        ...(c.instanceId ? { instanceId: c.instanceId } : {}),
        ...(c.deviceId ? { deviceId: c.deviceId } : {}),
        roles: [c.role],
        scopes: c.scopes,
      })),
    ];
  }

  /** A run ended: its session moves to the top with the reply as its preview. */
  touchSession(sessionKey: string, message: string, preview: string): void {
    const now = Date.now();
    const existing = this.sessions.find((s) => s.key === sessionKey);
    const tokens = Math.ceil((message.length + preview.length) / 4);
    if (existing) {
      existing.updatedAt = now;
      if (preview) existing.lastMessagePreview = preview.slice(0, 200);
      existing.totalTokens = (existing.totalTokens ?? 0) + tokens;
    } else {
      const sessionId = this.transcripts.sessionIdOf(sessionKey) ?? randomUUID();
      this.sessions.push({ key: sessionKey, kind: 'direct', updatedAt: now, sessionId, lastMessagePreview: preview.slice(0, 200), totalTokens: tokens, ...DEFAULT_MODEL });
    }
  }
}
