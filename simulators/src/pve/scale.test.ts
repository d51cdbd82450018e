import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PveSimulator } from './index.js';
import { pveClient, startTestSimulator, type Client } from '../../test/pve-client.js';

describe('50 nodes × 100 guests', () => {
  let sim: PveSimulator;
  let c: Client;

  beforeAll(async () => {
    sim = await startTestSimulator({ nodes: 50, guestsPerNode: 100, seed: 7, loadIntervalMs: 1000 });
    c = pveClient(sim);
  });
  afterAll(async () => {
    await c?.close();
    await sim?.close();
  });

  it('/cluster/resources lists all 5,000 guests, 50 nodes and 150 storage rows', async () => {
    const { data } = (await c.get('/cluster/resources')).body as { data: { type: string; id: string }[] };
    const count = (t: string) => data.filter((r) => r.type === t).length;
    expect(count('qemu') + count('lxc')).toBe(5000);
    expect(count('node')).toBe(50);
    expect(count('storage')).toBe(150);
    expect(new Set(data.map((r) => r.id)).size).toBe(data.length);
  });

  it('keeps answering consistently while the load changes underneath', async () => {
    for (let i = 0; i < 3; i++) {
      const vms = (await c.get('/cluster/resources', { type: 'vm' })).body.data as { status: string }[];
      expect(vms).toHaveLength(5000);
      expect(vms.every((v) => ['running', 'stopped', 'paused'].includes(v.status))).toBe(true);
    }
    const node = (await c.get('/nodes/pve50/qemu')).body.data as unknown[];
    const cts = (await c.get('/nodes/pve50/lxc')).body.data as unknown[];
    expect(node.length + cts.length).toBe(100);
  });
});
