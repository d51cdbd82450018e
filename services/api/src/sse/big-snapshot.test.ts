import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@molten/testkit';
import { listenHttp, type RunningHttp } from '../http-server.js';
import type { Events, EventsClient } from '../ports.js';
import { VIEWER, routeApp } from '../test/fake-ports.js';
import { EventHub, frame, frameParts } from './event-hub.js';
import { JsonList } from './json-parts.js';

let server: RunningHttp | undefined;
const open: http.ClientRequest[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) r.destroy();
  await server?.close(0);
  server = undefined;
});

// 10 MB, as 15,000 guests make: past the default per-client budget of 8 MiB.
const GUESTS = 'x'.repeat(10 * 1024 * 1024);

/**
 * Serves /api/events with a hub whose new clients first get writeSnapshot's snapshot, connects
 * one client, and checks it gets the whole snapshot, stays connected, then gets a live event.
 */
async function expectWholeSnapshotThenLive(writeSnapshot: (client: EventsClient, hub: EventHub) => void) {
  const hub = new EventHub();
  const events: Events = {
    connect(client) {
      writeSnapshot(client, hub);
      return hub.add(client);
    },
  };
  const { app } = routeApp({ app: { events } });
  server = await listenHttp(app.fetch, '127.0.0.1', 0);
  let received = 0;
  let text = '';
  let ended = false;
  const req = http.get({ host: '127.0.0.1', port: server.port, path: '/api/events', headers: { authorization: `Bearer ${VIEWER}` } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      received += chunk.length;
      if (!chunk.startsWith('x')) text += chunk.replace(/x{64,}/g, '…');
    });
    res.on('close', () => (ended = true));
  });
  req.on('error', () => (ended = true));
  open.push(req);
  await waitFor(() => hub.clientCount === 1 || ended, { message: 'the client connected' });
  await waitFor(() => received > GUESTS.length || ended, { timeoutMs: 30_000, message: 'the whole snapshot' });
  expect(ended).toBe(false);
  hub.publish(1, 'guest', { vmid: 100 });
  await waitFor(() => text.includes('"vmid":100') || ended, { message: 'a live event after the snapshot' });
  expect(ended).toBe(false);
  expect(hub.clientCount).toBe(1);
}

describe('GET /api/events at 15,000 guests', () => {
  it('sends a snapshot bigger than the per-client budget whole (a client is cut off for falling behind, not for its snapshot), then the live events', async () => {
    await expectWholeSnapshotThenLive((client, hub) => client.write(frame('snapshot', { seq: hub.lastSeq, guests: GUESTS }, hub.lastSeq)));
  });

  it('sends a snapshot written in parts, bigger than the per-client budget, whole: its parts are one write for the budget', async () => {
    const chunks = Array.from({ length: 40 }, () => GUESTS.slice(0, GUESTS.length / 40));
    await expectWholeSnapshotThenLive((client, hub) =>
      client.write([...frameParts('snapshot', { seq: hub.lastSeq, guests: new JsonList(chunks, (c) => c) }, hub.lastSeq, { chunk: 1 })].map((p) => new TextEncoder().encode(p))),
    );
  });
});
