/**
 * A stand-in for the api, for the UI bench: serves the built dashboard and answers what the
 * Infrastructure view needs — a session, and /api/events with a 5,000-guest snapshot followed by
 * guest updates at a set rate, in the api's exact SSE framing. The dashboard runs unmodified.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Guest, Snapshot } from '../src/lib/api/types.ts';
import { guests, node, server, storage } from '../src/lib/test/fixtures.ts';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png' };

export interface SyntheticApi {
  url: string;
  /** Bytes of the snapshot event. */
  snapshotBytes: number;
  /** Starts sending `perSecond` guest updates, in batches every 20 ms. */
  startUpdates(perSecond: number): void;
  stopUpdates(): void;
  sent(): number;
  close(): Promise<void>;
}

export async function startSyntheticApi(o: { buildDir: string; guestCount: number }): Promise<SyntheticApi> {
  const all: Guest[] = guests(o.guestCount).map((g) => ({ ...g, node: `pve${(g.vmid % 8) + 1}` }));
  const running = all.flatMap((g, i) => (g.status === 'running' ? [i] : []));
  let seq = 1;
  const snapshot = (): Snapshot => ({
    seq,
    at: new Date().toISOString(),
    defaultCluster: 'homelab',
    demo: true,
    approvals: [],
    clusters: [
      {
        id: 'homelab',
        status: { cluster: 'homelab', name: 'bench', standalone: false, quorate: true, version: 8, nodes: [], upstreamVersion: 'pve-manager/9.0.10', demo: true },
        nodes: Array.from({ length: 8 }, (_, i) => node({ node: `pve${i + 1}` })),
        guests: all,
        storage: Array.from({ length: 8 }, (_, i) => storage({ id: `pve${i + 1}/local-lvm`, node: `pve${i + 1}` })),
      },
    ],
    servers: [server()],
    gateways: [],
    agents: [],
    sessions: [],
    commands: [],
    role: 'operator',
  });
  const frame = (event: string, data: unknown, id?: number) => `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  const health = () => ({
    status: 'ok',
    demo: true,
    uptimeSeconds: 1,
    bus: { connected: true, server: 'bench' },
    clusters: [{ id: 'homelab', stale: false, lastSeen: new Date().toISOString(), ageSeconds: 0, pollMs: 2000, adapter: 'running', replicas: 1, upstream: { status: 'connected', reason: 'ok' } }],
    adapters: [],
    servers: [],
  });
  const snapshotText = frame('snapshot', snapshot(), seq);
  const clients = new Set<http.ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  let sent = 0;
  let rng = 42;
  const random = () => ((rng = (rng * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);

  const server_ = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/session') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { name: 'bench', role: 'operator' } }));
    } else if (url.pathname === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('retry: 2000\n\n');
      res.write(snapshotText);
      res.write(frame('health', health()));
      clients.add(res);
      const beat = setInterval(() => res.write(frame('health', health())), 2000);
      req.on('close', () => {
        clearInterval(beat);
        clients.delete(res);
      });
    } else if (url.pathname.startsWith('/api/')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'not in the bench api' } }));
    } else {
      let file = path.join(o.buildDir, path.normalize(url.pathname));
      if (!file.startsWith(o.buildDir) || !existsSync(file) || !path.extname(file)) file = path.join(o.buildDir, 'index.html');
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    }
  });
  await new Promise<void>((r) => server_.listen(0, '127.0.0.1', r));
  const { port } = server_.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    snapshotBytes: Buffer.byteLength(snapshotText),
    startUpdates(perSecond) {
      // Timers drift: send what the rate owes by now, every 20 ms.
      const started = performance.now();
      const base = sent;
      timer = setInterval(() => {
        let chunk = '';
        const owed = Math.floor(((performance.now() - started) / 1000) * perSecond) - (sent - base);
        for (let i = 0; i < owed; i++) {
          // Running guests change (CPU, memory); stopped ones would not be sent by the adapter.
          const at = running[Math.floor(random() * running.length)]!;
          const g = all[at]!;
          const next: Guest = { ...g, cpu: Math.round(random() * 1000) / 1000, mem: Math.round(g.maxmem * (0.2 + random() * 0.7)), netin: g.netin + 1000 };
          all[at] = next;
          seq++;
          sent++;
          chunk += frame('guest', { op: 'put', domain: 'proxmox', scope: 'homelab', kind: next.type, id: String(next.vmid), value: next }, seq);
        }
        for (const c of clients) c.write(chunk);
      }, 20);
    },
    stopUpdates() {
      clearInterval(timer);
    },
    sent: () => sent,
    async close() {
      clearInterval(timer);
      for (const c of clients) c.end();
      await new Promise<void>((r) => server_.close(() => r()));
    },
  };
}
