import { describe, expect, it } from 'vitest';
import { VIEWER, expectRoles, routeApp } from '../test/fake-ports.js';

describe('GET /api/events', () => {
  it('needs the viewer role', async () => {
    await expectRoles(routeApp().request, 'GET', '/api/events', 'viewer');
  });

  it('is an event stream that starts with the connection’s first frames, for the caller’s role', async () => {
    const { app, events } = routeApp();
    const res = await app.request('/api/events', { headers: { authorization: `Bearer ${VIEWER}` } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toMatch(/no-cache/);
    expect(await res.text()).toContain('event: snapshot');
    expect(events.clients).toEqual([{ lastEventId: undefined, role: 'viewer' }]);
  });

  it('resumes from Last-Event-ID, or ?lastEventId= (an EventSource reopened by hand)', async () => {
    const { request, events } = routeApp();
    await request('/api/events', { headers: { 'last-event-id': '41' } });
    await request('/api/events?lastEventId=42');
    await request('/api/events?lastEventId=0');
    expect(events.clients.map((c) => c.lastEventId)).toEqual([41, 42, 0]);
  });

  it('reads an id that is not a plain decimal sequence number as no id (the client gets a snapshot)', async () => {
    const { request, events } = routeApp();
    const hostile = ['nonsense', '0x10', '1e308', ' ', '', '-1', '01', '4.5', '+7', '99999999999999999999', 'Infinity'];
    for (const id of hostile) {
      const res = await request('/api/events', { headers: { 'last-event-id': id } });
      expect(res.status, id).toBe(200);
    }
    expect(events.clients.map((c) => c.lastEventId)).toEqual(hostile.map(() => undefined));
  });
});
