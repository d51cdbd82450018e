/**
 * Sessions' transcripts and `chat.history`, in each generation's shape. Facts:
 * - openclaw 2026.9.6 (protocol 4), recorded from the real gateway in
 *   services/moltbot-adapter/fixtures/openclaw-2026.9.6/chat-history.json and checked against it
 *   by tests/src/openclaw-conformance.test.ts: params closed (sessionKey, limit 1–1000, maxChars
 *   1–500000, …); the answer `{sessionKey, sessionId?, messages, pendingInputs, hasMore,
 *   totalMessages, defaults, sessionInfo}`; messages carry `__openclaw {id, seq, runId?}`, a
 *   prompt `idempotencyKey "<runId>:user"`; texts over maxChars (8000 by default) are cut with
 *   "\n...(truncated)..." (a tool's result without it) and marked `__openclaw.truncated`; a run
 *   that fails before it starts leaves a `custom` note and its prompt in `pendingInputs`.
 * - Moltbot 2026.1 (protocol 3), clawdbot/clawdbot src/gateway/server-methods/chat.ts: params
 *   `{sessionKey, limit}` only; the answer `{sessionKey, sessionId, messages, thinkingLevel}`
 *   with the transcript's messages as stored.
 * Messages are pi-agent transcript entries: user (content a string), assistant (text and
 * `toolCall` blocks, provider, model, usage, stopReason), toolResult (toolCallId, toolName,
 * content blocks, isError).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_MODEL, type SimSession } from './demo-data.js';
import { agentOfSession } from './world.js';

export type SimContentBlock =
  | { type: 'text'; text: string }
  | { type: 'toolCall'; id: string; name: string; arguments: Record<string, unknown> }
  | { type: 'thinking'; thinking: string };

/** One stored transcript entry (the simulator adds ids and each generation's extras when it answers). */
export interface SimTranscriptMessage {
  role: 'user' | 'assistant' | 'toolResult' | 'custom';
  /** A user's prompt and a custom note are strings; assistant and tool results are blocks. */
  content: string | SimContentBlock[];
  timestamp: number;
  /** The run that wrote it. */
  runId?: string;
  toolCallId?: string;
  toolName?: string;
  isError?: boolean;
  stopReason?: string;
  errorMessage?: string;
  customType?: string;
}

interface Stored extends SimTranscriptMessage {
  id: string;
}

interface Transcript {
  sessionId: string;
  messages: Stored[];
  /** Prompts of runs that failed before they started (v4 keeps them apart from the transcript). */
  pending: Array<{ acceptedAt: number; state: 'interrupted'; message: Stored; runId: string }>;
}

/** The gateway's cap of chat.history's limit; its default when none is given. */
const MAX_LIMIT = 1_000;
const DEFAULT_LIMIT = 200;
/** v4's per-text display cap when the asker gives no maxChars. */
const DEFAULT_MAX_CHARS = 8_000;
const CUT_MARKER = '\n...(truncated)...';

const nonEmpty = z.string().min(1);
export const chatHistoryParamsSchema = (v4: boolean) =>
  v4
    ? z.strictObject({
        sessionKey: nonEmpty,
        agentId: nonEmpty.optional(),
        cursor: z.string().optional(),
        limit: z.number().int().min(1).max(MAX_LIMIT).optional(),
        maxBytes: z.number().int().min(1024).optional(),
        offset: z.number().int().min(0).optional(),
        pendingBefore: z.number().int().min(1).optional(),
        inputRunIds: z.array(z.string().min(1).max(256)).min(1).max(50).optional(),
        messageId: nonEmpty.optional(),
        sessionId: nonEmpty.optional(),
        maxChars: z.number().int().min(1).max(500_000).optional(),
      })
    : z.strictObject({ sessionKey: nonEmpty, limit: z.number().int().min(1).max(MAX_LIMIT).optional() });

export class Transcripts {
  readonly #v4: boolean;
  readonly #byKey = new Map<string, Transcript>();

  constructor(o: { protocol: number; sessions: SimSession[]; demo?: boolean }) {
    this.#v4 = o.protocol >= 4;
    if (o.demo !== false) {
      for (const s of o.sessions) {
        const demo = demoTranscript(s);
        if (demo.length) this.set(s.key, demo, s.sessionId);
      }
    }
  }

