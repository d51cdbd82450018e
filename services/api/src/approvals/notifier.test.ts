import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type * as Rest from '@molten/contracts/rest';
import { createLogger } from '@molten/kit';
import { waitFor } from '@molten/testkit';
import { ApprovalNotifier, approvalMessage, notifyFormat } from './notifier.js';

const approval: Rest.Approval = {
  id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
  status: 'pending',
  safety: 'destructive',
  requestedBy: { actor: 'agent', client: 'claude-desktop' },
  summary: 'hard stop plex (VM 200) on pve2',
  target: { kind: 'guest', cluster: 'homelab', vmid: 200, node: 'pve2', type: 'qemu', action: 'stop' },
  arguments: { cluster: 'homelab', vmid: 200, action: 'stop' },
  argumentsDigest: 'ab'.repeat(32),
  requestedAt: '2026-12-04T10:00:00.000Z',
  expiresAt: '2026-12-04T10:10:00.000Z',
};

/** A webhook receiver on a free port: records each POST; answers with the statuses given, then 200. */
async function receiver(statuses: number[] = []) {
  const got: { path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function capturedLogger() {
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) });
  return { log: createLogger('api', { level: 'debug', destination }), lines };
}

describe('ApprovalNotifier (MOLTEN_NOTIFY_URL)', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it('picks the format by the URL unless told', () => {
    expect(notifyFormat('https://discord.com/api/webhooks/1/abc')).toBe('discord');
    expect(notifyFormat('https://ntfy.sh/molten-alerts')).toBe('ntfy');
    expect(notifyFormat('https://ntfy.example.org/molten')).toBe('ntfy');
    expect(notifyFormat('https://hooks.example.org/molten')).toBe('json');
    expect(notifyFormat('https://hooks.example.org/molten', 'ntfy')).toBe('ntfy');
  });

  it('posts plain JSON with the approval and a link to the inbox', async () => {
    const r = await receiver();
    closers.push(r.close);
    const n = new ApprovalNotifier({ url: `${r.url}/hook`, publicUrl: () => 'https://molten.lan/', log: capturedLogger().log });
    n.pending(approval);
    await n.flush();
    expect(r.got).toHaveLength(1);
    const body = JSON.parse(r.got[0]!.body);
    expect(body).toMatchObject({ type: 'approval.pending', url: `https://molten.lan/approvals?id=${approval.id}`, approval: { id: approval.id, summary: approval.summary } });
    expect(body.text).toBe('agent (claude-desktop) asks to hard stop plex (VM 200) on pve2; destructive. Expires 2026-12-04T10:10:00.000Z.');
  });

  it('speaks ntfy: the text as body, title, click link and priority as headers', () => {
    const m = approvalMessage(approval, 'ntfy', 'https://molten.lan/approvals');
    expect(m.body).toContain('hard stop plex (VM 200) on pve2');
    expect(m.headers).toMatchObject({ Click: 'https://molten.lan/approvals', Priority: 'high', Tags: 'warning' });
    expect(m.headers.Title).toMatch(/^Molten: approval needed/);
  });

  it('speaks Discord: one content message without mentions', () => {
    const m = JSON.parse(approvalMessage({ ...approval, summary: '@everyone hi' }, 'discord', 'https://molten.lan/approvals').body);
    expect(m.content).toContain('<https://molten.lan/approvals>');
    expect(m.allowed_mentions).toEqual({ parse: [] });
  });

  it('retries a 5xx, gives up on a 4xx, and never logs the URL (it holds the credential)', async () => {
    const r = await receiver([503, 200, 404]);
    closers.push(r.close);
    const { log, lines } = capturedLogger();
    const url = `${r.url}/hook/secret-webhook-token-123`;
    const n = new ApprovalNotifier({ url, publicUrl: () => 'http://x', log, attempts: 3 });
    n.pending(approval);
    await waitFor(() => n.sent === 1, { message: 'delivered on the second try', timeoutMs: 10_000 });
    n.pending({ ...approval, id: '01JABCDEFGHJKMNPQRSTVWXYZ1' });
    await n.flush();
    expect(r.got).toHaveLength(3);
    expect(n.failed).toBe(1);
    expect(lines.join('')).toContain('approval notification not delivered');
    expect(lines.join('')).not.toContain('secret-webhook-token-123');
  });
});
