import { describe, expect, it } from 'vitest';
import { jsonDeeperThan, valueDeeperThan } from './body-limits.js';
import { OPERATOR, routeApp } from './test/fake-ports.js';

const CALL = '/api/servers/mcp-homelab/tools/echo/call';
const nested = (depth: number) => `{"arguments":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;

/** A body that arrives in pieces and ends when told (no Content-Length). */
function trickle() {
  let push!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) });
  return { stream, send: (s: string) => push.enqueue(new TextEncoder().encode(s)), end: () => push.close() };
}

describe('request bodies', () => {
  it('refuses a sign-in body over 1 KB by its Content-Length, before reading it or looking at credentials', async () => {
    const { request } = routeApp();
    const r = await request('/api/session', { method: 'POST', as: null, headers: { 'content-length': String(10 * 1024 * 1024) }, body: '{"token":"x"}' });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ code: 'payload_too_large', details: { limitBytes: 1024 } });
  });

  it('stops reading a body without Content-Length once it passes the limit', async () => {
    const { app } = routeApp();
    const t = trickle();
    t.send(`{"token":"${'x'.repeat(2000)}`);
    const res = await app.request('/api/session', { method: 'POST', body: t.stream, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit);
    // Answered although the body never ended: it was not read to its end.
    expect(res.status).toBe(413);
  });

  it('refuses a 10 MB tool call argument with 413 and a configurable limit', async () => {
    const { request, commands } = routeApp();
    const big = JSON.stringify({ arguments: { message: 'x'.repeat(10 * 1024 * 1024) } });
    const r = await request(CALL, { method: 'POST', body: big });
    expect(r.status).toBe(413);
    expect(r.body.error.details.limitBytes).toBe(1024 * 1024);
    expect(commands.calls).toEqual([]);
    const roomy = routeApp({ app: { bodyLimits: { toolCallBytes: 20 * 1024 * 1024 } } });
    expect((await roomy.request(CALL, { method: 'POST', body: big })).status).toBe(202);
  });

  it.each([5_000, 10_000])('refuses tool call arguments nested %i deep with 400, not 500', async (depth) => {
    const { request, commands } = routeApp();
    const r = await request(CALL, { method: 'POST', body: nested(depth) });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/nests deeper than 64/);
    expect(commands.calls).toEqual([]);
    expect((await request(CALL, { method: 'POST', body: nested(50) })).status).toBe(202);
  });

  it('reads a bounded number of bodies at once: the next one gets 503 with Retry-After', async () => {
    const { app, request } = routeApp({ app: { bodyLimits: { concurrentReads: 1 } } });
    const t = trickle();
    const slow = app.request('/api/vms/101/stop', {
      method: 'POST',
      body: t.stream,
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    t.send('{');
    // Until the first body is in, the slot is taken.
    let busy: Awaited<ReturnType<typeof request>> | undefined;
    for (let i = 0; i < 100 && busy?.status !== 503; i++) busy = await request('/api/vms/101/stop', { method: 'POST', body: '{}' });
    expect(busy!.status).toBe(503);
    expect(busy!.body.error.code).toBe('overloaded');
    expect(busy!.headers.get('retry-after')).toBe('1');
    t.send('}');
    t.end();
    expect((await slow).status).toBe(202);
    expect((await request('/api/vms/101/stop', { method: 'POST', body: '{}' })).status).toBe(202);
  });
});

describe('jsonDeeperThan', () => {
  it('counts nesting outside strings only', () => {
    expect(jsonDeeperThan('[[[1]]]', 3)).toBe(false);
    expect(jsonDeeperThan('[[[[1]]]]', 3)).toBe(true);
    expect(jsonDeeperThan('{"a":"[[[[[[\\"[[["}', 1)).toBe(false);
    expect(jsonDeeperThan('[{},{},{},{}]', 2)).toBe(false);
  });
});

describe('valueDeeperThan', () => {
  it('measures parsed values without recursing, 100,000 deep included', () => {
    expect(valueDeeperThan(1, 0)).toBe(false);
    expect(valueDeeperThan({ a: [1] }, 2)).toBe(false);
    expect(valueDeeperThan({ a: [{}] }, 2)).toBe(true);
    expect(valueDeeperThan([{}, {}, { b: {} }], 3)).toBe(false);
    expect(valueDeeperThan(JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), 64)).toBe(true);
  });
});