  /** Replaces a session's transcript (a test's control). */
  set(sessionKey: string, messages: SimTranscriptMessage[], sessionId?: string): void {
    this.#byKey.set(sessionKey, { sessionId: sessionId ?? this.#byKey.get(sessionKey)?.sessionId ?? randomUUID(), messages: messages.map((m) => ({ ...m, id: randomUUID() })), pending: [] });
  }

  /** What is stored for a session (for tests). */
  messages(sessionKey: string): SimTranscriptMessage[] {
    return (this.#byKey.get(sessionKey)?.messages ?? []).map(({ id: _id, ...m }) => m);
  }

  #open(sessionKey: string, sessionId?: string): Transcript {
    let t = this.#byKey.get(sessionKey);
    if (!t) this.#byKey.set(sessionKey, (t = { sessionId: sessionId ?? randomUUID(), messages: [], pending: [] }));
    return t;
  }

  sessionIdOf(sessionKey: string): string | undefined {
    return this.#byKey.get(sessionKey)?.sessionId;
  }

  /** A run's prompt and what the agent answered, as the gateway records a turn. */
  recordRun(o: {
    sessionKey: string;
    sessionId?: string;
    runId: string;
    prompt: string;
    startedAt: number;
    tools: Array<{ id: string; name: string; args: Record<string, unknown>; result: unknown }>;
    text: string;
    error?: string;
    failedBeforeStart?: boolean;
  }): void {
    const t = this.#open(o.sessionKey, o.sessionId);
    const prompt: Stored = { id: randomUUID(), role: 'user', content: o.prompt, timestamp: o.startedAt, runId: o.runId };
    const at = () => Date.now();
    if (o.failedBeforeStart && this.#v4) {
      t.pending.push({ acceptedAt: o.startedAt, state: 'interrupted', message: prompt, runId: o.runId });
      t.messages.push({ id: randomUUID(), role: 'custom', customType: 'run-failed-before-reply', content: `This turn ended before a reply: ${o.error ?? 'unknown error'}`, timestamp: at(), runId: o.runId });
      return;
    }
    t.messages.push(prompt);
    if (o.tools.length) {
      t.messages.push({ id: randomUUID(), role: 'assistant', content: o.tools.map((c) => ({ type: 'toolCall', id: c.id, name: c.name, arguments: c.args })), stopReason: 'toolUse', timestamp: at(), runId: o.runId });
      for (const c of o.tools) {
        const text = typeof c.result === 'string' ? c.result : JSON.stringify(c.result ?? null);
        t.messages.push({ id: randomUUID(), role: 'toolResult', toolCallId: c.id, toolName: c.name, content: [{ type: 'text', text }], isError: false, timestamp: at(), runId: o.runId });
      }
    }
    // A failed turn keeps what was written, with the model's error (pi-agent's stopReason "error" and errorMessage).
    if (o.text || o.error) {
      t.messages.push({
        id: randomUUID(),
        role: 'assistant',
        content: o.text ? [{ type: 'text', text: o.text }] : [],
        stopReason: o.error ? 'error' : 'stop',
        ...(o.error ? { errorMessage: o.error } : {}),
        timestamp: at(),
        runId: o.runId,
      });
    }
  }

  /** chat.history's answer for validated params. */
  history(p: { sessionKey: string; limit?: number; maxChars?: number }, session: SimSession | undefined) {
    const t = this.#byKey.get(p.sessionKey);
    const all = t?.messages ?? [];
    const limit = Math.min(MAX_LIMIT, p.limit ?? DEFAULT_LIMIT);
    const page = all.slice(Math.max(0, all.length - limit));
    const first = all.length - page.length;
    if (!this.#v4) {
      return { sessionKey: p.sessionKey, ...(t ? { sessionId: t.sessionId } : {}), messages: page.map((m) => v3Message(m)), thinkingLevel: 'low' };
    }
    const maxChars = p.maxChars ?? DEFAULT_MAX_CHARS;
    const agentId = agentOfSession(p.sessionKey) ?? 'main';
    return {
      sessionKey: p.sessionKey,
      ...(t ? { sessionId: t.sessionId } : {}),
      messages: page.map((m, i) => v4Message(m, first + i + 1, maxChars)),
      pendingInputs: { items: (t?.pending ?? []).map((x) => ({ acceptedAt: x.acceptedAt, state: x.state, message: v4Message(x.message, 0, maxChars), runId: x.runId })), total: t?.pending.length ?? 0 },
      hasMore: first > 0,
      totalMessages: all.length,
      defaults: { modelProvider: DEFAULT_MODEL.modelProvider, model: DEFAULT_MODEL.model, contextTokens: DEFAULT_MODEL.contextTokens, modelSelectionTarget: 'session' },
      sessionInfo: {
        key: p.sessionKey,
        kind: session?.kind ?? 'direct',
        agentId,
        isMain: p.sessionKey === `agent:${agentId}:main`,
        updatedAt: session?.updatedAt ?? null,
        ...(t ? { sessionId: t.sessionId } : {}),
        modelProvider: DEFAULT_MODEL.modelProvider,
        model: DEFAULT_MODEL.model,
        hasActiveRun: false,
        activeRunIds: [],
      },
    };
  }
}

