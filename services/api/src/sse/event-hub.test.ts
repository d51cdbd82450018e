import { describe, expect, it } from 'vitest';
import { EventHub } from './event-hub.js';

describe('EventHub ring', () => {
  it('replays exactly the last ringSize events, however many went by', () => {
    const hub = new EventHub({ ringSize: 3 });
    for (let seq = 1; seq <= 10; seq++) hub.publish(seq, 'guest', { seq });
    expect(hub.since(10)).toEqual([]);
    expect(hub.since(7)!.map((t) => /"seq":(\d+)/.exec(t)![1])).toEqual(['8', '9', '10']);
    expect(hub.since(9)!.length).toBe(1);
    // Event 7 is no longer held: a client after 6 is too far behind.
    expect(hub.since(6)).toBeUndefined();
    expect(hub.since(11)).toBeUndefined();
  });
});
