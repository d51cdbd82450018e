/**
 * What a small homelab gateway looks like: three agents, a handful of sessions with recent
 * activity, and a few cron jobs. Field names are the gateway's own (GatewayAgentRow,
 * GatewaySessionRow, CronJob), so the simulator answers with them unchanged.
 */

export interface SimAgent {
  id: string;
  name?: string;
  workspace?: string;
  identity?: { name?: string; theme?: string; emoji?: string; avatar?: string };
}

export interface SimSession {
  key: string;
  kind: 'direct' | 'group' | 'global' | 'unknown';
  label?: string;
  displayName?: string;
  derivedTitle?: string;
  lastMessagePreview?: string;
  channel?: string;
  updatedAt: number | null;
  sessionId?: string;
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  modelProvider?: string;
  model?: string;
  contextTokens?: number;
}

export interface SimCronJob {
  id: string;
  agentId?: string;
  name: string;
  description?: string;
  enabled: boolean;
  createdAtMs: number;
  updatedAtMs: number;
  schedule: { kind: 'at'; atMs: number } | { kind: 'every'; everyMs: number; anchorMs?: number } | { kind: 'cron'; expr: string; tz?: string };
  sessionTarget: 'main' | 'isolated';
  wakeMode: 'next-heartbeat' | 'now';
  payload: { kind: 'systemEvent'; text: string } | { kind: 'agentTurn'; message: string; timeoutSeconds?: number };
  state?: { nextRunAtMs?: number; lastRunAtMs?: number; lastStatus?: 'ok' | 'error' | 'skipped'; lastError?: string; lastDurationMs?: number };
}

export const DEFAULT_MODEL = { modelProvider: 'anthropic', model: 'claude-sonnet-4-5', contextTokens: 200_000 };

const MIN = 60_000;
const HOUR = 60 * MIN;

export function demoAgents(): SimAgent[] {
  return [
    { id: 'main', name: 'Molty', workspace: '~/clawd', identity: { name: 'Molty', theme: 'general assistant for the household', emoji: '🦞' } },
    {
      id: 'homelab-ops',
      name: 'Homelab Ops',
      workspace: '~/clawd-homelab-ops',
      identity: { name: 'Homelab Ops', theme: 'keeps the Proxmox cluster, backups and containers healthy', emoji: '🛠️' },
    },
    {
      id: 'researcher',
      name: 'Researcher',
      workspace: '~/clawd-researcher',
      identity: { name: 'Researcher', theme: 'reads papers and release notes and writes short summaries', emoji: '🔎' },
    },
  ];
}

export function demoSessions(now = Date.now()): SimSession[] {
  const base = { ...DEFAULT_MODEL };
  return [
    {
      ...base,
      key: 'agent:main:main',
      kind: 'direct',
      displayName: 'Main',
      derivedTitle: "Summarise today's alerts",
      lastMessagePreview: 'Two alerts today: pve2 swap above 80% and a failed certificate renewal for grafana.lan.',
      channel: 'webchat',
      updatedAt: now - 3 * MIN,
      sessionId: 'b3a1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      inputTokens: 18_240,
      outputTokens: 2_310,
      totalTokens: 20_550,
    },
    {
      ...base,
      key: 'agent:main:telegram:dm:4242',
      kind: 'direct',
      displayName: 'Telegram · Alex',
      derivedTitle: 'Grocery list for the weekend',
      lastMessagePreview: 'Added oat milk and coffee beans to the list.',
      channel: 'telegram',
      updatedAt: now - 2 * HOUR,
      sessionId: 'c4b2d3e5-6f70-4b8c-9d0e-1f2a3b4c5d6e',
      inputTokens: 6_120,
      outputTokens: 840,
      totalTokens: 6_960,
    },
    {
      ...base,
      key: 'agent:homelab-ops:main',
      kind: 'direct',
      displayName: 'Homelab Ops',
      derivedTitle: 'Why is pve2 swapping?',
      lastMessagePreview: 'VM 104 (jellyfin) has a 16 GiB balloon target; lowering it to 8 GiB frees enough memory on pve2.',
      channel: 'webchat',
      updatedAt: now - 12 * MIN,
      sessionId: 'd5c3e4f6-7081-4c9d-0e1f-2a3b4c5d6e7f',
      inputTokens: 42_800,
      outputTokens: 5_420,
      totalTokens: 48_220,
    },
    {
      ...base,
      key: 'agent:homelab-ops:cron:nightly-backup-check',
      kind: 'direct',
      label: 'nightly-backup-check',
      derivedTitle: "Check last night's backups",
      lastMessagePreview: 'All 9 vzdump jobs finished; largest was VM 110 (nextcloud) at 38 GiB.',
      channel: 'cron',
      updatedAt: now - 7 * HOUR,
      sessionId: 'e6d4f507-8192-4d0e-1f2a-3b4c5d6e7f80',
      inputTokens: 9_400,
      outputTokens: 610,
      totalTokens: 10_010,
    },
    {
      ...base,
      key: 'agent:researcher:main',
      kind: 'direct',
      displayName: 'Researcher',
      derivedTitle: 'Proxmox VE 9 release notes',
      lastMessagePreview: 'Main changes: Debian 13 base, kernel 6.14, and SDN fabrics; upgrade needs ceph squid first.',
      channel: 'webchat',
      updatedAt: now - 26 * HOUR,
      sessionId: 'f7e50618-92a3-4e1f-2a3b-4c5d6e7f8091',
      inputTokens: 61_300,
      outputTokens: 3_880,
      totalTokens: 65_180,
    },
  ];
}