function v3Message(m: Stored): Record<string, unknown> {
  const { id: _id, runId: _run, ...rest } = m;
  return m.role === 'assistant' ? { ...rest, provider: DEFAULT_MODEL.modelProvider, model: DEFAULT_MODEL.model, usage: usageOf(m) } : rest;
}

function v4Message(m: Stored, seq: number, maxChars: number): Record<string, unknown> {
  const { id, runId, ...rest } = m;
  let truncated = false;
  // A tool's result is cut exactly; other texts get the gateway's marker.
  const cut = (text: string, exact: boolean) => {
    if (text.length <= maxChars) return text;
    truncated = true;
    return exact ? text.slice(0, maxChars) : `${text.slice(0, maxChars)}${CUT_MARKER}`;
  };
  const exact = m.role === 'toolResult';
  const content = typeof m.content === 'string' ? cut(m.content, exact) : m.content.map((b) => (b.type === 'text' ? { ...b, text: cut(b.text, exact) } : b));
  const marked = truncated ? { truncated: true, reason: 'display-cap' } : {};
  const out: Record<string, unknown> = { ...rest, content };
  // As 2026.9.6 marks them: a prompt by its idempotency key "<runId>:user", replies, results and
  // the gateway's own notes by runId.
  if (m.role === 'user') {
    if (runId) out.idempotencyKey = `${runId}:user`;
    out.__openclaw = { id, ...(runId ? { idempotencyKey: `${runId}:user` } : {}), seq, ...marked };
  } else {
    if (m.role === 'custom') out.display = true;
    out.__openclaw = { ...(runId ? { runId } : {}), id, seq, ...marked };
  }
  if (m.role === 'assistant') Object.assign(out, { api: 'anthropic-messages', provider: DEFAULT_MODEL.modelProvider, model: DEFAULT_MODEL.model, usage: usageOf(m) });
  return out;
}

function usageOf(m: Stored) {
  const output = typeof m.content === 'string' ? Math.ceil(m.content.length / 4) : m.content.reduce((n, b) => n + Math.ceil(JSON.stringify(b).length / 4), 0);
  return { input: 1_200, output, totalTokens: 1_200 + output, cacheRead: 0, cacheWrite: 0, cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 } };
}

const MIN = 60_000;

/**
 * What the demo sessions said: a prompt, the tools the agent used and its answer, ending in the
 * session's last-message preview. Tool names are openclaw's own (read, exec, ls, edit).
 */
