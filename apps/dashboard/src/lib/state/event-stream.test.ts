import { afterEach, describe, expect, test, vi } from 'vitest';
import type { Snapshot } from '$lib/api/types';
import { snapshot } from '$lib/test/fixtures';
import { EventStream, type StreamSink } from './event-stream.svelte';

/** A stand-in for the browser's EventSource that the test drives. */
class FakeEventSource extends EventTarget {
  static all: FakeEventSource[] = [];
  readyState = 0;
  onerror: ((e: Event) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    super();
    FakeEventSource.all.push(this);
  }
  emit(type: string, data: unknown, id?: string) {
    this.readyState = 1;
    this.dispatchEvent(new MessageEvent(type, { data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId: id ?? '' }));
  }
  fail(readyState: 0 | 2) {
    this.readyState = readyState;
    this.onerror?.(new Event('error'));
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  static last() {
    return FakeEventSource.all.at(-1)!;
  }
}

function sink() {
  const got: { type: string; data: unknown }[] = [];
  const s: StreamSink = {
    snapshot: (d) => got.push({ type: 'snapshot', data: d }),
    delta: (type, d) => got.push({ type, data: d }),
    command: (d) => got.push({ type: 'command', data: d }),
    progress: (d) => got.push({ type: 'progress', data: d }),
    health: (d) => got.push({ type: 'health', data: d }),
  };
  return { s, got };
}

function start(o: { check?: () => Promise<'ok' | 'signed-out' | 'unreachable'>; onSignedOut?: () => void } = {}) {
  const { s, got } = sink();
  let now = 1_000_000;
  const stream = new EventStream({
    sink: s,
    EventSource: FakeEventSource as unknown as typeof EventSource,
    checkSession: o.check ?? (async () => 'ok'),
    onSignedOut: o.onSignedOut,
    now: () => now,
    deadAfterMs: 30_000,
  });
  const stop = stream.start();
  return { stream, got, stop, advance: (ms: number) => (now += ms) };
}

afterEach(() => {
  FakeEventSource.all = [];
  vi.useRealTimers();
});

describe('event stream', () => {
  test('is live once the snapshot arrives, and routes every event to its store', () => {
    const { stream, got, stop } = start();
    expect(stream.status).toBe('connecting');
    const es = FakeEventSource.last();
    expect(es.url).toBe('/api/events');
    es.emit('snapshot', snapshot() satisfies Snapshot, '10');
    expect(stream.status).toBe('live');
    es.emit('guest', { op: 'put', domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '101', value: {} }, '11');
    es.emit('command', { id: 'X' }, '12');
    es.emit('progress', { commandId: 'X', seq: 1 }, '13');
    es.emit('health', { status: 'ok' });
    expect(got.map((g) => g.type)).toEqual(['snapshot', 'guest', 'command', 'progress', 'health']);
    expect(stream.lastEventId).toBe('13');
    stop();
    expect(es.closed).toBe(true);
  });

  test('a malformed event is ignored, not fatal', () => {
    const { stream, got } = start();
    const es = FakeEventSource.last();
    es.emit('snapshot', snapshot(), '1');
    es.emit('guest', '{not json', '2');
    es.emit('command', { id: 'ok' }, '3');
    expect(got.map((g) => g.type)).toEqual(['snapshot', 'command']);
    expect(stream.status).toBe('live');
  });

  test('a dropped connection shows "reconnecting" since when; the browser resumes it by itself', () => {
    const { stream, advance } = start();
    const es = FakeEventSource.last();
    es.emit('snapshot', snapshot(), '5');
    advance(1000);
    es.fail(0);
    expect(stream.status).toBe('reconnecting');
    expect(stream.downSince).toBe(1_001_000);
    expect(FakeEventSource.all).toHaveLength(1); // no second connection: the browser retries
    es.emit('resume', { from: 5, events: 0 });
    expect(stream.status).toBe('live');
    expect(stream.downSince).toBeNull();
  });

  test('a stream the browser gave up on is reopened with ?lastEventId=', async () => {
    vi.useFakeTimers();
    const { stream } = start();
    const es = FakeEventSource.last();
    es.emit('snapshot', snapshot(), '42');
    es.fail(2);
    await vi.advanceTimersByTimeAsync(600);
    expect(FakeEventSource.all).toHaveLength(2);
    expect(FakeEventSource.last().url).toBe('/api/events?lastEventId=42');
    expect(stream.status).toBe('reconnecting');
  });

  test('a signed-out session stops retrying and says so', async () => {
    const signedOut = vi.fn();
    const { stream } = start({ check: async () => 'signed-out', onSignedOut: signedOut });
    FakeEventSource.last().fail(2);
    await vi.waitFor(() => expect(stream.status).toBe('signed-out'));
    expect(signedOut).toHaveBeenCalledOnce();
  });

  test('a silent stream (no health beat for several intervals) is detected and reopened', async () => {
    vi.useFakeTimers();
    const { stream, advance } = start();
    const es = FakeEventSource.last();
    es.emit('snapshot', snapshot(), '7');
    for (let i = 0; i < 4; i++) {
      advance(2000);
      es.emit('health', { status: 'ok', clusters: [] });
    }
    expect(stream.deadAfterMs).toBe(8000);
    advance(9000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(es.closed).toBe(true);
    expect(FakeEventSource.last().url).toBe('/api/events?lastEventId=7');
    expect(stream.status).toBe('reconnecting');
  });

  test('reconnectNow resumes from the last event', () => {
    const { stream } = start();
    FakeEventSource.last().emit('snapshot', snapshot(), '99');
    stream.reconnectNow();
    expect(FakeEventSource.last().url).toBe('/api/events?lastEventId=99');
  });
});