export function demoCronJobs(now = Date.now()): SimCronJob[] {
  return [
    {
      id: 'nightly-backup-check',
      agentId: 'homelab-ops',
      name: 'Nightly backup check',
      description: "Reads last night's vzdump results and reports failures",
      enabled: true,
      createdAtMs: now - 30 * 24 * HOUR,
      updatedAtMs: now - 9 * 24 * HOUR,
      schedule: { kind: 'cron', expr: '0 6 * * *', tz: 'Europe/Berlin' },
      sessionTarget: 'isolated',
      wakeMode: 'now',
      payload: { kind: 'agentTurn', message: "Check last night's vzdump backups and report any failure.", timeoutSeconds: 600 },
      state: { lastRunAtMs: now - 7 * HOUR, lastStatus: 'ok', lastDurationMs: 48_200, nextRunAtMs: now + 17 * HOUR },
    },
    {
      id: 'morning-brief',
      agentId: 'main',
      name: 'Morning brief',
      enabled: true,
      createdAtMs: now - 60 * 24 * HOUR,
      updatedAtMs: now - 60 * 24 * HOUR,
      schedule: { kind: 'cron', expr: '30 7 * * 1-5', tz: 'Europe/Berlin' },
      sessionTarget: 'main',
      wakeMode: 'next-heartbeat',
      payload: { kind: 'systemEvent', text: 'Morning brief: weather, calendar and overnight alerts.' },
      state: { lastRunAtMs: now - 5 * HOUR, lastStatus: 'ok', lastDurationMs: 21_900, nextRunAtMs: now + 19 * HOUR },
    },
    {
      id: 'weekly-digest',
      agentId: 'researcher',
      name: 'Weekly release digest',
      enabled: false,
      createdAtMs: now - 14 * 24 * HOUR,
      updatedAtMs: now - 2 * 24 * HOUR,
      schedule: { kind: 'every', everyMs: 7 * 24 * HOUR },
      sessionTarget: 'isolated',
      wakeMode: 'now',
      payload: { kind: 'agentTurn', message: 'Summarise this week\'s releases of Proxmox, OpenClaw and Home Assistant.' },
      state: { lastRunAtMs: now - 9 * 24 * HOUR, lastStatus: 'error', lastError: 'Error: rate limited by provider (429)', lastDurationMs: 3_100 },
    },
  ];
}

/** The reply a demo agent streams when no outcome was set: a few chunks of plausible text. */
export function demoReply(agentId: string, message: string): string[] {
  const topic = message.length > 60 ? `${message.slice(0, 57)}...` : message;
  switch (agentId) {
    case 'homelab-ops':
      return ['Checking the cluster: ', '3 nodes online, ', '14 guests running. ', `About "${topic}": `, 'nothing needs attention right now.'];
    case 'researcher':
      return ['Looking into it. ', `On "${topic}": `, 'I found three relevant sources ', 'and will keep notes in the session.'];
    default:
      return ['On it. ', `You asked: "${topic}". `, 'Done — ', 'let me know if you need more.'];
  }
}