export function demoTranscript(s: SimSession): SimTranscriptMessage[] {
  const end = s.updatedAt ?? Date.now();
  const at = (minutesBefore: number) => end - minutesBefore * MIN;
  const user = (content: string, m: number): SimTranscriptMessage => ({ role: 'user', content, timestamp: at(m) });
  const says = (text: string, m: number): SimTranscriptMessage => ({ role: 'assistant', content: [{ type: 'text', text }], stopReason: 'stop', timestamp: at(m) });
  const calls = (id: string, name: string, args: Record<string, unknown>, m: number): SimTranscriptMessage => ({
    role: 'assistant',
    content: [{ type: 'toolCall', id, name, arguments: args }],
    stopReason: 'toolUse',
    timestamp: at(m),
  });
  const result = (id: string, name: string, text: string, m: number): SimTranscriptMessage => ({ role: 'toolResult', toolCallId: id, toolName: name, content: [{ type: 'text', text }], isError: false, timestamp: at(m) });
  switch (s.key) {
    case 'agent:main:main':
      return [
        user('Good morning! Anything I should know about?', 30),
        says('Good morning. The cluster is quiet: all three nodes are up and every backup of the night finished.', 29.8),
        user("Summarise today's alerts.", 4),
        calls('call_alerts_1', 'read', { path: '~/clawd/alerts/today.log' }, 3.9),
        result(
          'call_alerts_1',
          'read',
          [
            '06:12 WARN pve2 swap usage 82% (threshold 80%)',
            '06:40 WARN pve2 swap usage 84% (threshold 80%)',
            '07:05 ERROR certbot: renewal of grafana.lan failed: DNS problem: NXDOMAIN looking up TXT for _acme-challenge.grafana.lan',
            '07:05 INFO certbot: next attempt in 12 h',
          ].join('\n'),
          3.8,
        ),
        says('Two alerts today: pve2 swap above 80% and a failed certificate renewal for grafana.lan.', 3),
      ];
    case 'agent:main:telegram:dm:4242':
      return [
        user('Add oat milk and coffee beans to the grocery list for the weekend', 121),
        calls('call_groceries_1', 'edit', { path: '~/clawd/lists/groceries.md', oldText: '- bread', newText: '- bread\n- oat milk\n- coffee beans' }, 120.8),
        result('call_groceries_1', 'edit', 'Edited ~/clawd/lists/groceries.md (1 replacement)', 120.7),
        says('Added oat milk and coffee beans to the list.', 120),
      ];
    case 'agent:homelab-ops:main':
      return [
        user('Why is pve2 swapping?', 15),
        calls('call_swap_1', 'exec', { command: 'ssh root@pve2 free -m' }, 14.8),
        result(
          'call_swap_1',
          'exec',
          [
            '               total        used        free      shared  buff/cache   available',
            'Mem:           64215       61877         402         211        1936        1201',
            'Swap:           8191        6890        1301',
          ].join('\n'),
          14.7,
        ),
        calls('call_swap_2', 'exec', { command: 'ssh root@pve2 qm config 104 | grep -E "^(memory|balloon)"' }, 14.5),
        result('call_swap_2', 'exec', 'balloon: 16384\nmemory: 24576', 14.4),
        says(
          [
            'pve2 is short of memory, not of swap: 61.9 of 64 GiB are in use and only 1.2 GiB are available, so the kernel pushes pages out to swap (6.7 of 8 GiB used).',
            '',
            'The largest consumer is VM 104 (jellyfin): it is configured with 24 GiB and a balloon target of 16 GiB, but it uses about 3 GiB most of the day. Because its balloon never shrinks below 16 GiB, the host cannot take that memory back.',
            '',
            'What I would do, in order:',
            '1. Lower the balloon target of VM 104 to 8 GiB (`qm set 104 --balloon 8192`); no restart is needed.',
            '2. Check again in an hour: swap use should fall below 50 % as pages are read back.',
            '3. If it does not, move VM 112 (paperless) to pve3, which has 20 GiB free.',
            '',
            'VM 104 (jellyfin) has a 16 GiB balloon target; lowering it to 8 GiB frees enough memory on pve2.',
          ].join('\n'),
          12,
        ),
      ];
    case 'agent:homelab-ops:cron:nightly-backup-check':
      return [
        user("Check last night's vzdump backups and report any failure.", 2),
        calls('call_backup_1', 'exec', { command: 'pvesh get /nodes/pve1/tasks --typefilter vzdump --since $(date -d yesterday +%s) --output-format json' }, 1.7),
        result('call_backup_1', 'exec', '[{"upid":"UPID:pve1:0003A2F1:01B2C3D4:67A1B2C3:vzdump::root@pam:","status":"OK","type":"vzdump"}]', 1.5),
        says('All 9 vzdump jobs finished; largest was VM 110 (nextcloud) at 38 GiB.', 0),
      ];
    case 'agent:researcher:main':
      return [
        user('What changed in Proxmox VE 9? Keep it short.', 6),
        says('Main changes: Debian 13 base, kernel 6.14, and SDN fabrics; upgrade needs ceph squid first.', 0),
      ];
    default:
      return [];
  }
}
