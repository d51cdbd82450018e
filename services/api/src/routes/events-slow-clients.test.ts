import http from 'node:http';
import { serve } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@molten/testkit';
import { listenHttp, type RunningHttp } from '../http-server.js';
import type { Events } from '../ports.js';
import { EventHub, frame } from '../sse/event-hub.js';
import { SendBudget } from '../sse/send-budget.js';
import { VIEWER, routeApp } from '../test/fake-ports.js';

/** The live stream on a real socket: an EventHub behind the Events port, as the plane wires it. */
function hubEvents(hub: EventHub): Events {
  return {
    connect(client, o) {
      hub.flush();
      const missed = o.lastEventId !== undefined ? hub.since(o.lastEventId) : undefined;
      if (missed) client.write(frame('resume', { from: o.lastEventId, events: missed.length }) + missed.join(''));
      else client.write(frame('snapshot', { seq: hub.lastSeq }, hub.lastSeq));
      return hub.add(client);
    },
  };
}

interface Reader {
  ids: number[];
  text: () => string;
  req: http.ClientRequest;
}

/** A client that reads everything, keeping the ids of the events it got. */
function reader(port: number, lastEventId?: number): Promise<Reader> {
  return new Promise((resolve, reject) => {
    const ids: number[] = [];
    let buf = '';
    let all = '';
    const headers: Record<string, string> = { authorization: `Bearer ${VIEWER}` };
    if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
    const req = http.get({ host: '127.0.0.1', port, path: '/api/events', headers }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        all += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const m = /^id: (\d+)$/m.exec(buf.slice(0, i));
          if (m && !buf.slice(0, i).includes('event: snapshot')) ids.push(Number(m[1]));
          buf = buf.slice(i + 2);
        }
      });
      resolve({ ids, text: () => all, req });
    });
    req.on('error', reject);
  });
}

/** A client that opens the stream and then never reads again. */
function stalled(port: number): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/events', headers: { authorization: `Bearer ${VIEWER}` } }, (res) => {
      res.pause();
      res.socket.pause();
      resolve(req);
    });
    req.on('error', () => {});
    req.on('socket', (s) => s.on('error', () => {}));
    setTimeout(() => reject(new Error('no answer')), 10_000).unref();
  });
}

let server: RunningHttp | undefined;
const open: http.ClientRequest[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) r.destroy();
  await server?.close(0);
  server = undefined;
});

describe('GET /api/events with clients that stop reading', () => {
  it('cuts the stalled clients off within the budget and frees what they held, while the readers get every event in order', async () => {
    const hub = new EventHub();
    const budget = new SendBudget({ perClientBytes: 512 * 1024, totalBytes: 1024 * 1024, behindBytes: 64 * 1024 });
    const { app } = routeApp({ app: { events: hubEvents(hub), sseBudget: budget } });
    const raw = await new Promise<http.Server>((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s as http.Server)) as http.Server;
    });
    const port = (raw.address() as { port: number }).port;
    const connections = () => new Promise<number>((resolve) => raw.getConnections((_e, n) => resolve(n)));
    server = { port, close: () => new Promise<void>((resolve) => (raw.closeAllConnections(), raw.close(() => resolve()))) };

    const readers = await Promise.all([reader(port), reader(port)]);
    open.push(...readers.map((r) => r.req));
    const stalls = await Promise.all(Array.from({ length: 4 }, () => stalled(port)));
    open.push(...stalls);
    await waitFor(() => hub.clientCount === 6, { message: 'six clients connected' });

    // ~16 KB events until every stalled client has been cut off (the kernel's socket buffers
    // take a few MB first, so how many events that takes depends on the machine).
    const payload = 'x'.repeat(16 * 1024);
    let seq = 0;
    while (budget.dropped < 4 && seq < 20_000) {
      for (let i = 0; i < 20; i++) hub.publish(++seq, 'guest', { n: seq, payload });
      hub.flush();
      // Let the sockets take what they can, as a real event loop between bus messages would.
      await new Promise((r) => setImmediate(r));
      expect(budget.total).toBeLessThanOrEqual(budget.totalBytes + budget.perClientBytes);
    }
    expect(budget.dropped).toBe(4);
    expect(hub.clientCount).toBe(2);

    // The readers saw every event once, in order, with no gap.
    const expected = Array.from({ length: seq }, (_, i) => i + 1);
    await waitFor(() => readers.every((r) => r.ids.length === seq), { timeoutMs: 30_000, message: 'readers got every event' });
    for (const r of readers) expect(r.ids).toEqual(expected);
    // What the stalled ones held is given back; only the readers still count, and little.
    await waitFor(() => budget.clients === 2 && budget.total < 2 * budget.behindBytes, { message: 'stalled clients released' });
    // ...and their sockets are closed by the api, not kept until they read again.
    await waitFor(async () => (await connections()) === 2, { message: 'only the readers’ connections left' });
  });

  it('a reconnecting client resumes exactly after the last event it got', async () => {
    const hub = new EventHub();
    const { app } = routeApp({ app: { events: hubEvents(hub) } });
    server = await listenHttp(app.fetch, '127.0.0.1', 0);
    for (let s = 1; s <= 50; s++) hub.publish(s, 'guest', { n: s });
    const r = await reader(server.port, 30);
    open.push(r.req);
    await waitFor(() => r.ids.length === 20);
    expect(r.ids).toEqual(Array.from({ length: 20 }, (_, i) => 31 + i));
    expect(r.text()).toContain('event: resume');
  });

  it('a Last-Event-ID ahead of the stream gets a snapshot, not an empty resume', async () => {
    const hub = new EventHub();
    const { app } = routeApp({ app: { events: hubEvents(hub) } });
    server = await listenHttp(app.fetch, '127.0.0.1', 0);
    for (let s = 1; s <= 5; s++) hub.publish(s, 'guest', { n: s });
    const r = await reader(server.port, 142_460);
    open.push(r.req);
    await waitFor(() => r.text().includes('event: snapshot'), { message: 'a snapshot' });
    expect(r.text()).not.toContain('event: resume');
  });
});
