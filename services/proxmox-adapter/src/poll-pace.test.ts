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

  it('does not back off from reads that never reached Proxmox (refused), and backs off again once it answers errors', () => {
    const pace = new PollPace(1000);
    for (let i = 0; i < 6; i++) pace.fail('unreachable');
    expect(pace.intervalMs()).toBe(1000);
    pace.fail('error');
    pace.fail('error');
    expect(pace.intervalMs()).toBe(2000);
    pace.ok(20);
    expect(pace.intervalMs()).toBe(1000);
  });

  it('is back to the interval (or the fast one) with the first good, prompt answer', () => {
    const pace = new PollPace(1000);
    for (let i = 0; i < 5; i++) pace.fail();
    pace.ok(20);
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
    // Prompt answers again: the smoothed time halves towards them with each one; the reads
    // speed up for the command in flight only once the answers cost a tenth of the fast pace.
    const seen = [];
    for (let i = 0; i < 11; i++) {
      pace.ok(20);
      seen.push(pace.intervalMs());
    }
    expect(seen).toEqual([9820, 4930, 2485, 1263, 1000, 1000, 964, 582, 391, 296, 250]);
  });

  it('while a command is in flight, reads no sooner than ten times the (smoothed) answer time: the faster reads keep the upstream busy at most a tenth of the time', () => {
    const pace = new PollPace(1000);
    pace.commandStarted();
    pace.ok(40);
    expect(pace.intervalMs()).toBe(400);
    pace.ok(60); // smoothed 50
    expect(pace.intervalMs()).toBe(500);
    // An answer that costs a tenth of the interval or more: no faster reads at all.
    pace.ok(140); // smoothed 95
    expect(pace.intervalMs()).toBe(950);
    pace.ok(300);
    expect(pace.intervalMs()).toBe(1000);
    // Cheap answers again: the fast pace, never below a quarter of the interval.
    for (let i = 0; i < 8; i++) pace.ok(5);
    expect(pace.intervalMs()).toBe(250);
  });

  it('the answer time that slows the reads while a command runs leaves the idle pace alone', () => {
    const pace = new PollPace(1000);
    pace.ok(90);
    expect(pace.intervalMs()).toBe(1000);
    const ended = pace.commandStarted();
    expect(pace.intervalMs()).toBe(900);
    ended();
    expect(pace.intervalMs()).toBe(1000);
  });

  it("reads at the interval while a big cluster's answers take less than half of it", () => {
    const pace = new PollPace(1000);
    for (const ms of [300, 450, 280, 490]) pace.ok(ms);
    expect(pace.intervalMs()).toBe(1000);
  });
});
