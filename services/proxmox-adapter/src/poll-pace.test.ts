import { describe, expect, it } from 'vitest';
import { PollPace } from './poll-pace.js';

describe('poll pace', () => {
  it('reads at the configured interval while the upstream answers promptly', () => {
    const pace = new PollPace(1000);
    expect(pace.intervalMs()).toBe(1000);
    pace.ok(40);
    expect(pace.intervalMs()).toBe(1000);
  });

  it('reads four times as often while a command is in flight, and at the interval again once every command ended', () => {
    const pace = new PollPace(1000);
    const first = pace.commandStarted();
    const second = pace.commandStarted();
    expect(pace.intervalMs()).toBe(250);
    first();
    first(); // ending twice counts once
    expect(pace.inFlight).toBe(1);
    expect(pace.intervalMs()).toBe(250);
    second();
    expect(pace.intervalMs()).toBe(1000);
  });

  it('never reads faster than 200 ms, nor slower than the interval, while a command runs', () => {
    expect(new PollPace(500).fastMs).toBe(200);
    expect(new PollPace(200).fastMs).toBe(200);
    expect(new PollPace(60_000).fastMs).toBe(15_000);
  });

  it('backs off while reads fail: the interval, then doubling, up to 10 s (or four intervals), even with a command in flight', () => {
    const pace = new PollPace(1000);
    pace.commandStarted();
    const seen = [];
    for (let i = 0; i < 7; i++) {
      pace.fail();
      seen.push(pace.intervalMs());
    }
    expect(seen).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    expect(new PollPace(5000).maxMs).toBe(20_000);
  });

  it('is back to the interval (or the fast one) with the first good, prompt answer', () => {
    const pace = new PollPace(1000);
    for (let i = 0; i < 5; i++) pace.fail();
    pace.ok(30);
    expect(pace.intervalMs()).toBe(1000);
    pace.commandStarted();
    expect(pace.intervalMs()).toBe(250);
  });

  it('keeps a slow upstream busy at most half of the time: at least twice its (smoothed) answer time', () => {
    const pace = new PollPace(1000);
    pace.ok(1000);
    expect(pace.intervalMs()).toBe(2000);
    // One quick answer halves the smoothed time, it does not forget it.
    pace.ok(200);
    expect(pace.intervalMs()).toBe(1200);
    pace.commandStarted();
    expect(pace.intervalMs()).toBe(1200);
    pace.ok(19_000);
    expect(pace.intervalMs()).toBe(10_000);
    // Prompt answers again: the smoothed time halves towards them with each one.
    const seen = [];
    for (let i = 0; i < 7; i++) {
      pace.ok(20);
      seen.push(pace.intervalMs());
    }
    expect(seen).toEqual([9820, 4930, 2485, 1263, 651, 346, 250]);
  });

  it("reads at the interval while a big cluster's answers take less than half of it", () => {
    const pace = new PollPace(1000);
    for (const ms of [300, 450, 280, 490]) pace.ok(ms);
    expect(pace.intervalMs()).toBe(1000);
  });
});
