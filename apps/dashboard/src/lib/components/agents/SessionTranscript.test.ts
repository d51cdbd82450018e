import type { SessionHistory, TranscriptMessage } from '@molten/contracts/rest';
import { afterEach, describe, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import { ApiError, type Api } from '$lib/api/client';
import { Panel } from '$lib/state/panel.svelte';
import SessionTranscript from './SessionTranscript.svelte';

const now = 1_764_801_000_000;
const m = (over: Partial<TranscriptMessage>): TranscriptMessage => ({
  role: 'user', text: '', textTruncated: false, toolCalls: [], toolCallId: '', toolName: '', isError: false, timestampMs: now - 60_000,
  id: '', runId: '', model: '', stopReason: '', error: '', noteKind: '', omitted: [], ...over,
});
const history = (messages: TranscriptMessage[], over: Partial<SessionHistory> = {}): SessionHistory => ({
  gateway: 'default', sessionKey: 'agent:homelab-ops:main', sessionId: 's1', messages, hasMore: false, totalMessages: messages.length, dropped: [], ...over,
});
const long = Array.from({ length: 30 }, (_, i) => `Line ${i + 1} of the answer.`).join('\n');
const swapping = history([
  m({ id: 'u1', text: 'Why is pve2 swapping?', runId: 'cmd-1' }),
  m({ id: 'a1', role: 'assistant', runId: 'cmd-1', toolCalls: [{ id: 'c1', name: 'exec', argumentsJson: '{"command":"ssh root@pve2 free -m"}', argumentsTruncated: false }] }),
  m({ id: 't1', role: 'tool', toolCallId: 'c1', toolName: 'exec', runId: 'cmd-1', text: 'Swap: 8191 6890 1301' }),
  m({ id: 'a2', role: 'assistant', runId: 'cmd-1', text: long, model: 'anthropic/claude-sonnet-4-5' }),
  m({ id: 'n1', role: 'note', noteKind: 'run-failed-before-reply', text: 'This turn ended before a reply: rate limited.' }),
]);

function panelWith(read: () => Promise<unknown>): Panel<SessionHistory> {
  return new Panel<SessionHistory>({ get: read } as unknown as Api);
}
const props = (panel: Panel<SessionHistory>, over: Record<string, unknown> = {}) => ({ panel, agentName: 'Homelab Ops', moltenRuns: new Set(['cmd-1']), now, onReload: () => {}, ...over });

afterEach(() => cleanup());

describe('session transcript', () => {
  test('shows who said what, oldest first, with a tool call on one line that opens to its arguments and result', async () => {
    const panel = panelWith(async () => ({ data: swapping }));
    await panel.load('/h');
    await render(SessionTranscript, props(panel));
    const items = page.getByRole('listitem');
    await expect.element(items.nth(0)).toHaveTextContent(/User.*Why is pve2 swapping\?/);
    await expect.element(items.nth(1)).toHaveTextContent(/Homelab Ops/);
    // The result is folded under its call: four entries, not five.
    expect(items.elements()).toHaveLength(4);
    const call = page.getByText('command: "ssh root@pve2 free -m"');
    await expect.element(call).toBeVisible();
    await expect.element(page.getByLabelText('Result of exec')).not.toBeVisible();
    await userEvent.click(call);
    await expect.element(page.getByLabelText('Arguments of exec')).toHaveTextContent('"command": "ssh root@pve2 free -m"');
    await expect.element(page.getByLabelText('Result of exec')).toHaveTextContent('Swap: 8191 6890 1301');
    await expect.element(items.nth(3)).toHaveTextContent(/Gateway.*Run failed before a reply.*rate limited/);
    // Messages of a run Molten started link to it.
    await expect.element(items.nth(0).getByRole('link', { name: 'run by Molten' })).toHaveAttribute('href', '/commands/cmd-1');
  });

  test('folds a long answer until asked for it', async () => {
    const panel = panelWith(async () => ({ data: swapping }));
    await panel.load('/h');
    await render(SessionTranscript, props(panel));
    const text = page.getByLabelText('Homelab Ops said').nth(0);
    const show = page.getByRole('button', { name: 'Show all' });
    await expect.element(show).toHaveAttribute('aria-expanded', 'false');
    const closedHeight = text.element().getBoundingClientRect().height;
    await userEvent.click(show);
    await expect.element(page.getByRole('button', { name: 'Show less' })).toHaveAttribute('aria-expanded', 'true');
    expect(text.element().getBoundingClientRect().height).toBeGreaterThan(closedHeight * 2);
  });

  test('says so while reading, when empty, and when there are older messages', async () => {
    let resolve!: (v: unknown) => void;
    const panel = panelWith(() => new Promise((r) => (resolve = r)));
    const loading = panel.load('/h');
    await render(SessionTranscript, props(panel, { onOlder: () => {} }));
    await expect.element(page.getByText('Reading the transcript from the gateway…')).toBeVisible();
    resolve({ data: history([], { sessionId: '' }) });
    await loading;
    await expect.element(page.getByText(/The gateway holds no messages in this session/)).toBeVisible();

    const more = panelWith(async () => ({ data: history([m({ id: 'x', text: 'latest' })], { hasMore: true, totalMessages: 420 }) }));
    await more.load('/h');
    cleanup();
    let older = 0;
    await render(SessionTranscript, props(more, { onOlder: () => older++ }));
    await expect.element(page.getByText(/The newest 1 messages of 420/)).toBeVisible();
    await userEvent.click(page.getByRole('button', { name: 'Show older' }));
    expect(older).toBe(1);
  });

  test('an error says what to do, and trying again reads again', async () => {
    const panel = panelWith(() =>
      Promise.reject(new ApiError(503, 'upstream_unavailable', 'the agent gateway "default" is not connected: connection refused', { reason: 'unreachable', remedy: 'start the gateway (`openclaw gateway`)' })),
    );
    await panel.load('/h');
    let reloads = 0;
    await render(SessionTranscript, props(panel, { onReload: () => reloads++ }));
    await expect.element(page.getByRole('alert')).toHaveTextContent(/not connected: connection refused start the gateway/);
    await userEvent.click(page.getByRole('button', { name: 'Try again' }));
    expect(reloads).toBe(1);
  });
});
