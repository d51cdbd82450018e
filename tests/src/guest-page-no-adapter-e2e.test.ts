import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, VIEWER, type Stack } from './stack.js';

/**
 * The guest page when no proxmox-adapter runs for the cluster (nats-server, the api and the PVE
 * simulator; no adapter): every read answers at once with a 503 that names what to start.
 */
describe('a guest page with no adapter running', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ adapter: false });
  });
  afterAll(() => stack?.stop());

  it.each(['vms/101/rrd', 'vms/101/config', 'vms/101/addresses', 'vms/101/tasks', 'vms/101/snapshots', 'vms/101/ha', 'nodes/pve1/rrd'])(
    'GET /api/%s → 503 naming the proxmox-adapter to start',
    async (path) => {
      const started = Date.now();
      const r = await stack.json(`/api/${path}`, { token: VIEWER });
      expect(r.status).toBe(503);
      expect(r.body.error).toMatchObject({
        code: 'upstream_unavailable',
        details: { reason: 'no_adapter', remedy: expect.stringContaining('Start the proxmox-adapter for homelab (MOLTEN_CLUSTER=homelab)') },
      });
      // NATS says at once that nobody listens: no waiting for the read's 15 s deadline.
      expect(Date.now() - started).toBeLessThan(5_000);
    },
  );
});
