import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './guarded-fetch.js';
import { GateTimeoutError, RequestGate } from './request-gate.js';

describe('RequestGate', () => {
  it('lets at most maxConcurrency through at once and hands slots on in order', async () => {
    const gate = new RequestGate({ rpm: 0, maxConcurrency: 2 });
    const a = await gate.acquire();
    const b = await gate.acquire();
    const order: string[] = [];
    const c = gate.acquire().then((r) => (order.push('c'), r));
    const d = gate.acquire().then((r) => (order.push('d'), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    expect(gate.queued).toBe(2);
    a();
    (await c)();
    b();
    (await d)();
    expect(order).toEqual(['c', 'd']);
    expect(gate.active).toBe(0);
  });

  it('says it is open only while a request would go through at once', async () => {
    const gate = new RequestGate({ rpm: 2, maxConcurrency: 1, windowMs: 60_000 });
    expect(gate.open).toBe(true);
    const a = await gate.acquire();
    expect(gate.open).toBe(false); // every slot taken
    a();
    expect(gate.open).toBe(true);
    (await gate.acquire())();
    expect(gate.open).toBe(false); // two requests this minute
    const paused = new RequestGate({ rpm: 0, maxConcurrency: 0 });
    paused.serverPaused(60_000);
    expect(paused.open).toBe(false);
  });

  it('fails a waiter at its deadline, saying which limit held it', async () => {
    const gate = new RequestGate({ rpm: 1, maxConcurrency: 0, windowMs: 60_000 });
    (await gate.acquire())();
    const err = await gate.acquire({ deadlineMs: Date.now() + 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GateTimeoutError);
    expect((err as GateTimeoutError).limit).toBe('rate_limit');
    expect((err as Error).message).toContain('limit of 1 requests per 60 s');
  });

  it("holds everything during the server's pause and refuses at once what the pause would outlast", async () => {
    const gate = new RequestGate({ rpm: 0, maxConcurrency: 0 });
    gate.serverPaused(300);
    expect(gate.tryAcquire()).toBeUndefined();
    await expect(gate.acquire({ deadlineMs: Date.now() + 100 })).rejects.toMatchObject({ limit: 'server_pause' });
    const started = Date.now();
    (await gate.acquire({ deadlineMs: Date.now() + 5_000 }))();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('grows the pause when the server gives no Retry-After, until a request succeeds', () => {
    const gate = new RequestGate({ rpm: 0, maxConcurrency: 0 });
    expect(gate.serverPaused(undefined)).toBe(1_000);
    expect(gate.serverPaused(undefined)).toBe(2_000);
    gate.succeeded();
    expect(gate.serverPaused(undefined)).toBe(1_000);
  });

  it('stops waiting when the caller aborts', async () => {
    const gate = new RequestGate({ rpm: 0, maxConcurrency: 1 });
    const hold = await gate.acquire();
    const ac = new AbortController();
    const waiting = gate.acquire({ signal: ac.signal });
    ac.abort();
    await expect(waiting).rejects.toThrow();
    expect(gate.queued).toBe(0);
    hold();
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7_000);
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:10 GMT', Date.parse('Wed, 21 Oct 2026 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
