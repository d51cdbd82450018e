import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger, waitFor } from '@molten/testkit';
import type { Bus } from './connect.js';
import { Lease } from './lease.js';
import { busFixture } from './test/fixtures.js';

const TTL = 1_500;

describe('lease', () => {
  let fx: Awaited<ReturnType<typeof busFixture>>;
  let a: Bus;
  let b: Bus;
  beforeAll(async () => {
    fx = await busFixture({ leaseTtlMs: TTL });
    a = await fx.connect('a');
    b = await fx.connect('b');
  });
  afterAll(() => fx.dispose());

  const lease = (bus: Bus, holder: string, scope: string) =>
    new Lease(bus.kv.leases, { domain: 'proxmox', scope, what: 'poll', holder, ttlMs: TTL, log: testLogger() });

  it('is held by one replica at a time and handed over at once on a clean stop', async () => {
    const l1 = lease(a, 'one', 's1');
    const l2 = lease(b, 'two', 's1');
    l1.start();
    await waitFor(() => l1.leader);
    l2.start();
    await new Promise((r) => setTimeout(r, TTL)); // a full TTL: renewals keep it with the holder
    expect(l1.leader).toBe(true);
    expect(l2.leader).toBe(false);
    await l1.stop();
    await waitFor(() => l2.leader, { timeoutMs: 2_000, message: 'the other replica takes over' });
    await l2.stop();
  });

  it('moves to another replica when the holder dies without releasing it', async () => {
    const c = await fx.connect('c');
    const l1 = lease(c, 'dies', 's2');
    l1.start();
    await waitFor(() => l1.leader);
    const l2 = lease(b, 'survivor', 's2');
    l2.start();
    await c.nc.close(); // no release, no renewals: the entry must expire
    const lostAt = Date.now();
    await waitFor(() => l2.leader, { timeoutMs: TTL * 3, message: 'takeover after expiry' });
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(TTL * 0.5);
    await l2.stop();
  });
});
